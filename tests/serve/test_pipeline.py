"""The question pipeline every surface shares: validation, redaction, limits, log, metrics."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger_bot.answering.extractive import ExtractiveAnswerer
from ledger_bot.documents import Answer, SearchHit
from ledger_bot.errors import ConfigError
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.server import purge_state
from ledger_bot.service import LedgerBotService, QuestionRequest, build_answerer
from ledger_bot.settings import load_settings
from ledger_bot.state import SqliteStateStore
from tests.conftest import SlowAnswerer


def ask(text: str, user: str = "U1", channel: str = "C1") -> QuestionRequest:
    return QuestionRequest(text=text, user=user, channel=channel, surface="console")


async def make_service(
    sample_db: Path, tmp_path: Path, answerer: object = None, **overrides: object
) -> LedgerBotService:
    settings = load_settings(db=sample_db, **overrides)
    kb = SqliteKnowledgeBase.open(sample_db)
    state = SqliteStateStore(tmp_path / "state.db")
    await state.open()
    return LedgerBotService(
        settings,
        kb,
        answerer or build_answerer(settings, kb),
        state=state,  # type: ignore[arg-type]
    )


@pytest.fixture
async def service(sample_db: Path, tmp_path: Path) -> AsyncIterator[LedgerBotService]:
    service = await make_service(sample_db, tmp_path)
    yield service
    await service.close()


async def logged(service: LedgerBotService) -> list[tuple[str, str]]:
    assert service.state is not None
    since = datetime.now(UTC) - timedelta(hours=1)
    return [(q.question, q.outcome) for q in await service.state.questions_since(since)]


def counted(service: LedgerBotService, outcome: str) -> float:
    value = service.metrics.registry.get_sample_value(
        "ledger_bot_questions_total", {"surface": "console", "outcome": outcome}
    )
    return value or 0.0


async def test_answered_question_is_logged_with_its_sources(service: LedgerBotService) -> None:
    outcome = await service.handle(ask("How do I reverse a posted journal entry?"))
    assert outcome.outcome == "answered"
    assert service.state is not None
    [record] = await service.state.questions_since(datetime.now(UTC) - timedelta(hours=1))
    assert (record.outcome, record.mode, record.request_id) == (
        "answered",
        "extractive",
        outcome.request_id,
    )
    assert "api/reversals.md" in record.sources


async def test_extractive_answer_searched_and_quoted_in_one_trip_is_the_answerers_own(
    service: LedgerBotService,
) -> None:
    result = await service.ask("How do I reverse a posted journal entry?")
    assert isinstance(service.answerer, ExtractiveAnswerer)
    own = service.answerer.compose(result.question, result.passages, language="en")
    assert (result.answer, len(result.passages)) == (own, 20)
    assert result.retrieval_seconds > 0 and result.answer_seconds > 0


async def test_unanswerable_question_is_logged_as_not_found(service: LedgerBotService) -> None:
    outcome = await service.handle(ask("what is the office vacation policy?"))
    assert outcome.outcome == "not_found"
    assert await logged(service) == [("what is the office vacation policy?", "not_found")]


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t  ", "<@U0123ABC>", "<@U0123ABC> <!here>", "\x00\x01\x02", "???"],
)
async def test_question_without_words_is_rejected_with_a_reason(
    service: LedgerBotService, text: str
) -> None:
    outcome = await service.handle(ask(text))
    assert (outcome.outcome, outcome.message.startswith("Please ask a question")) == (
        "rejected",
        True,
    )
    assert counted(service, "rejected") == 1


async def test_rejected_question_is_logged_for_the_stats(service: LedgerBotService) -> None:
    await service.handle(ask("<@U0123ABC>\x00 ???"))
    assert await logged(service) == [("<@U0123ABC> ???", "rejected")]


async def test_control_characters_and_bad_unicode_are_cleaned(service: LedgerBotService) -> None:
    outcome = await service.handle(ask("how do I\x00 reverse\ud800 a posted\x1b entry?"))
    assert outcome.outcome == "answered"
    assert await logged(service) == [("how do I reverse? a posted entry?", "answered")]


async def test_pasted_log_is_truncated_with_a_note(service: LedgerBotService) -> None:
    outcome = await service.handle(ask("why exceeds_credits? " + "ERROR stack frame\n" * 2000))
    assert outcome.outcome == "answered"
    assert outcome.notes == ("Your message was long, so I read only its first 4,000 characters.",)


async def test_secrets_are_redacted_before_the_question_is_stored(
    service: LedgerBotService,
) -> None:
    token = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
    await service.handle(ask(f"is {token} the right token for the relay?"))
    [(question, _)] = await logged(service)
    assert token not in question and "[redacted" in question


async def test_asker_over_the_limit_is_told_when_to_come_back(
    sample_db: Path, tmp_path: Path
) -> None:
    service = await make_service(sample_db, tmp_path, user_burst=2, user_rate_per_minute=1.0)
    outcomes = [await service.handle(ask("idempotency key retention")) for _ in range(3)]
    await service.close()
    assert [o.outcome for o in outcomes] == ["answered", "answered", "rate_limited"]
    assert outcomes[2].message == (
        "You're asking faster than I can keep up with. Please try again in 60 seconds."
    )
    assert outcomes[2].retry_after == 60


async def test_rate_limited_question_is_logged_as_such(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, user_burst=1, user_rate_per_minute=1.0)
    await service.handle(ask("idempotency key retention"))
    await service.handle(ask("deploy freeze"))
    assert [o for _, o in await logged(service)] == ["answered", "rate_limited"]
    await service.close()


async def test_limit_of_one_asker_leaves_others_alone(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, user_burst=1, user_rate_per_minute=1.0)
    first = await service.handle(ask("idempotency key", user="U1"))
    second = await service.handle(ask("idempotency key", user="U2"))
    await service.close()
    assert (first.outcome, second.outcome) == ("answered", "answered")


async def test_channel_limit_applies_across_askers(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, channel_burst=2, channel_rate_per_minute=1.0)
    outcomes = [await service.handle(ask("idempotency", user=f"U{i}")) for i in range(3)]
    await service.close()
    assert outcomes[2].message.startswith("This channel is asking a lot right now.")


async def test_daily_budget_stops_questions_until_midnight(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, daily_question_budget=1)
    await service.handle(ask("idempotency", user="U1"))
    over = await service.handle(ask("idempotency", user="U2"))
    await service.close()
    assert over.outcome == "rate_limited"
    assert over.message.startswith("I've reached today's question budget.")


class _FailingAnswerer:
    mode = "extractive"

    async def answer(
        self,
        question: str,
        passages: Sequence[SearchHit],
        history: Sequence[object] = (),
        context: object = None,
    ) -> Answer:
        raise RuntimeError("disk on fire")


async def test_failing_answer_gets_an_apology_and_is_counted(
    sample_db: Path, tmp_path: Path
) -> None:
    service = await make_service(sample_db, tmp_path, answerer=_FailingAnswerer())
    outcome = await service.handle(ask("idempotency key"))
    assert (outcome.outcome, outcome.message.startswith("Sorry, something went wrong")) == (
        "error",
        True,
    )
    assert [o for _, o in await logged(service)] == ["error"]
    assert counted(service, "error") == 1
    await service.close()


async def test_question_in_flight_finishes_during_drain(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, answerer=SlowAnswerer(0.3))
    in_flight = asyncio.create_task(service.handle(ask("idempotency")))
    await asyncio.sleep(0.05)
    left = await service.drain(grace=5)
    assert (left, (await in_flight).outcome) == (0, "answered")
    await service.close()


async def test_questions_after_drain_are_turned_away(service: LedgerBotService) -> None:
    await service.drain(grace=0)
    outcome = await service.handle(ask("idempotency"))
    assert (outcome.outcome, outcome.message) == (
        "rejected",
        "I'm restarting right now. Please ask again in a minute.",
    )
    assert await logged(service) == [("idempotency", "rejected")]


async def test_answer_that_takes_too_long_is_an_error(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, answerer=SlowAnswerer(5), answer_timeout=0.1)
    outcome = await service.handle(ask("idempotency"))
    assert outcome.outcome == "error"
    await service.close()


async def test_state_store_outage_does_not_stop_answers(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path)
    assert service.state is not None
    await service.state.close()
    outcome = await service.handle(ask("idempotency key"))
    assert outcome.outcome == "answered"
    errors = service.metrics.registry.get_sample_value(
        "ledger_bot_state_store_errors_total", {"operation": "take_token"}
    )
    assert errors == 1
    await service.close()


async def test_feedback_is_stored_and_counted(service: LedgerBotService) -> None:
    outcome = await service.handle(ask("idempotency key"))
    assert outcome.question_id is not None
    await service.record_feedback(outcome.question_id, "U1", "down")
    assert service.state is not None
    [vote] = await service.state.feedback_since(datetime.now(UTC) - timedelta(hours=1))
    assert (vote.value, vote.user) == ("down", "U1")
    assert (
        service.metrics.registry.get_sample_value("ledger_bot_feedback_total", {"value": "down"})
        == 1
    )


# Retention of the question log (the clean-up task of `serve`)


async def test_questions_past_their_retention_are_deleted(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, question_retention_days=30)
    try:
        await service.handle(ask("How do I reverse a posted journal entry?"))
        await purge_state(service)
        assert len(await logged(service)) == 1  # asked just now: kept
        await purge_state(service, now=datetime.now(UTC) + timedelta(days=31))
        assert await logged(service) == []
    finally:
        await service.close()


async def test_a_retention_of_zero_keeps_every_question(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, question_retention_days=0)
    try:
        await service.handle(ask("How do I reverse a posted journal entry?"))
        await purge_state(service, now=datetime.now(UTC) + timedelta(days=3650))
        assert len(await logged(service)) == 1
    finally:
        await service.close()


async def test_a_failed_purge_is_counted_not_raised(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path)
    assert service.state is not None
    await service.state.close()  # the store is gone: both clean-ups fail
    try:
        await purge_state(service)
        for operation in ("purge_expired", "purge_questions"):
            value = service.metrics.registry.get_sample_value(
                "ledger_bot_state_store_errors_total", {"operation": operation}
            )
            assert value == 1
    finally:
        await service.close()


def test_a_negative_retention_names_the_variable(sample_db: Path) -> None:
    with pytest.raises(ConfigError, match="LEDGER_BOT_QUESTION_RETENTION_DAYS"):
        load_settings(db=sample_db, question_retention_days=-1)
