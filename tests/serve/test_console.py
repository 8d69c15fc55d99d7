import io
import json
from collections.abc import Sequence
from pathlib import Path

from ledger_bot.console import PROMPT, ConsoleAdapter
from ledger_bot.documents import Answer, SearchHit
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.service import LedgerBotService, build_answerer
from ledger_bot.settings import load_settings


class RecordingAnswerer:
    """Answers every question and remembers the history it was given."""

    mode = "extractive"

    def __init__(self) -> None:
        self.histories: list[tuple[str, ...]] = []

    async def answer(
        self,
        question: str,
        passages: Sequence[SearchHit],
        history: Sequence[object] = (),
        context: object = None,
    ) -> Answer:
        self.histories.append(tuple(history))
        return Answer(text=f"about {question}", answered=True)


def service(sample_db: Path, answerer: object | None = None) -> LedgerBotService:
    settings = load_settings(db=sample_db)
    kb = SqliteKnowledgeBase.open(sample_db)
    return LedgerBotService(settings, kb, answerer or build_answerer(settings, kb))  # type: ignore[arg-type]


async def test_chat_remembers_the_conversation_until_new(sample_db: Path) -> None:
    answerer = RecordingAnswerer()
    stdin = io.StringIO(
        "how do I reverse an entry?\nand undo it?\n/new\nidempotency?\n/quit\nnever\n"
    )
    stdout = io.StringIO()
    await ConsoleAdapter(service(sample_db, answerer), stdin, stdout, interactive=True).run()
    assert answerer.histories == [(), ("how do I reverse an entry?",), ()]
    assert stdout.getvalue().count(PROMPT) == 5


async def test_chat_prints_the_answer_with_its_sources(sample_db: Path) -> None:
    stdin = io.StringIO("what does exceeds_credits mean?\n")
    stdout = io.StringIO()
    await ConsoleAdapter(service(sample_db), stdin, stdout, interactive=True).run()
    assert "Sources:\n[1] " in stdout.getvalue()


async def test_piped_mode_prints_one_json_object_per_line(sample_db: Path) -> None:
    stdin = io.StringIO("idempotency key\n\n<@U123>\n")
    stdout = io.StringIO()
    adapter = ConsoleAdapter(service(sample_db), stdin, stdout, interactive=False)
    await adapter.run()
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [line["outcome"] for line in lines] == ["answered", "rejected", "rejected"]
    assert adapter.connected is False
