"""The state store's schema, as ordered migrations per backend.

A migration is applied once, in version order, when a store opens: all pending migrations run
in one transaction and each is recorded in ``schema_migrations(version, applied_at)``. To change
the schema, append a migration to both lists (never edit an applied one); the contract tests
run every migration on every backend.

Two processes opening the same database at once is safe: SQLite's ``BEGIN IMMEDIATE`` and
PostgreSQL's ``pg_advisory_xact_lock`` make the second wait and then find nothing to do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger_bot.errors import ConfigError

if TYPE_CHECKING:
    from psycopg import AsyncConnection


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


SQLITE_MIGRATIONS = (
    Migration(
        1,
        "m001_create_tables",
        (
            """CREATE TABLE event_claims (
                event_id TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                claimed_at TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
            """CREATE TABLE rate_buckets (
                key TEXT PRIMARY KEY,
                tokens REAL NOT NULL,
                updated_at TEXT NOT NULL,
                full_at TEXT
            )""",
            """CREATE TABLE counters (
                key TEXT NOT NULL,
                period TEXT NOT NULL,
                total REAL NOT NULL,
                PRIMARY KEY (key, period)
            )""",
            """CREATE TABLE questions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                asked_at TEXT NOT NULL,
                question TEXT NOT NULL,
                user_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                surface TEXT NOT NULL,
                outcome TEXT NOT NULL,
                latency_ms REAL,
                sources TEXT NOT NULL DEFAULT '[]',
                mode TEXT NOT NULL,
                request_id TEXT NOT NULL,
                cost_usd REAL NOT NULL DEFAULT 0,
                answer_text TEXT NOT NULL DEFAULT '',
                thread_ts TEXT,
                error TEXT
            )""",
            """CREATE TABLE feedback (
                question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
                user_id TEXT NOT NULL,
                value TEXT NOT NULL CHECK (value IN ('up', 'down')),
                voted_at TEXT NOT NULL,
                PRIMARY KEY (question_id, user_id)
            )""",
        ),
    ),
    Migration(
        2,
        "m002_index_by_time",
        (
            "CREATE INDEX questions_asked_at ON questions (asked_at)",
            "CREATE INDEX questions_user_asked_at ON questions (user_id, asked_at)",
            "CREATE INDEX feedback_voted_at ON feedback (voted_at)",
            "CREATE INDEX event_claims_expires_at ON event_claims (expires_at)",
            "CREATE INDEX rate_buckets_full_at ON rate_buckets (full_at)",
        ),
    ),
    Migration(
        3,
        "m003_index_questions_by_thread",
        ("CREATE INDEX questions_channel_thread_ts ON questions (channel, thread_ts)",),
    ),
)

POSTGRES_MIGRATIONS = (
    Migration(
        1,
        "m001_create_tables",
        (
            """CREATE TABLE event_claims (
                event_id text PRIMARY KEY,
                owner text NOT NULL,
                claimed_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL
            )""",
            """CREATE TABLE rate_buckets (
                key text PRIMARY KEY,
                tokens double precision NOT NULL,
                updated_at timestamptz NOT NULL,
                full_at timestamptz
            )""",
            """CREATE TABLE counters (
                key text NOT NULL,
                period text NOT NULL,
                total double precision NOT NULL,
                PRIMARY KEY (key, period)
            )""",
            """CREATE TABLE questions (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                asked_at timestamptz NOT NULL,
                question text NOT NULL,
                user_id text NOT NULL,
                channel text NOT NULL,
                surface text NOT NULL,
                outcome text NOT NULL,
                latency_ms double precision,
                sources text NOT NULL DEFAULT '[]',
                mode text NOT NULL,
                request_id text NOT NULL,
                cost_usd double precision NOT NULL DEFAULT 0,
                answer_text text NOT NULL DEFAULT '',
                thread_ts text,
                error text
            )""",
            """CREATE TABLE feedback (
                question_id bigint NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
                user_id text NOT NULL,
                value text NOT NULL CHECK (value IN ('up', 'down')),
                voted_at timestamptz NOT NULL,
                PRIMARY KEY (question_id, user_id)
            )""",
        ),
    ),
    Migration(
        2,
        "m002_index_by_time",
        (
            "CREATE INDEX questions_asked_at ON questions (asked_at)",
            "CREATE INDEX questions_user_asked_at ON questions (user_id, asked_at)",
            "CREATE INDEX feedback_voted_at ON feedback (voted_at)",
            "CREATE INDEX event_claims_expires_at ON event_claims (expires_at)",
            "CREATE INDEX rate_buckets_full_at ON rate_buckets (full_at)",
        ),
    ),
    Migration(
        3,
        "m003_index_questions_by_thread",
        ("CREATE INDEX questions_channel_thread_ts ON questions (channel, thread_ts)",),
    ),
)

LATEST_VERSION = SQLITE_MIGRATIONS[-1].version


def pending_migrations(
    applied: Iterable[int], migrations: tuple[Migration, ...], where: str
) -> list[Migration]:
    """The migrations not yet applied, in order; refuses a database newer than this code."""
    done = set(applied)
    known = migrations[-1].version
    if done and max(done) > known:
        raise ConfigError(
            f"the state database {where} is at schema version {max(done)}, newer than this "
            f"Ledger Bot understands ({known}): upgrade ledger-bot, or point "
            "LEDGER_BOT_STATE_URL at another database"
        )
    return [migration for migration in migrations if migration.version not in done]


def apply_sqlite_migrations(
    conn: sqlite3.Connection, now: datetime, timestamp: Callable[[datetime], str], where: str
) -> list[int]:
    """Bring a SQLite database (autocommit connection) up to date; return versions applied."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        applied = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
        pending = pending_migrations(applied, SQLITE_MIGRATIONS, where)
        for migration in pending:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (migration.version, timestamp(now)),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return [migration.version for migration in pending]


async def apply_postgres_migrations(
    conn: AsyncConnection[Any], now: datetime, where: str
) -> list[int]:
    """Bring a PostgreSQL schema (the first on search_path) up to date; return versions applied.

    The advisory lock is keyed on the schema, so stores of different schemas do not wait for
    each other, and is released when the transaction ends.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock("
            " hashtext('ledger_bot.state.migrations:' || coalesce(current_schema(), '')))"
        )
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL)"
        )
        cursor = await conn.execute("SELECT version FROM schema_migrations")
        applied = [row[0] for row in await cursor.fetchall()]
        pending = pending_migrations(applied, POSTGRES_MIGRATIONS, where)
        for migration in pending:
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)",
                (migration.version, now),
            )
    return [migration.version for migration in pending]
