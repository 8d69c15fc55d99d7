"""The state store: what every Ledger Bot replica shares, behind one small async interface.

Event claims (so a Slack retry is answered once), token buckets and daily counters (so rate
limits and budgets hold across replicas and restarts), and the question and feedback log.
``SqliteStateStore`` keeps it in one file for a single process; ``PostgresStateStore`` shares
it between processes and machines. Both pass the same contract tests.

This module also holds the arithmetic both backends share (bucket refill, counter limit) and
the mapping of a question to and from a table row, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypedDict, Unpack

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime; injected so tests can move time."""

SURFACES = frozenset({"slack", "console", "mcp", "cli", "http"})
OUTCOMES = frozenset({"answered", "not_found", "rejected", "rate_limited", "error", "pending"})
VOTES = frozenset({"up", "down"})
REPLIED_OUTCOMES = ("answered", "not_found")
"""Outcomes of a question the bot replied to in its thread (with an answer or "not found")."""
MAX_QUESTION_ID = 2**63 - 1
"""The largest id either backend can store; a larger one cannot name a logged question."""


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def require_aware(value: datetime, name: str) -> datetime:
    """``value`` in UTC; a naive datetime is refused because its zone would be a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class QuestionRecord:
    """One question asked of the bot and what became of it."""

    id: int | None
    asked_at: datetime
    question: str
    user: str
    channel: str
    surface: str
    outcome: str
    latency_ms: float | None
    sources: tuple[str, ...]
    mode: str
    request_id: str
    cost_usd: float = 0.0
    answer_text: str = ""
    thread_ts: str | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "asked_at", require_aware(self.asked_at, "asked_at"))
        object.__setattr__(self, "sources", tuple(self.sources))
        if self.surface not in SURFACES:
            raise ValueError(f"surface must be one of {sorted(SURFACES)}, got {self.surface!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, got {self.outcome!r}")


class QuestionUpdate(TypedDict, total=False):
    """The fields of a logged question that may change once it has been answered."""

    outcome: str
    latency_ms: float | None
    sources: tuple[str, ...]
    mode: str
    answer_text: str
    cost_usd: float
    error: str | None


@dataclass(frozen=True)
class FeedbackRecord:
    """One user's vote on one answer; a later vote by the same user replaces it."""

    question_id: int
    user: str
    value: str
    at: datetime


@dataclass(frozen=True)
class RateDecision:
    """Whether a token bucket allowed a request.

    ``retry_after`` is the number of seconds until ``cost`` tokens will be available (0 when
    allowed, infinite when the bucket never refills); ``remaining`` the tokens left now.
    """

    allowed: bool
    retry_after: float
    remaining: float


@dataclass(frozen=True)
class TokenTake:
    """``cost`` tokens to take from bucket ``key``, as :meth:`StateStore.take_token` takes them."""

    key: str
    capacity: float
    refill_per_second: float
    cost: float = 1.0


@dataclass(frozen=True)
class CounterDecision:
    """Whether an amount fit under a counter's limit; ``total`` is the counter afterwards."""

    allowed: bool
    total: float


