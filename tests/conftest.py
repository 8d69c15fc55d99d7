from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ledger_bot.documents import Answer, SearchHit
from ledger_bot.indexer import index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase

# Proxy variables the HTTP clients (slack_sdk, the LLM SDKs, httpx) follow; the local servers
# the tests talk to (Slack emulator, fake LLMs, the bot itself) are reached directly.
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)

REPO = Path(__file__).resolve().parent.parent
SAMPLE_KB = REPO / "sample-kb"
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# Every variable Ledger Bot reads settings from (its own, and Slack's and the SDKs' usual ones).
SETTING_PREFIXES = ("LEDGER_BOT_", "SLACK_", "OPENAI_", "ANTHROPIC_")


def child_environment(**settings: str) -> dict[str, str]:
    """The environment for a ``ledger-bot`` subprocess: this one's, without any setting a
    developer's shell may hold, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env.update(settings)
    return env


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge base built once from the bundled sample documents."""
    db = tmp_path_factory.mktemp("sample") / "knowledge.db"
    kb = SqliteKnowledgeBase.open(db, create=True)
    report = index_paths(kb, [SAMPLE_KB])
    assert not report.failed, report.failed
    kb.close()
    return db


@pytest.fixture
def sample_kb(sample_db: Path) -> Iterator[SqliteKnowledgeBase]:
    kb = SqliteKnowledgeBase.open(sample_db)
    yield kb
    kb.close()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """An empty folder to write documents into."""
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


class SlowAnswerer:
    """An answerer that takes ``seconds`` to give ``reply``; ``started`` is set once asked."""

    mode = "extractive"

    def __init__(self, seconds: float, reply: Answer | None = None) -> None:
        self.seconds = seconds
        self.reply = reply or Answer(text="slow but sure", answered=True)
        self.started = asyncio.Event()

    async def answer(
        self,
        question: str,
        passages: Sequence[SearchHit],
        history: Sequence[object] = (),
        context: object = None,
    ) -> Answer:
        self.started.set()
        await asyncio.sleep(self.seconds)
        return self.reply


def write(folder: Path, relpath: str, text: str) -> Path:
    path = folder / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
