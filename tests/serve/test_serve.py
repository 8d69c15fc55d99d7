"""``ledger-bot serve`` as a real process: stdin mode, HTTP probes, SIGTERM."""

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SAMPLE_KB, child_environment

CLI = [sys.executable, "-m", "ledger_bot"]


def serve_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return child_environment(
        LEDGER_BOT_DB=str(tmp_path / "kb" / "knowledge.db"),
        LEDGER_BOT_SOURCES=str(SAMPLE_KB),
        LEDGER_BOT_PORT="0",
        LEDGER_BOT_HOST="127.0.0.1",
        LEDGER_BOT_LOG_FORMAT="json",
        **extra,
    )


def test_piped_questions_get_one_json_answer_each(tmp_path: Path) -> None:
    questions = "How do I reverse a posted journal entry?\n\nwhat is the vacation policy?\n"
    done = subprocess.run(
        [*CLI, "serve"],
        input=questions,
        capture_output=True,
        text=True,
        env=serve_env(tmp_path),
        timeout=60,
        check=False,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert [a["outcome"] for a in answers] == ["answered", "rejected", "not_found"]
    assert answers[0]["citations"][0]["source"] == "api/reversals.md"


def test_every_log_line_is_json_with_a_request_id_for_questions(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "serve"],
        input="what does exceeds_credits mean?\n",
        capture_output=True,
        text=True,
        env=serve_env(tmp_path),
        timeout=60,
        check=False,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    question_lines = [line for line in lines if line.get("outcome")]
    assert len(question_lines) == 1 and re.fullmatch(
        r"[0-9a-f]{12}", question_lines[0]["request_id"]
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [*CLI, "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=serve_env(tmp_path),
    )
    assert process.stderr is not None
    base = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not base:
        line = process.stderr.readline()
        if not line:
            break
        record = json.loads(line)
        if record.get("message") == "listening":
            base = f"http://127.0.0.1:{record['port']}"
    assert base, "serve did not report its port"
    yield process, base
    if process.poll() is None:
        process.kill()
    process.wait(10)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None and not stream.closed:
            stream.close()


def wait_ready(base: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        response = httpx.get(f"{base}/ready")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_probes_over_real_http(server: tuple[subprocess.Popen[str], str]) -> None:
    _, base = server
    ready = wait_ready(base)
    assert httpx.get(f"{base}/health").status_code == 200
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {
        "knowledge_base",
        "state_store",
        "accepting_questions",
        "adapter_console",
    }
    assert "ledger_bot_knowledge_base_documents 24.0" in httpx.get(f"{base}/metrics").text


def test_sigterm_exits_zero_after_answering(server: tuple[subprocess.Popen[str], str]) -> None:
    process, base = server
    wait_ready(base)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("idempotency key retention\n")
    process.stdin.flush()
    first = json.loads(process.stdout.readline())
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert (first["outcome"], process.returncode) == ("answered", 0)
