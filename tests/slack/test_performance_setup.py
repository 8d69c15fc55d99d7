"""How the bot talks to Slack cheaply: one kept-alive connection pool for the Web API, and no
debug messages built by slack_bolt and slack_sdk unless the log level is DEBUG."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.server import BotProcess
from ledger_bot.service import LedgerBotService, build_answerer
from ledger_bot.settings import load_settings
from ledger_bot.slack.adapter import LIBRARY_LOGGERS
from ledger_bot.state import SqliteStateStore
from tests.slack.conftest import (
    APP_TOKEN,
    BOT_TOKEN,
    GENERAL,
    RunningBot,
    StartBot,
    wait_until_ready,
)
from tests.slack.test_surfaces import REVERSAL, deliver_all
from tests.slack_emulator import SlackEmulator


class CountingRelay:
    """A TCP relay in front of the emulator's Web API that counts the connections made to it."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._path = parts.path
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.opened = 0

    @property
    def api_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{self._path}"

    async def __aenter__(self) -> CountingRelay:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        pipes = [
            asyncio.create_task(self._pipe(reader, upstream_writer)),
            asyncio.create_task(self._pipe(upstream_reader, writer)),
        ]
        self._pipes.update(pipes)
        await asyncio.gather(*pipes, return_exceptions=True)
        self._pipes.difference_update(pipes)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@pytest.fixture
async def relay(slack: SlackEmulator) -> AsyncIterator[CountingRelay]:
    async with CountingRelay(slack.api_url) as counting:
        yield counting


@pytest.fixture
async def bot_behind_relay(
    relay: CountingRelay, sample_db: Path, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The bot as ``start_bot`` starts it, but calling the Web API through ``relay``."""
    settings = load_settings(
        db=sample_db,
        host="127.0.0.1",
        port=0,
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=relay.api_url,
        shutdown_grace=5,
        slack_placeholder_after=0,
    )
    store = SqliteStateStore(tmp_path / "state.db")
    await store.open()
    kb = SqliteKnowledgeBase.open(sample_db)
    service = LedgerBotService(settings, kb, build_answerer(settings, kb), state=store)
    process = BotProcess(settings, console=False, service=service)
    bot = RunningBot(process, service, asyncio.create_task(process.run()))
    try:
        await asyncio.wait_for(process.started.wait(), 10)
        await wait_until_ready(bot)
        yield bot
    finally:
        if not bot.task.done():
            process.stop.set()
        await asyncio.gather(bot.task, return_exceptions=True)


@pytest.fixture(autouse=True)
def library_log_levels() -> Iterator[None]:
    """The adapter sets levels on process-wide loggers: put them back after each test."""
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


async def test_web_api_calls_of_three_answers_share_one_connection(
    slack: SlackEmulator, bot_behind_relay: RunningBot, relay: CountingRelay
) -> None:
    for number in range(1, 4):
        bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
        await deliver_all(slack, bodies)
        await slack.wait_for_call("chat.update", count=number, timeout=10)
    await bot_behind_relay.stop()
    assert len(slack.calls) >= 8  # auth.test, apps.connections.open, 3 × (post, update)
    assert relay.opened == 1


async def test_slack_library_loggers_take_the_bot_log_level(start_bot: StartBot) -> None:
    await start_bot()
    assert logging.getLogger("slack_sdk.web.async_base_client").level == logging.INFO


async def test_slack_library_loggers_keep_debug_when_the_bot_logs_debug(
    start_bot: StartBot,
) -> None:
    await start_bot(log_level="DEBUG")
    assert logging.getLogger("slack_sdk.web.async_base_client").level == logging.DEBUG
