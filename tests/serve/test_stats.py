import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger_bot.cli import main
from ledger_bot.state import FeedbackRecord, QuestionRecord, SqliteStateStore
from ledger_bot.stats import compute_stats, parse_since, unknown_words

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def question(
    user: str, outcome: str, days_ago: int = 0, latency: float = 100.0, text: str = "q"
) -> QuestionRecord:
    return QuestionRecord(
        id=None,
        asked_at=NOW - timedelta(days=days_ago),
        question=text,
        user=user,
        channel="C1",
        surface="slack",
        outcome=outcome,
        latency_ms=latency,
        sources=(),
        mode="extractive",
        request_id="r",
    )


def test_since_accepts_durations_and_dates() -> None:
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("12h", NOW) == NOW - timedelta(hours=12)
    assert parse_since("2026-11-01", NOW) == datetime(2026, 11, 1, tzinfo=UTC)


def test_since_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_since("soon", NOW)


@pytest.mark.parametrize("window", ["99999999999d", "1000000000h"])
def test_since_rejects_a_window_reaching_before_the_year_one(window: str) -> None:
    with pytest.raises(ValueError, match="reaches back before the year 1"):
        parse_since(window, NOW)


def test_since_rejects_digits_that_are_not_decimal() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_since("\u00b2d", NOW)  # "²d": isdigit() but not int()


def test_stats_from_the_question_log() -> None:
    questions = [
        question("U1", "answered", days_ago=1, latency=100),
        question("U1", "answered", latency=300),
        question("U2", "not_found", text="How do I expense travel?"),
        question("U3", "not_found", text="how do i expense travel"),
        question("U3", "error"),
        question("U4", "rate_limited"),
    ]
    feedback = [
        FeedbackRecord(1, "U1", "up", NOW),
        FeedbackRecord(2, "U2", "down", NOW),
        FeedbackRecord(3, "U3", "up", NOW),
    ]
    stats = compute_stats(questions, feedback, NOW - timedelta(days=7))
    assert stats.questions == 6
    assert stats.answered_rate == 0.5
    assert stats.error_rate == 0.2
    assert stats.repeat_asker_rate == 0.25
    assert (stats.thumbs_up, stats.thumbs_down) == (2, 1)
    assert stats.rate_limited == 1
    assert stats.top_unanswered == [("how do i expense travel", 2)]
    assert stats.questions_per_day == {"2026-11-25": 1, "2026-11-26": 5}


def test_stats_of_an_empty_log_have_no_rates() -> None:
    stats = compute_stats([], [], NOW)
    assert (stats.questions, stats.answered_rate, stats.latency_p95_ms) == (0, None, None)


def test_stats_command_reads_the_state_next_to_the_knowledge_base(
    sample_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kb.db"
    db.write_bytes(sample_db.read_bytes())

    async def log_one() -> None:
        store = SqliteStateStore(tmp_path / "state.db")
        await store.open()
        await store.record_question(replace(question("U1", "answered"), asked_at=datetime.now(UTC)))
        await store.close()

    asyncio.run(log_one())
    result = CliRunner().invoke(main, ["stats", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["questions"] == 1


def test_stats_command_rejects_a_bad_window(sample_db: Path) -> None:
    result = CliRunner().invoke(main, ["stats", "--db", str(sample_db), "--since", "later"])
    assert result.exit_code == 2 and "not a duration" in result.stderr


def test_stats_command_rejects_a_huge_window_in_one_line(sample_db: Path) -> None:
    result = CliRunner().invoke(main, ["stats", "--db", str(sample_db), "--since", "99999999d"])
    assert result.exit_code == 2 and "reaches back before the year 1" in result.stderr


def lacking(*absent: str) -> Callable[[Sequence[str]], set[str]]:
    """A knowledge base that has a word for every stem but ``absent``."""
    return lambda terms: {term for term in terms if term in absent}


def test_unknown_words_count_the_questions_using_them_most_first() -> None:
    questions = [
        "How do we freeze an account?",
        "freezing a customer's account for an audit: how?",
        "can we freeze freeze freeze it",
        "what does capture mean",
    ]
    assert unknown_words(questions, lacking("freez", "captur")) == [("freeze", 3), ("capture", 1)]


def test_unknown_words_leave_out_stop_words_numbers_and_redactions() -> None:
    questions = ["why 120 pods? token [redacted:slack-token] is it"]
    asked: list[str] = []

    def record(terms: Sequence[str]) -> set[str]:
        asked.extend(terms)
        return set()

    unknown_words(questions, record)
    assert asked == ["pod", "token"]


def test_stats_list_the_words_of_unanswered_questions_only() -> None:
    questions = [
        question("U1", "not_found", text="how do we freeze an account?"),
        question("U2", "answered", text="what is a capture?"),
    ]
    stats = compute_stats(questions, [], NOW, lacking("freez", "captur"))
    assert stats.unknown_words == [("freeze", 1)]


def test_stats_command_lists_words_no_document_holds(sample_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    db.write_bytes(sample_db.read_bytes())

    async def log_unanswered() -> None:
        store = SqliteStateStore(tmp_path / "state.db")
        await store.open()
        for text in ("escheatment of an account?", "when is escheatment due for a journal?"):
            record = question("U1", "not_found", text=text)
            await store.record_question(replace(record, asked_at=datetime.now(UTC)))
        await store.close()

    asyncio.run(log_unanswered())
    result = CliRunner().invoke(main, ["stats", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("add a synonyms group):\n  escheatment (2), due (1)")
