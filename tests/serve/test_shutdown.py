"""SIGTERM with a question in flight, in process so the answer can be made slow."""

import asyncio
import io
import os
import signal
from pathlib import Path

from ledger_bot.documents import Answer
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.server import BotProcess
from ledger_bot.service import LedgerBotService
from ledger_bot.settings import load_settings
from ledger_bot.state import SqliteStateStore
from tests.conftest import SlowAnswerer


class BlockingInput(io.StringIO):
    """Standard input that hands out one question, then blocks like an idle terminal."""

    def __init__(self) -> None:
        super().__init__()
        self._lines = ["why exceeds_credits?\n"]

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        if self._lines:
            return self._lines.pop()
        import time

        time.sleep(2)
        return ""

    def isatty(self) -> bool:
        return False


async def test_sigterm_lets_the_question_in_flight_finish(sample_db: Path, tmp_path: Path) -> None:
    settings = load_settings(db=sample_db, port=0, host="127.0.0.1", shutdown_grace=5)
    kb = SqliteKnowledgeBase.open(sample_db)
    state = SqliteStateStore(tmp_path / "state.db")
    await state.open()
    answerer = SlowAnswerer(0.5, Answer(text="finished after SIGTERM", answered=True))
    service = LedgerBotService(settings, kb, answerer, state=state)
    out = io.StringIO()
    process = BotProcess(settings, console=True, stdin=BlockingInput(), stdout=out, service=service)
    run = asyncio.create_task(process.run())
    await asyncio.wait_for(answerer.started.wait(), 10)
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(run, 10) == 0
    assert '"answer": "finished after SIGTERM"' in out.getvalue()
