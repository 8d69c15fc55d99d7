"""``PostgresStateStore``: the state store in PostgreSQL, shared by every replica.

A psycopg 3 async connection pool. Each operation is one statement or one short transaction;
read-modify-writes lock their row with ``SELECT ... FOR UPDATE`` (after an ``INSERT ... ON
CONFLICT DO NOTHING`` so a new row exists to lock), so concurrent replicas queue on the row
instead of over-granting. Tables live in the first schema of the connection's search_path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack

from ledger_bot.errors import BackendUnavailable, ConfigError, MissingExtra
from ledger_bot.state.base import (
    MAX_QUESTION_ID,
    QUESTION_COLUMNS,
    QUESTION_INSERT_COLUMNS,
    REPLIED_OUTCOMES,
    Clock,
    CounterDecision,
    FeedbackRecord,
    QuestionRecord,
    QuestionUpdate,
    RateDecision,
    TokenTake,
    add_within_limit,
    changeable_values,
    check_claim,
    check_counter,
    check_limit,
    check_question_id,
    check_takes,
    check_thread,
    check_vote,
    counter_cutoff,
    question_from_row,
    question_values,
    require_aware,
    take_from_bucket,
    updated_question,
    utc_now,
)
from ledger_bot.state.migrations import apply_postgres_migrations

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg_pool import AsyncConnectionPool, PoolTimeout
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingExtra("PostgreSQL state", "postgres", "psycopg") from exc

Connection = psycopg.AsyncConnection[tuple[Any, ...]]

_UNREACHABLE = "check LEDGER_BOT_STATE_URL and that the PostgreSQL server is up"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _same(value: datetime) -> datetime:
    return value


async def _take(conn: Connection, take: TokenTake, now: datetime) -> RateDecision:
    """One bucket's take, inside the caller's transaction: its row is locked until the end."""
    await conn.execute(
        "INSERT INTO rate_buckets (key, tokens, updated_at) VALUES (%s, %s, %s)"
        " ON CONFLICT (key) DO NOTHING",
        (take.key, take.capacity, now),
    )
    cursor = await conn.execute(
        "SELECT tokens, updated_at FROM rate_buckets WHERE key = %s FOR UPDATE", (take.key,)
    )
    row = await cursor.fetchone()
    assert row is not None
    decision, state = take_from_bucket(
        row[0], row[1], now, take.capacity, take.refill_per_second, take.cost
    )
    await conn.execute(
        "UPDATE rate_buckets SET tokens = %s, updated_at = %s, full_at = %s WHERE key = %s",
        (state.tokens, state.updated_at, state.full_at, take.key),
    )
    return decision


class PostgresStateStore:
    """The state store in the PostgreSQL database at ``url`` (a libpq URL or conninfo string).

    ``timeout_seconds`` bounds connecting and waiting for a pooled connection, after which
    an operation raises BackendUnavailable.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = utc_now,
        min_size: int = 1,
        max_size: int = 10,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._url = url
        self._clock = clock
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout_seconds
        self._pool: AsyncConnectionPool[Connection] | None = None

    def __repr__(self) -> str:
        return "PostgresStateStore(...)"  # the URL may hold a password

    @property
    def _connect_timeout(self) -> int:
        return max(2, round(self._timeout))  # libpq's smallest useful value is 2 seconds

    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            # Migrate on a connection of its own, so an unreachable server fails here at once
            # instead of after the pool has retried for the whole timeout.
            conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=self._connect_timeout
            )
            async with conn:
                await apply_postgres_migrations(conn, self._clock(), "behind LEDGER_BOT_STATE_URL")
        except psycopg.OperationalError as exc:
            raise BackendUnavailable(
                f"cannot reach the PostgreSQL state store: {exc}; {_UNREACHABLE}"
            ) from exc
        except psycopg.Error as exc:
            raise ConfigError(
                f"cannot set up the PostgreSQL state store: {exc}; check that the "
                "LEDGER_BOT_STATE_URL user may create tables in the first schema of its search_path"
            ) from exc
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            self._url,
            min_size=self._min_size,
            max_size=self._max_size,
            timeout=self._timeout,
            kwargs={"autocommit": True, "connect_timeout": self._connect_timeout},
            check=AsyncConnectionPool.check_connection,  # drop connections a restart broke
            open=False,
            name="ledger-bot-state",
        )
        try:
            await pool.open(wait=True, timeout=self._timeout)
        except PoolTimeout as exc:
            await pool.close()
            raise BackendUnavailable(
                f"cannot reach the PostgreSQL state store: {exc}; {_UNREACHABLE}"
            ) from exc
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        if self._pool is None:
            raise BackendUnavailable("the PostgreSQL state store is not open; call open() first")
        try:
            async with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise BackendUnavailable(
                f"the PostgreSQL state store failed: {exc}; {_UNREACHABLE}"
            ) from exc

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.execute("SELECT 1")

    async def schema_version(self) -> int:
        async with self._connection() as conn:
            cursor = await conn.execute("SELECT max(version) FROM schema_migrations")
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def claim_event(self, event_id: str, owner: str, ttl_seconds: float = 3600) -> bool:
        check_claim(ttl_seconds)
        now = self._clock()
        async with self._connection() as conn:
            cursor = await conn.execute(
                "INSERT INTO event_claims (event_id, owner, claimed_at, expires_at)"
                " VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (event_id) DO UPDATE SET owner = excluded.owner,"
                " claimed_at = excluded.claimed_at, expires_at = excluded.expires_at"
                " WHERE event_claims.expires_at <= excluded.claimed_at",
                (event_id, owner, now, now + timedelta(seconds=ttl_seconds)),
            )
            return cursor.rowcount == 1

    async def take_token(
        self, key: str, capacity: float, refill_per_second: float, cost: float = 1.0
    ) -> RateDecision:
        [decision] = await self.take_tokens([TokenTake(key, capacity, refill_per_second, cost)])
        return decision

    async def take_tokens(self, takes: Sequence[TokenTake]) -> list[RateDecision]:
        check_takes(takes)
        now = self._clock()
        decisions: list[RateDecision] = []
        async with self._connection() as conn, conn.transaction():
            for take in takes:
                decisions.append(await _take(conn, take, now))
                if not decisions[-1].allowed:
                    break
        return decisions

    async def add_to_counter(
        self, key: str, window: str, amount: float, limit: float
    ) -> CounterDecision:
        check_counter(amount, limit)
        async with self._connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO counters (key, period, total) VALUES (%s, %s, 0)"
                " ON CONFLICT (key, period) DO NOTHING",
                (key, window),
            )
            cursor = await conn.execute(
                "SELECT total FROM counters WHERE key = %s AND period = %s FOR UPDATE",
                (key, window),
            )
            row = await cursor.fetchone()
            assert row is not None
            decision = add_within_limit(row[0], amount, limit)
            if decision.allowed:
                await conn.execute(
                    "UPDATE counters SET total = %s WHERE key = %s AND period = %s",
                    (decision.total, key, window),
                )
        return decision

    async def record_question(self, record: QuestionRecord) -> int:
        if record.id is not None:
            raise ValueError(f"a new question must not have an id yet, got id {record.id}")
        async with self._connection() as conn:
            cursor = await conn.execute(
                f"INSERT INTO questions ({QUESTION_INSERT_COLUMNS})"  # noqa: S608
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                question_values(record, _same),
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def update_question(self, question_id: int, **fields: Unpack[QuestionUpdate]) -> None:
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(
                f"SELECT {QUESTION_COLUMNS} FROM questions WHERE id = %s FOR UPDATE",  # noqa: S608
                (question_id,),
            )
            row = await cursor.fetchone()
            if row is None:
                raise LookupError(f"no question with id {question_id} in the state store")
            new = updated_question(question_from_row(row, _utc), fields)
            await conn.execute(
                "UPDATE questions SET outcome = %s, latency_ms = %s, sources = %s, mode = %s,"
                " answer_text = %s, cost_usd = %s, error = %s WHERE id = %s",
                (*changeable_values(new), question_id),
            )

    async def record_feedback(self, question_id: int, user: str, value: str) -> None:
        check_vote(value)
        now = self._clock()
        async with self._connection() as conn:
            try:
                await conn.execute(
                    "INSERT INTO feedback (question_id, user_id, value, voted_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (question_id, user_id) DO UPDATE"
                    " SET value = excluded.value, voted_at = excluded.voted_at",
                    (question_id, user, value, now),
                )
            except pg_errors.ForeignKeyViolation as exc:
                raise LookupError(f"no question with id {question_id} in the state store") from exc

    async def questions_since(self, since: datetime) -> list[QuestionRecord]:
        start = require_aware(since, "since")
        async with self._connection() as conn:
            cursor = await conn.execute(
                f"SELECT {QUESTION_COLUMNS} FROM questions"  # noqa: S608
                " WHERE asked_at >= %s ORDER BY asked_at, id",
                (start,),
            )
            rows = await cursor.fetchall()
        return [question_from_row(row, _utc) for row in rows]

    async def feedback_since(self, since: datetime) -> list[FeedbackRecord]:
        start = require_aware(since, "since")
        async with self._connection() as conn:
            cursor = await conn.execute(
                "SELECT question_id, user_id, value, voted_at FROM feedback"
                " WHERE voted_at >= %s ORDER BY voted_at, question_id, user_id",
                (start,),
            )
            rows = await cursor.fetchall()
        return [FeedbackRecord(row[0], row[1], row[2], _utc(row[3])) for row in rows]

    async def recent_questions(self, user: str, limit: int = 5) -> list[QuestionRecord]:
        check_limit(limit)
        async with self._connection() as conn:
            cursor = await conn.execute(
                f"SELECT {QUESTION_COLUMNS} FROM questions"  # noqa: S608
                " WHERE user_id = %s ORDER BY asked_at DESC, id DESC LIMIT %s",
                (user, limit),
            )
            rows = await cursor.fetchall()
        return [question_from_row(row, _utc) for row in rows]

    async def get_question(self, question_id: int) -> QuestionRecord | None:
        check_question_id(question_id)
        if question_id > MAX_QUESTION_ID:
            return None  # beyond bigint: no question can have it
        async with self._connection() as conn:
            cursor = await conn.execute(
                f"SELECT {QUESTION_COLUMNS} FROM questions WHERE id = %s",  # noqa: S608
                (question_id,),
            )
            row = await cursor.fetchone()
        return None if row is None else question_from_row(row, _utc)

    async def answered_in_thread(self, channel: str, thread_ts: str) -> bool:
        check_thread(channel, thread_ts)
        async with self._connection() as conn:
            cursor = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM questions"
                " WHERE channel = %s AND thread_ts = %s AND outcome = ANY(%s))",
                (channel, thread_ts, list(REPLIED_OUTCOMES)),
            )
            row = await cursor.fetchone()
        assert row is not None
        return bool(row[0])

    async def purge_expired(self, now: datetime | None = None) -> int:
        moment = require_aware(now, "now") if now is not None else self._clock()
        async with self._connection() as conn, conn.transaction():
            claims = await conn.execute(
                "DELETE FROM event_claims WHERE expires_at <= %s", (moment,)
            )
            buckets = await conn.execute("DELETE FROM rate_buckets WHERE full_at <= %s", (moment,))
            counters = await conn.execute(
                "DELETE FROM counters WHERE period < %s", (counter_cutoff(moment),)
            )
        return claims.rowcount + buckets.rowcount + counters.rowcount

    async def purge_questions(self, before: datetime) -> int:
        cutoff = require_aware(before, "before")
        async with self._connection() as conn, conn.transaction():
            # Feedback goes with its question (ON DELETE CASCADE).
            deleted = await conn.execute("DELETE FROM questions WHERE asked_at < %s", (cutoff,))
        return deleted.rowcount
