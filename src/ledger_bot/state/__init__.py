"""The bot's shared state: event claims, rate limits, budgets and the question log.

``build_state_store`` picks the backend from settings: PostgreSQL for a ``postgresql://`` URL
(needs the ``postgres`` extra), otherwise a SQLite file. ``PostgresStateStore`` is imported from
``ledger_bot.state.postgres`` so that this package works without psycopg installed.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ledger_bot.errors import ConfigError
from ledger_bot.state.base import (
    Clock,
    CounterDecision,
    FeedbackRecord,
    QuestionRecord,
    QuestionUpdate,
    RateDecision,
    StateStore,
    TokenTake,
    utc_now,
)
from ledger_bot.state.sqlite import SqliteStateStore

POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})


def build_state_store(url: str | None, sqlite_path: Path) -> StateStore:
    """The store for ``LEDGER_BOT_STATE_URL``: PostgreSQL for its URL, SQLite when it is unset.

    Nothing is connected until ``open()``.
    """
    if not url:
        return SqliteStateStore(sqlite_path)
    scheme = urlsplit(url).scheme.lower()
    if scheme in POSTGRES_SCHEMES:
        from ledger_bot.state.postgres import PostgresStateStore

        return PostgresStateStore(url)
    shown = f"scheme {scheme + '://'!r}" if scheme else "no URL scheme"
    raise ConfigError(
        f"LEDGER_BOT_STATE_URL has {shown}: set it to a postgresql:// URL, or leave it "
        f"unset to keep state in the SQLite file {sqlite_path}"
    )


__all__ = [
    "Clock",
    "CounterDecision",
    "FeedbackRecord",
    "QuestionRecord",
    "QuestionUpdate",
    "RateDecision",
    "SqliteStateStore",
    "StateStore",
    "TokenTake",
    "build_state_store",
    "utc_now",
]
