"""A running bot wired to the Slack emulator: the real slack_bolt app, in this event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.metrics import Metrics
from ledger_bot.server import BotProcess
from ledger_bot.service import LedgerBotService, build_answerer
from ledger_bot.settings import load_settings
from ledger_bot.state import SqliteStateStore, StateStore, build_state_store
from tests.slack_emulator import SlackEmulator

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GENERAL = "C0GENERAL"
ALICE = "U0ALICE"


@dataclass
class RunningBot:
    process: BotProcess
    service: LedgerBotService
    task: asyncio.Task[int]

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.process.port}/slack/events"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.process.port}"

    def counted(self, name: str, **labels: str) -> float:
        value = self.service.metrics.registry.get_sample_value(f"ledger_bot_{name}", labels)
        return value or 0.0

    async def stop(self) -> int:
        self.process.stop.set()
        return await asyncio.wait_for(self.task, 15)


StartBot = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(BOT_TOKEN, APP_TOKEN, redelivery_after=1.0) as emulator:
        yield emulator


@pytest.fixture
async def start_bot(
    slack: SlackEmulator, sample_db: Path, tmp_path: Path
) -> AsyncIterator[StartBot]:
    """Start bots (replicas) on the sample knowledge base; they are stopped after the test."""
    running: list[RunningBot] = []

    async def start(
        *,
        mode: str = "socket",
        state: StateStore | None = None,
        wait: bool = True,
        **overrides: Any,
    ) -> RunningBot:
        settings = load_settings(
            db=sample_db,
            host="127.0.0.1",
            port=0,
            slack_mode=mode,
            slack_bot_token=BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            shutdown_grace=5,
            # "Thinking…" at once, as for any answer slower than the default half second, so
            # the tests see the placeholder and its update (answer-first: test_answer_first.py).
            **{"slack_placeholder_after": 0, **overrides},
        )
        store = state or SqliteStateStore(tmp_path / "state.db")
        await store.open()
        kb = SqliteKnowledgeBase.open(sample_db)
        metrics = Metrics()
        answerer = build_answerer(settings, kb, metrics, store)
        service = LedgerBotService(settings, kb, answerer, state=store, metrics=metrics)
        process = BotProcess(settings, console=False, service=service)
        task = asyncio.create_task(process.run())
        await asyncio.wait_for(process.started.wait(), 10)
        bot = RunningBot(process, service, task)
        running.append(bot)
        if wait:
            await wait_until_ready(bot)
        return bot

    yield start
    for bot in running:
        if not bot.task.done():
            bot.process.stop.set()
    await asyncio.gather(*(b.task for b in running), return_exceptions=True)


async def wait_until_ready(bot: RunningBot, timeout: float = 10) -> None:
    """Until the bot's Slack adapter says it is connected."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        slack_adapter = bot.process.adapters.get("slack")
        if slack_adapter is not None and (await slack_adapter.check()).ok:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the Slack adapter did not connect")


def shared_state(url: str, tmp_path: Path) -> StateStore:
    return build_state_store(url, tmp_path / "unused.db")