class StateStore(Protocol):
    """Shared state of the bot. Every method is safe to call concurrently, from any replica."""

    async def open(self) -> None:
        """Connect and bring the schema up to date; raises BackendUnavailable."""

    async def close(self) -> None:
        """Release connections; calling it twice is harmless."""

    async def ping(self) -> None:
        """Return if the database answers, else raise BackendUnavailable (used by /ready)."""

    async def schema_version(self) -> int:
        """The highest migration applied to the database."""

    async def claim_event(self, event_id: str, owner: str, ttl_seconds: float = 3600) -> bool:
        """True for exactly one caller per ``event_id`` until the claim is ``ttl_seconds`` old."""

    async def take_token(
        self, key: str, capacity: float, refill_per_second: float, cost: float = 1.0
    ) -> RateDecision:
        """Take ``cost`` tokens from bucket ``key`` (full when new) if it holds that many."""

    async def take_tokens(self, takes: Sequence[TokenTake]) -> list[RateDecision]:
        """Take from each bucket of ``takes`` in turn, as :meth:`take_token` would, in one
        transaction, stopping at the first that refuses; one decision per bucket tried (so
        the last is the refusal, if any). Buckets are locked in the order given: callers
        that take from the same buckets name them in the same order."""

    async def add_to_counter(
        self, key: str, window: str, amount: float, limit: float
    ) -> CounterDecision:
        """Add ``amount`` to counter (key, window) unless the total would exceed ``limit``."""

    async def record_question(self, record: QuestionRecord) -> int:
        """Log a question (its ``id`` must be None) and return its new id."""

    async def update_question(self, question_id: int, **fields: Unpack[QuestionUpdate]) -> None:
        """Change fields of a logged question; raises LookupError for an unknown id."""

    async def record_feedback(self, question_id: int, user: str, value: str) -> None:
        """Record a vote ('up' or 'down'); raises LookupError for an unknown question."""

    async def questions_since(self, since: datetime) -> list[QuestionRecord]:
        """Questions asked at or after ``since``, oldest first."""

    async def feedback_since(self, since: datetime) -> list[FeedbackRecord]:
        """Votes cast at or after ``since``, oldest first."""

    async def recent_questions(self, user: str, limit: int = 5) -> list[QuestionRecord]:
        """The ``limit`` latest questions of ``user``, newest first."""

    async def get_question(self, question_id: int) -> QuestionRecord | None:
        """The logged question with ``question_id``, or None if there is none."""

    async def answered_in_thread(self, channel: str, thread_ts: str) -> bool:
        """True if the bot replied in thread ``thread_ts`` of ``channel``: a question logged
        there has outcome 'answered' or 'not_found'. An indexed lookup, cheap enough to make
        for every threaded message."""

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete expired event claims, full buckets and the counters of windows (UTC dates)
        more than :data:`COUNTER_DAYS_KEPT` days old; return how many rows went."""

    async def purge_questions(self, before: datetime) -> int:
        """Delete the questions asked before ``before``, with their feedback (the question
        log's retention); return how many questions went."""


# Counters count per UTC day (window "YYYY-MM-DD"): the question budget, model spending.
COUNTER_DAYS_KEPT = 7


def counter_cutoff(now: datetime) -> str:
    """The oldest counter window :meth:`StateStore.purge_expired` keeps at ``now``."""
    return (now.astimezone(UTC) - timedelta(days=COUNTER_DAYS_KEPT)).date().isoformat()


# Checks and arithmetic shared by the backends. Each runs inside the backend's transaction.


def check_claim(ttl_seconds: float) -> None:
    if not (ttl_seconds > 0 and math.isfinite(ttl_seconds)):
        raise ValueError(f"ttl_seconds must be a positive number of seconds, got {ttl_seconds!r}")


def check_bucket(capacity: float, refill_per_second: float, cost: float) -> None:
    if not (capacity > 0 and math.isfinite(capacity)):
        raise ValueError(f"capacity must be positive, got {capacity!r}")
    if not (refill_per_second >= 0 and math.isfinite(refill_per_second)):
        raise ValueError(f"refill_per_second must be zero or more, got {refill_per_second!r}")
    if not 0 < cost <= capacity:
        raise ValueError(f"cost must be more than 0 and at most capacity {capacity}, got {cost!r}")


def check_takes(takes: Sequence[TokenTake]) -> None:
    for take in takes:
        check_bucket(take.capacity, take.refill_per_second, take.cost)


def check_counter(amount: float, limit: float) -> None:
    if not (amount >= 0 and math.isfinite(amount)):
        raise ValueError(f"amount must be zero or more, got {amount!r}")
    if math.isnan(limit):
        raise ValueError("limit must be a number, got NaN")


def check_vote(value: str) -> None:
    if value not in VOTES:
        raise ValueError(f"feedback value must be 'up' or 'down', got {value!r}")


def check_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"limit must be zero or more, got {limit!r}")


def check_question_id(question_id: int) -> None:
    if question_id <= 0:
        raise ValueError(f"question_id must be a positive integer, got {question_id!r}")


def check_thread(channel: str, thread_ts: str) -> None:
    if not channel:
        raise ValueError("channel must be a Slack channel id such as 'C0123', got ''")
    if not thread_ts:
        raise ValueError(
            "thread_ts must be a Slack message timestamp such as '1764147600.000100', got ''"
        )


