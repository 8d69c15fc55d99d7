"""``ledger-bot serve`` as a real process, configured the way an operator does, against the
emulator: Slack's own variable names, Socket Mode, an answer, then SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.conftest import SAMPLE_KB, child_environment
from tests.slack.conftest import APP_TOKEN, BOT_TOKEN, GENERAL
from tests.slack.test_surfaces import REVERSAL, deliver_all
from tests.slack_emulator import SlackEmulator


def operator_env(tmp_path: Path, slack: SlackEmulator) -> dict[str, str]:
    return child_environment(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        LEDGER_BOT_SLACK_API_URL=slack.api_url,
        LEDGER_BOT_DB=str(tmp_path / "kb" / "knowledge.db"),
        LEDGER_BOT_SOURCES=str(SAMPLE_KB),
        LEDGER_BOT_PORT="0",
        LEDGER_BOT_HOST="127.0.0.1",
        LEDGER_BOT_LOG_FORMAT="json",
    )


async def test_serve_answers_a_mention_over_socket_mode_and_stops_on_sigterm(
    slack: SlackEmulator, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ledger_bot",
        "serve",
        env=operator_env(tmp_path, slack),
        stdin=asyncio.subprocess.PIPE,  # left open: with Slack on, the console is off
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await slack.wait_for_connections(1, timeout=30)
        bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
        await deliver_all(slack, bodies)
        # With the default LEDGER_BOT_SLACK_PLACEHOLDER_AFTER an answer this quick is posted
        # directly: one message in the thread, no "Thinking…" to update.
        posted = await slack.wait_for_call(
            "chat.postMessage",
            lambda call: "feedback" in str(call.params.get("blocks")),
            timeout=30,
        )
        assert posted.params["thread_ts"] == bodies[0]["event"]["ts"]
        assert "Reversing a posted journal entry" in str(posted.params["blocks"])
        assert len(slack.calls_to("chat.postMessage")) == 1
        assert slack.calls_to("chat.update") == []
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert b'"slack connected"' in stderr
    await slack.wait_for_connections(0, timeout=5)
