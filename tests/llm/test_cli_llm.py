"""``ledger-bot ask --json`` with a language model configured the way an operator does it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger_bot.answering.providers import build_provider
from ledger_bot.errors import ConfigError, MissingExtra
from ledger_bot.settings import load_settings
from tests.conftest import child_environment
from tests.fake_llm import FakeOpenAI, Fault, Reply

REVERSAL = "How do I reverse a posted journal entry?"


def operator_env(sample_db: Path, server: FakeOpenAI) -> dict[str, str]:
    return child_environment(
        LEDGER_BOT_DB=str(sample_db),
        LEDGER_BOT_LLM_PROVIDER="openai",
        LEDGER_BOT_LLM_MODEL="gpt-test-mini",
        LEDGER_BOT_LLM_BASE_URL=server.base_url,
        LEDGER_BOT_LLM_PRICES="gpt-test-mini=2:8",
        OPENAI_API_KEY="sk-from-the-sdk-variable",
    )


async def ask_json(env: dict[str, str]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ledger_bot",
        "ask",
        "--json",
        REVERSAL,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    result: dict[str, Any] = json.loads(stdout)
    return result


async def test_ask_json_reports_a_model_answer_as_llm(sample_db: Path) -> None:
    async with FakeOpenAI() as server:
        server.enqueue(Reply("Post a reversing entry [1].", input_tokens=500, output_tokens=50))
        result = await ask_json(operator_env(sample_db, server))
        sent = server.requests[0]
    assert (result["mode"], result["answer"]) == ("llm", "Post a reversing entry [1].")
    assert result["usage"]["cost_usd"] == 0.0014
    assert sent.headers["authorization"] == "Bearer sk-from-the-sdk-variable"


async def test_ask_json_reports_the_fallback_and_its_reason(sample_db: Path) -> None:
    async with FakeOpenAI() as server:
        server.responder = lambda request: Fault(500)
        result = await ask_json(operator_env(sample_db, server))
    assert (result["mode"], result["fallback_reason"]) == ("extractive", "server_error")
    assert result["answered"] is True


def test_a_provider_without_a_model_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="LEDGER_BOT_LLM_MODEL"):
        load_settings(llm_provider="anthropic")


def test_openai_without_a_key_or_a_local_base_url_names_the_setting() -> None:
    settings = load_settings(llm_provider="openai", llm_model="gpt-test-mini")
    with pytest.raises(ConfigError, match="LEDGER_BOT_LLM_API_KEY"):
        build_provider(settings)


def test_a_bad_price_table_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="LEDGER_BOT_LLM_PRICES"):
        load_settings(llm_prices="gpt-4o=cheap")


def test_missing_sdk_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # as if it were not installed
    for name in list(sys.modules):
        if name.startswith("anthropic."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "ledger_bot.answering.anthropic_messages", raising=False)
    settings = load_settings(
        llm_provider="anthropic", llm_model="claude-test-haiku", llm_api_key="sk-ant-test"
    )
    with pytest.raises(MissingExtra, match=r"ledger-bot\[anthropic\]"):
        build_provider(settings)