@dataclass(frozen=True)
class BucketState:
    """A token bucket as stored: its tokens at ``updated_at`` and when it will be full again."""

    tokens: float
    updated_at: datetime
    full_at: datetime | None


def take_from_bucket(
    tokens: float,
    updated_at: datetime,
    now: datetime,
    capacity: float,
    refill_per_second: float,
    cost: float,
) -> tuple[RateDecision, BucketState]:
    """Refill a bucket up to ``now`` and take ``cost`` from it if it holds that many."""
    now = max(now, updated_at)  # a replica whose clock lags must not refill the gap twice
    elapsed = (now - updated_at).total_seconds()
    available = min(capacity, tokens + elapsed * refill_per_second)
    if available >= cost:
        left = available - cost
        decision = RateDecision(allowed=True, retry_after=0.0, remaining=left)
    else:
        left = available
        wait = (cost - available) / refill_per_second if refill_per_second > 0 else math.inf
        decision = RateDecision(allowed=False, retry_after=wait, remaining=left)
    full_at = (
        now + timedelta(seconds=(capacity - left) / refill_per_second)
        if refill_per_second > 0
        else None
    )
    return decision, BucketState(tokens=left, updated_at=now, full_at=full_at)


def add_within_limit(total: float, amount: float, limit: float) -> CounterDecision:
    """The counter after adding ``amount``, or unchanged if the sum would exceed ``limit``."""
    if total + amount <= limit:
        return CounterDecision(allowed=True, total=total + amount)
    return CounterDecision(allowed=False, total=total)


# A question as a table row. The backends select QUESTION_COLUMNS and insert
# QUESTION_INSERT_COLUMNS; update_question rewrites CHANGEABLE_COLUMNS.

QUESTION_INSERT_COLUMNS = (
    "asked_at, question, user_id, channel, surface, outcome, latency_ms, sources, mode,"
    " request_id, cost_usd, answer_text, thread_ts, error"
)
QUESTION_COLUMNS = "id, " + QUESTION_INSERT_COLUMNS


def question_values(
    record: QuestionRecord, timestamp: Callable[[datetime], Any]
) -> tuple[Any, ...]:
    """The row of ``record`` without its id; ``timestamp`` converts datetimes for the driver."""
    return (
        timestamp(record.asked_at),
        record.question,
        record.user,
        record.channel,
        record.surface,
        record.outcome,
        record.latency_ms,
        _sources_json(record.sources),
        record.mode,
        record.request_id,
        record.cost_usd,
        record.answer_text,
        record.thread_ts,
        record.error,
    )


def changeable_values(record: QuestionRecord) -> tuple[Any, ...]:
    """The values of outcome, latency_ms, sources, mode, answer_text, cost_usd, error."""
    return (
        record.outcome,
        record.latency_ms,
        _sources_json(record.sources),
        record.mode,
        record.answer_text,
        record.cost_usd,
        record.error,
    )


def _sources_json(sources: tuple[str, ...]) -> str:
    return json.dumps(list(sources), ensure_ascii=False)


def question_from_row(row: Sequence[Any], parse_time: Callable[[Any], datetime]) -> QuestionRecord:
    """The record of a row selected as QUESTION_COLUMNS."""
    return QuestionRecord(
        id=row[0],
        asked_at=parse_time(row[1]),
        question=row[2],
        user=row[3],
        channel=row[4],
        surface=row[5],
        outcome=row[6],
        latency_ms=row[7],
        sources=tuple(json.loads(row[8])),
        mode=row[9],
        request_id=row[10],
        cost_usd=row[11],
        answer_text=row[12],
        thread_ts=row[13],
        error=row[14],
    )


def updated_question(record: QuestionRecord, fields: QuestionUpdate) -> QuestionRecord:
    """``record`` with ``fields`` changed, validated like a new record."""
    unknown = set(fields) - set(QuestionUpdate.__annotations__)
    if unknown:
        raise TypeError(f"update_question cannot change {sorted(unknown)}")
    changes: dict[str, Any] = dict(fields)
    if "sources" in changes:
        changes["sources"] = tuple(changes["sources"])
    return replace(record, **changes)
