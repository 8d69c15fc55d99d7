"""A language-model answerer on the sample knowledge base, against a fake provider server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ledger_bot.answering.llm import LLMAnswerer
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.metrics import Metrics
from ledger_bot.service import LedgerBotService, build_answerer
from ledger_bot.settings import Settings, load_settings
from ledger_bot.state import StateStore
from tests.fake_llm import FakeAnthropic, FakeLLMServer, FakeOpenAI

MODELS = {"openai": "gpt-test-mini", "anthropic": "claude-test-haiku"}


@pytest.fixture(autouse=True)
def sdk_defaults_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs' own key and URL variables must not stand in for the settings under test."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["openai", "anthropic"])
async def provider_server(request: pytest.FixtureRequest) -> AsyncIterator[FakeLLMServer]:
    server: FakeLLMServer = FakeOpenAI() if request.param == "openai" else FakeAnthropic()
    async with server:
        server.provider = request.param  # type: ignore[attr-defined]
        yield server


def llm_settings(server: FakeLLMServer, sample_db: Path, **overrides: Any) -> Settings:
    provider = server.provider  # type: ignore[attr-defined]
    values: dict[str, Any] = {
        "db": sample_db,
        "llm_provider": provider,
        "llm_model": MODELS[provider],
        "llm_base_url": server.base_url,
        "llm_api_key": "sk-test-key",
        "llm_max_retries": 0,
        "llm_first_token_timeout": 2.0,
        "llm_timeout": 4.0,
        "llm_prices": f"{MODELS[provider]}=1:4",
    }
    values.update(overrides)
    return load_settings(**values)


MakeAnswerer = Callable[..., Awaitable[LLMAnswerer]]


@pytest.fixture
async def make_answerer(
    provider_server: FakeLLMServer, sample_db: Path
) -> AsyncIterator[MakeAnswerer]:
    made: list[LLMAnswerer] = []
    kb = SqliteKnowledgeBase.open(sample_db)

    async def make(state: StateStore | None = None, **overrides: Any) -> LLMAnswerer:
        settings = llm_settings(provider_server, sample_db, **overrides)
        answerer = build_answerer(settings, kb, Metrics(), state)
        assert isinstance(answerer, LLMAnswerer)
        made.append(answerer)
        return answerer

    yield make
    for answerer in made:
        await answerer.close()
    kb.close()


def counted(answerer: LLMAnswerer, name: str, **labels: str) -> float:
    metrics: Metrics = answerer._metrics
    value = metrics.registry.get_sample_value(f"ledger_bot_{name}", labels)
    return value or 0.0


async def service_with(settings: Settings) -> LedgerBotService:
    kb = SqliteKnowledgeBase.open(settings.db)
    metrics = Metrics()
    return LedgerBotService(settings, kb, build_answerer(settings, kb, metrics), metrics=metrics)
