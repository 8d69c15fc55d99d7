"""Fixtures of the state-store contract: the same tests run on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``LEDGER_BOT_TEST_POSTGRES_URL`` (default: the local server at
``postgresql://postgres@127.0.0.1:5432/test``). Every test gets a schema of its own, named
``ledgerbot_test_<session>_<n>`` and put first on the search_path through the URL's
``options``; it is dropped after the test, and any left over from this session at its end.
The PostgreSQL tests skip only when that variable and ``CI`` are unset and no server answers at
the default URL; otherwise an unreachable server fails them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

from ledger_bot.state import SqliteStateStore, StateStore

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``schema`` first on its search_path, kept a URL so any store accepts it."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = f"{query.get('options', '')} -c search_path={schema}".strip()
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def free_port() -> int:
    """A local port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    url: str
    session: str
    schemas: int = 0

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=3)

    def new_schema(self) -> str:
        self.schemas += 1
        schema = f"ledgerbot_test_{self.session}_{self.schemas}"
        with self.connect() as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return schema

    def drop_schemas(self, pattern: str) -> None:
        with self.connect() as conn:
            names = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (pattern,)
            ).fetchall()
            for (name,) in names:
                conn.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    configured = os.environ.get("LEDGER_BOT_TEST_POSTGRES_URL")
    url = configured or DEFAULT_POSTGRES_URL
    required = bool(configured or os.environ.get("CI"))
    why_required = "LEDGER_BOT_TEST_POSTGRES_URL or CI is set, so PostgreSQL tests must run"
    try:
        import psycopg
    except ImportError:
        if required:
            pytest.fail(f"psycopg is not installed and {why_required}")
        pytest.skip("psycopg is not installed: pip install -e '.[dev,postgres]'")
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if required:
            pytest.fail(f"no PostgreSQL answers at {url} and {why_required}: {exc}")
        pytest.skip(
            f"no PostgreSQL answers at {url}; start one or set LEDGER_BOT_TEST_POSTGRES_URL"
        )
    server = PostgresServer(url=url, session=secrets.token_hex(4))
    yield server
    server.drop_schemas(f"ledgerbot\\_test\\_{server.session}\\_%")


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A URL of the test PostgreSQL whose search_path starts with a fresh, empty schema."""
    schema = postgres_server.new_schema()
    yield with_search_path(postgres_server.url, schema)
    postgres_server.drop_schemas(schema)


@dataclass
class Backend:
    """One state-store implementation over a fresh database, with a fake clock.

    ``url`` and ``sqlite_path`` are what ``build_state_store`` takes to reach the same database.
    """

    name: str
    url: str | None
    sqlite_path: Path
    clock: FakeClock = field(default_factory=FakeClock)
    stores: list[StateStore] = field(default_factory=list)

    def new_store(self, **options: Any) -> StateStore:
        """Another store on this database, as a second replica would have; closed after the test."""
        store: StateStore
        if self.url is None:
            store = SqliteStateStore(self.sqlite_path, clock=self.clock, **options)
        else:
            from ledger_bot.state.postgres import PostgresStateStore

            store = PostgresStateStore(self.url, clock=self.clock, **options)
        self.stores.append(store)
        return store

    async def open_store(self) -> StateStore:
        store = self.new_store()
        await store.open()
        return store

    def unreachable_store(self) -> StateStore:
        """A store of this kind whose database cannot be reached."""
        if self.url is None:
            blocker = self.sqlite_path.with_name("not-a-folder")
            blocker.write_text("a file where the store needs a folder\n")
            return SqliteStateStore(blocker / "state.db", clock=self.clock)
        from ledger_bot.state.postgres import PostgresStateStore

        return PostgresStateStore(
            f"postgresql://postgres@127.0.0.1:{free_port()}/test", clock=self.clock
        )

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` on the database directly, bypassing the store."""
        if self.url is None:
            with sqlite3.connect(self.sqlite_path) as conn:
                rows = conn.execute(sql, params).fetchall()
            conn.close()
            return rows
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as pg:
            cursor = pg.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def index_columns(self, index: str) -> list[str]:
        """The columns of ``index``, in order; empty if there is no such index."""
        if self.url is None:
            rows = self.query("SELECT name FROM pragma_index_info(?) ORDER BY seqno", (index,))
        else:
            rows = self.query(
                "SELECT attname FROM pg_attribute WHERE attrelid = ("
                " SELECT oid FROM pg_class WHERE relname = %s AND relkind = 'i'"
                " AND relnamespace = current_schema()::regnamespace) ORDER BY attnum",
                (index,),
            )
        return [row[0] for row in rows]

    async def close_stores(self) -> None:
        for store in self.stores:
            await store.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    backend = Backend(name=request.param, url=url, sqlite_path=tmp_path / "state.db")
    yield backend
    await backend.close_stores()


@pytest.fixture
async def store(backend: Backend) -> StateStore:
    """An open store on a fresh database."""
    return await backend.open_store()


@pytest.fixture
def clock(backend: Backend) -> FakeClock:
    return backend.clock


class TcpProxy:
    """A local TCP proxy to a server, which can be cut to make the server vanish."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers += [writer, up_writer]
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def cut(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            await writer.wait_closed()
        self._writers.clear()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def postgres_proxy(postgres_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A proxy to the test PostgreSQL and a URL that reaches the fresh schema through it."""
    parts = urlsplit(postgres_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    port = await proxy.start()
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{port}"
    if parts.password:
        netloc = f"{parts.username}:{parts.password}@127.0.0.1:{port}"
    yield proxy, urlunsplit(parts._replace(netloc=netloc))
    await proxy.cut()
