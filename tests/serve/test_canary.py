"""The canary question: asked of the knowledge base now and then, reported in /ready and the
metrics when it stops being answered."""

import asyncio
import logging
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from ledger_bot.canary import Canary
from ledger_bot.errors import ConfigError
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.metrics import Metrics
from ledger_bot.server import BotProcess
from ledger_bot.service import LedgerBotService, build_answerer
from ledger_bot.settings import load_settings
from ledger_bot.state import SqliteStateStore

REVERSAL = "How do I reverse a posted journal entry?"


async def ask_once(db: Path, **settings: object) -> tuple[Canary, Metrics]:
    metrics = Metrics()
    kb = SqliteKnowledgeBase.open(db)
    canary = Canary(load_settings(db=db, **settings), kb, metrics)
    await canary.ask()
    kb.close()
    return canary, metrics


def gauge(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(f"ledger_bot_{name}")


async def test_an_answered_canary_is_ok_and_names_its_sources(sample_db: Path) -> None:
    canary, metrics = await ask_once(
        sample_db, canary_question=REVERSAL, canary_source="api/reversals.md"
    )
    assert canary.last is not None
    assert (canary.last.ok, canary.last.detail.split(", ")[0]) == (
        True,
        "answered from api/reversals.md",
    )
    assert gauge(metrics, "canary_ok") == 1


async def test_an_answer_without_the_expected_source_fails(sample_db: Path) -> None:
    canary, metrics = await ask_once(
        sample_db, canary_question=REVERSAL, canary_source="runbooks/on-call.md"
    )
    assert canary.last is not None and not canary.last.ok
    assert canary.last.detail.endswith(", not runbooks/on-call.md")
    assert gauge(metrics, "canary_ok") == 0


async def test_a_question_no_longer_answered_fails_with_the_closest_documents(
    sample_db: Path,
) -> None:
    canary, _ = await ask_once(sample_db, canary_question="what is the vacation policy?")
    assert canary.last is not None
    assert canary.last.detail.startswith("'what is the vacation policy?' is no longer answered")


async def test_a_broken_index_fails_the_canary_instead_of_raising(
    sample_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "broken.db"
    db.write_bytes(sample_db.read_bytes())
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("DROP TABLE chunks_fts")
        conn.commit()
    canary, metrics = await ask_once(db, canary_question=REVERSAL)
    assert canary.last is not None
    assert canary.last.detail.startswith("asking it failed: ")
    assert gauge(metrics, "canary_ok") == 0


async def test_a_failure_is_logged_once_until_it_changes(
    sample_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kb = SqliteKnowledgeBase.open(sample_db)
    settings = load_settings(db=sample_db, canary_question="what is the vacation policy?")
    canary = Canary(settings, kb, Metrics())
    with caplog.at_level(logging.WARNING, logger="ledger_bot.canary"):
        for _ in range(3):
            await canary.ask()
    kb.close()
    assert len(caplog.records) == 1


async def test_the_readiness_check_is_degraded_never_failing(sample_db: Path) -> None:
    kb = SqliteKnowledgeBase.open(sample_db)
    canary = Canary(
        load_settings(db=sample_db, canary_question="what is the vacation policy?"), kb, Metrics()
    )
    before = await canary.check()
    await canary.ask()
    after = await canary.check()
    kb.close()
    assert (before.ok, before.detail, before.required) == (True, "not asked yet", False)
    assert (after.ok, after.required) == (False, False)


def test_a_canary_source_needs_a_question() -> None:
    with pytest.raises(ConfigError, match="LEDGER_BOT_CANARY_QUESTION: set the question"):
        load_settings(canary_source="runbooks/on-call.md")


async def test_serve_reports_the_canary_in_ready_and_metrics(
    sample_db: Path, tmp_path: Path
) -> None:
    settings = load_settings(
        db=sample_db,
        host="127.0.0.1",
        port=0,
        canary_question=REVERSAL,
        canary_source="api/reversals.md",
    )
    state = SqliteStateStore(tmp_path / "state.db")
    await state.open()
    kb = SqliteKnowledgeBase.open(sample_db)
    service = LedgerBotService(settings, kb, build_answerer(settings, kb), state=state)
    process = BotProcess(settings, console=False, service=service)
    task = asyncio.create_task(process.run())
    try:
        await asyncio.wait_for(process.started.wait(), 10)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{process.port}") as http:
            for _ in range(100):
                checks = (await http.get("/ready")).json()["checks"]
                if checks["canary"]["detail"] != "not asked yet":
                    break
                await asyncio.sleep(0.05)
            metrics = (await http.get("/metrics")).text
    finally:
        process.stop.set()
        await asyncio.wait_for(task, 10)
    assert checks["canary"]["state"] == "ok"
    assert checks["canary"]["detail"].startswith("answered from api/reversals.md")
    assert "ledger_bot_canary_ok 1.0" in metrics
