"""``SqliteStateStore``: the state store in one SQLite file, for a single host.

One connection, used only by one worker thread of the store's own, so calls run one at a time
in the order they were made, and the event loop never blocks on disk. The file is in WAL mode
with a busy timeout, and every read-modify-write runs in ``BEGIN IMMEDIATE``, so several
processes on the same file (a CLI next to the bot) still see each write exactly once.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, Unpack

from ledger_bot.errors import BackendUnavailable
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
from ledger_bot.state.migrations import apply_sqlite_migrations

T = TypeVar("T")


def _text(moment: datetime) -> str:
    """A UTC timestamp in one fixed-width format, so text order is time order."""
    return require_aware(moment, "timestamp").isoformat(timespec="microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the lock up front, so it cannot fail half-way on busy."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _take(conn: sqlite3.Connection, take: TokenTake, now: datetime) -> RateDecision:
    """One bucket's take, inside the caller's transaction."""
    row = conn.execute(
        "SELECT tokens, updated_at FROM rate_buckets WHERE key = ?", (take.key,)
    ).fetchone()
    tokens, updated_at = (take.capacity, now) if row is None else (row[0], _time(row[1]))
    decision, state = take_from_bucket(
        tokens, updated_at, now, take.capacity, take.refill_per_second, take.cost
    )
    full_at = None if state.full_at is None else _text(state.full_at)
    conn.execute(
        "INSERT INTO rate_buckets (key, tokens, updated_at, full_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
        " tokens = excluded.tokens, updated_at = excluded.updated_at,"
        " full_at = excluded.full_at",
        (take.key, state.tokens, _text(state.updated_at), full_at),
    )
    return decision


class SqliteStateStore:
    """The state store in the SQLite file at ``path`` (created with its folder if missing)."""

    def __init__(
        self, path: Path, *, clock: Clock = utc_now, busy_timeout_seconds: float = 5.0
    ) -> None:
        self.path = path
        self._clock = clock
        self._busy_timeout = busy_timeout_seconds
        self._conn: sqlite3.Connection | None = None
        self._worker: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"SqliteStateStore({str(self.path)!r})"

    async def open(self) -> None:
        if self._conn is not None:
            return
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-bot-state")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(worker, self._connect)
        except BaseException:
            worker.shutdown(wait=False)
            raise
        self._worker = worker

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,  # opened here, used by the worker thread
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            self._enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            apply_sqlite_migrations(conn, self._clock(), _text, str(self.path))
        except (OSError, sqlite3.Error) as exc:
            if conn is not None:
                conn.close()
            raise BackendUnavailable(
                f"cannot open the SQLite state database {self.path}: {exc}; check that its "
                "folder exists and is writable, or set LEDGER_BOT_STATE_URL to a PostgreSQL URL"
            ) from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL, retrying: SQLite does not wait on busy for this pragma, so two
        processes creating the same file at once would otherwise fail with "locked"."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    async def close(self) -> None:
        conn, worker = self._conn, self._worker
        self._conn = self._worker = None
        if conn is None or worker is None:
            return
        await asyncio.get_running_loop().run_in_executor(worker, conn.close)
        worker.shutdown(wait=True)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work(conn, *args)`` on the store's thread."""
        conn, worker = self._conn, self._worker
        if conn is None or worker is None:
            raise BackendUnavailable(f"the state store {self.path} is not open; call open() first")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(worker, functools.partial(work, conn, *args))
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(
                f"the SQLite state database {self.path} failed: {exc}; if it is locked, another "
                "process holds it too long"
            ) from exc

    async def ping(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT 1").fetchone())

    async def schema_version(self) -> int:
        def read(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
            return int(row[0])

        return await self._run(read)

    async def claim_event(self, event_id: str, owner: str, ttl_seconds: float = 3600) -> bool:
        check_claim(ttl_seconds)
        now = self._clock()
        expires = now + timedelta(seconds=ttl_seconds)

        def claim(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "INSERT INTO event_claims (event_id, owner, claimed_at, expires_at)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (event_id) DO UPDATE SET owner = excluded.owner,"
                " claimed_at = excluded.claimed_at, expires_at = excluded.expires_at"
                " WHERE event_claims.expires_at <= excluded.claimed_at",
                (event_id, owner, _text(now), _text(expires)),
            )
            return cursor.rowcount == 1

        return await self._run(claim)

    async def take_token(
        self, key: str, capacity: float, refill_per_second: float, cost: float = 1.0
    ) -> RateDecision:
        [decision] = await self.take_tokens([TokenTake(key, capacity, refill_per_second, cost)])
        return decision

    async def take_tokens(self, takes: Sequence[TokenTake]) -> list[RateDecision]:
        check_takes(takes)
        now = self._clock()

        def take_all(conn: sqlite3.Connection) -> list[RateDecision]:
            decisions: list[RateDecision] = []
            with _immediate(conn):
                for take in takes:
                    decisions.append(_take(conn, take, now))
                    if not decisions[-1].allowed:
                        break
            return decisions

        return await self._run(take_all)

    async def add_to_counter(
        self, key: str, window: str, amount: float, limit: float
    ) -> CounterDecision:
        check_counter(amount, limit)

        def add(conn: sqlite3.Connection) -> CounterDecision:
            with _immediate(conn):
                row = conn.execute(
                    "SELECT total FROM counters WHERE key = ? AND period = ?", (key, window)
                ).fetchone()
                decision = add_within_limit(0.0 if row is None else row[0], amount, limit)
                if decision.allowed:
                    conn.execute(
                        "INSERT INTO counters (key, period, total) VALUES (?, ?, ?)"
                        " ON CONFLICT (key, period) DO UPDATE SET total = excluded.total",
                        (key, window, decision.total),
                    )
            return decision

        return await self._run(add)

    async def record_question(self, record: QuestionRecord) -> int:
        if record.id is not None:
            raise ValueError(f"a new question must not have an id yet, got id {record.id}")
        values = question_values(record, _text)

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                f"INSERT INTO questions ({QUESTION_INSERT_COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        return await self._run(insert)

    async def update_question(self, question_id: int, **fields: Unpack[QuestionUpdate]) -> None:
        def update(conn: sqlite3.Connection) -> None:
            with _immediate(conn):
                row = conn.execute(
                    f"SELECT {QUESTION_COLUMNS} FROM questions WHERE id = ?",  # noqa: S608
                    (question_id,),
                ).fetchone()
                if row is None:
                    raise LookupError(f"no question with id {question_id} in the state store")
                new = updated_question(question_from_row(row, _time), fields)
                conn.execute(
                    "UPDATE questions SET outcome = ?, latency_ms = ?, sources = ?, mode = ?,"
                    " answer_text = ?, cost_usd = ?, error = ? WHERE id = ?",
                    (*changeable_values(new), question_id),
                )

        await self._run(update)

    async def record_feedback(self, question_id: int, user: str, value: str) -> None:
        check_vote(value)
        now = self._clock()

        def vote(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO feedback (question_id, user_id, value, voted_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (question_id, user_id) DO UPDATE"
                    " SET value = excluded.value, voted_at = excluded.voted_at",
                    (question_id, user, value, _text(now)),
                )
            except sqlite3.IntegrityError as exc:
                raise LookupError(f"no question with id {question_id} in the state store") from exc

        await self._run(vote)

    async def questions_since(self, since: datetime) -> list[QuestionRecord]:
        start = _text(require_aware(since, "since"))

        def select(conn: sqlite3.Connection) -> list[QuestionRecord]:
            rows = conn.execute(
                f"SELECT {QUESTION_COLUMNS} FROM questions"  # noqa: S608
                " WHERE asked_at >= ? ORDER BY asked_at, id",
                (start,),
            ).fetchall()
            return [question_from_row(row, _time) for row in rows]

        return await self._run(select)

    async def feedback_since(self, since: datetime) -> list[FeedbackRecord]:
        start = _text(require_aware(since, "since"))

        def select(conn: sqlite3.Connection) -> list[FeedbackRecord]:
            rows = conn.execute(
                "SELECT question_id, user_id, value, voted_at FROM feedback"
                " WHERE voted_at >= ? ORDER BY voted_at, question_id, user_id",
                (start,),
            ).fetchall()
            return [FeedbackRecord(row[0], row[1], row[2], _time(row[3])) for row in rows]

        return await self._run(select)

    async def recent_questions(self, user: str, limit: int = 5) -> list[QuestionRecord]:
        check_limit(limit)

        def select(conn: sqlite3.Connection) -> list[QuestionRecord]:
            rows = conn.execute(
                f"SELECT {QUESTION_COLUMNS} FROM questions"  # noqa: S608
                " WHERE user_id = ? ORDER BY asked_at DESC, id DESC LIMIT ?",
                (user, limit),
            ).fetchall()
            return [question_from_row(row, _time) for row in rows]

        return await self._run(select)

    async def get_question(self, question_id: int) -> QuestionRecord | None:
        check_question_id(question_id)
        if question_id > MAX_QUESTION_ID:
            return None  # SQLite cannot even bind it

        def select(conn: sqlite3.Connection) -> QuestionRecord | None:
            row = conn.execute(
                f"SELECT {QUESTION_COLUMNS} FROM questions WHERE id = ?",  # noqa: S608
                (question_id,),
            ).fetchone()
            return None if row is None else question_from_row(row, _time)

        return await self._run(select)

    async def answered_in_thread(self, channel: str, thread_ts: str) -> bool:
        check_thread(channel, thread_ts)

        def select(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM questions"
                " WHERE channel = ? AND thread_ts = ? AND outcome IN (?, ?))",
                (channel, thread_ts, *REPLIED_OUTCOMES),
            ).fetchone()
            return bool(row[0])

        return await self._run(select)

    async def purge_expired(self, now: datetime | None = None) -> int:
        at = require_aware(now, "now") if now is not None else self._clock()
        moment, oldest_window = _text(at), counter_cutoff(at)

        def purge(conn: sqlite3.Connection) -> int:
            with _immediate(conn):
                claims = conn.execute("DELETE FROM event_claims WHERE expires_at <= ?", (moment,))
                buckets = conn.execute("DELETE FROM rate_buckets WHERE full_at <= ?", (moment,))
                counters = conn.execute("DELETE FROM counters WHERE period < ?", (oldest_window,))
            return claims.rowcount + buckets.rowcount + counters.rowcount

        return await self._run(purge)

    async def purge_questions(self, before: datetime) -> int:
        cutoff = _text(require_aware(before, "before"))

        def purge(conn: sqlite3.Connection) -> int:
            with _immediate(conn):  # feedback goes with its question (ON DELETE CASCADE)
                return conn.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount

        return await self._run(purge)
