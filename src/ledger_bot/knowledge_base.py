"""The knowledge base: one SQLite file holding documents, chunks and an FTS5 BM25 index.

Reads may run from many threads at once (each thread gets its own read-only connection, WAL
mode lets them read while a writer works); writes go through :meth:`SqliteKnowledgeBase.writer`,
one transaction per indexing run, so readers keep the previous state until it commits.

Search ranks with FTS5's ``bm25()``. A process that keeps searching a knowledge base builds an
in-memory copy of the index (:mod:`ledger_bot.impact_index`) in a background thread once its
FTS5 searches have taken :data:`BUILD_SEARCH_INDEX_AFTER` seconds, and from then on ranks with
it: the same scores, a few milliseconds instead of tens at 100k chunks. Every indexing run that
changes a chunk bumps ``content_version`` in ``meta``; a search whose snapshot holds another
version than the in-memory index uses FTS5 (and a newer version starts a rebuild).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ledger_bot.documents import Chunk, Document, SearchHit
from ledger_bot.errors import KnowledgeBaseError
from ledger_bot.synonyms import NO_SYNONYMS, Synonyms, SynonymsFile
from ledger_bot.terms import analyze

if TYPE_CHECKING:
    from ledger_bot.impact_index import ImpactIndex

log = logging.getLogger(__name__)

# Seconds of FTS5 searching after which the in-memory search index is built (in the
# background). A one-off command never gets there; a long-lived process on a large knowledge
# base does within a minute of questions, and on a small one, where FTS5 is fast, much later.
BUILD_SEARCH_INDEX_AFTER = 1.0
# Chunk ids looked up per statement when hits are read back from the ranked ids.
_IDS_PER_STATEMENT = 500

# Column weights of bm25(): a match in a title or heading says more than one in the body.
BM25_WEIGHTS = (2.0, 1.5, 1.0)
_BM25 = "bm25(chunks_fts, " + ", ".join(str(weight) for weight in BM25_WEIGHTS) + ")"


def _execute_script(db: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction (executescript commits)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _m001_create_tables(db: sqlite3.Connection) -> None:
    _execute_script(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE files (
            root TEXT NOT NULL,
            relpath TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            size INTEGER NOT NULL,
            indexed_at TEXT NOT NULL,
            PRIMARY KEY (root, relpath)
        );
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL UNIQUE,
            root TEXT NOT NULL,
            relpath TEXT NOT NULL,
            title TEXT NOT NULL,
            url TEXT,
            text TEXT NOT NULL,
            FOREIGN KEY (root, relpath) REFERENCES files (root, relpath) ON DELETE CASCADE
        );
        CREATE INDEX documents_file ON documents (root, relpath);
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            heading TEXT NOT NULL,
            text TEXT NOT NULL
        );
        CREATE INDEX chunks_document ON chunks (document_id);
        CREATE VIRTUAL TABLE chunks_fts USING fts5 (
            title, heading, body, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
        );
        CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab (chunks_fts, 'row');
        """,
    )
    weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
    db.execute(
        "INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('rank', ?)", (f"bm25({weights})",)
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_m001_create_tables,)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class KnowledgeBaseStats:
    documents: int
    chunks: int
    last_indexed_at: datetime | None


@dataclass(frozen=True, slots=True)
class SourceInfo:
    source: str
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class StoredDocument:
    source: str
    title: str
    url: str | None
    text: str


class Retriever(Protocol):
    """What answerers need from a knowledge base."""

    def search(
        self, query: str, limit: int = 5, source_prefix: str | None = None
    ) -> list[SearchHit]: ...

    def term_weights(self, terms: Sequence[str]) -> dict[str, float]: ...

    def synonyms(self) -> Synonyms: ...


def build_match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of ``terms``; each is quoted, so no FTS5 syntax leaks in."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _prefix_upper_bound(prefix: str) -> str:
    return prefix + "\U0010ffff"


def _content_version(read: Callable[[str], Sequence[Sequence[object]]]) -> int:
    """The number of indexing runs that changed chunks (0 before the first, or in a file
    written before the counter existed)."""
    rows = read("SELECT value FROM meta WHERE key = 'content_version'")
    return int(str(rows[0][0])) if rows else 0


class SqliteKnowledgeBase:
    """The embedded knowledge base in one SQLite file."""

    def __init__(
        self, path: Path, *, build_search_index_after: float | None = BUILD_SEARCH_INDEX_AFTER
    ) -> None:
        self.path = path
        self._local = threading.local()
        self._idf_cache: dict[str, float] = {}
        self._idf_generation = -1
        # The in-memory search index: replaced whole (never changed in place), so a search
        # reads it without a lock; None until built.
        self._search_index: ImpactIndex | None = None
        self._build_after = build_search_index_after
        self._fts_seconds = 0.0  # spent in FTS5 searches since the index was last built
        self._keep_current = False  # an index was built: rebuild it as soon as it is stale
        self._building = threading.Lock()  # held while a build runs
        # The team's synonyms file, when one is configured: questions are searched with them.
        self.synonyms_file: SynonymsFile | None = None

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = False,
        build_search_index_after: float | None = BUILD_SEARCH_INDEX_AFTER,
    ) -> SqliteKnowledgeBase:
        """Open the knowledge base at ``path``; with ``create``, make it when it is missing.

        ``build_search_index_after``: seconds of FTS5 searching before the in-memory search
        index is built in the background (None: never; :meth:`build_search_index` builds it
        at once). Raises KnowledgeBaseError with the next step when the file is missing or
        not ours.
        """
        if not path.exists() and not create:
            raise KnowledgeBaseError(
                f"no knowledge base at {path}: build one with `ledger-bot index PATH --db {path}`"
            )
        if path.is_dir():
            raise KnowledgeBaseError(f"{path} is a folder; --db needs a file path")
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise KnowledgeBaseError(f"cannot create {path.parent}: {exc.strerror}") from None
        kb = cls(path, build_search_index_after=build_search_index_after)
        kb._migrate()
        return kb

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 30000")
        except sqlite3.Error as exc:
            raise KnowledgeBaseError(f"cannot open knowledge base {self.path}: {exc}") from None
        return db

    def _migrate(self) -> None:
        db = self._connect()
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise KnowledgeBaseError(
                    f"{self.path} was written by a newer Ledger Bot (schema {version}); upgrade"
                )
            if version < SCHEMA_VERSION:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("BEGIN IMMEDIATE")
                for migration in MIGRATIONS[version:]:
                    migration(db)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute("COMMIT")
            db.execute("SELECT count(*) FROM documents").fetchone()
        except sqlite3.DatabaseError as exc:
            raise KnowledgeBaseError(
                f"{self.path} is not a readable Ledger Bot knowledge base ({exc}); "
                "move it away and re-run `ledger-bot index`"
            ) from None
        finally:
            db.close()

    @property
    def _reader(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            db.execute("PRAGMA query_only = ON")
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            cursor = self._reader.execute(sql, params)
            return cursor.fetchall()
        except sqlite3.DatabaseError as exc:
            raise KnowledgeBaseError(f"cannot read knowledge base {self.path}: {exc}") from None

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction: the reads inside see the same state of the file."""
        try:
            self._reader.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            raise KnowledgeBaseError(f"cannot read knowledge base {self.path}: {exc}") from None
        try:
            yield
        finally:
            self._reader.execute("COMMIT")

    # -- reading -------------------------------------------------------------------------

    def synonyms(self) -> Synonyms:
        """The current synonyms of the team's synonyms file (none without one)."""
        return NO_SYNONYMS if self.synonyms_file is None else self.synonyms_file.current()

    def search(
        self, query: str, limit: int = 5, source_prefix: str | None = None
    ) -> list[SearchHit]:
        """The chunks that best match ``query`` by BM25, best first. A query naming a group
        of the synonyms file is searched with the group's other words and phrases too."""
        terms = self.synonyms().expand(list(dict.fromkeys(analyze(query))))
        if not terms or limit < 1:
            return []
        with self._snapshot():
            version = _content_version(self._read)
            index = self._search_index
            if index is not None and index.version == version:
                return self._hits(index.top(terms, limit, source_prefix))
            started = time.perf_counter()
            hits = self._search_fts(terms, limit, source_prefix)
        if index is None or version > index.version:
            self._fts_seconds += time.perf_counter() - started
            # Rebuild at once an index that has proved its worth; build a first one only
            # once FTS5 has taken long enough to pay for it.
            if self._keep_current or (
                self._build_after is not None and self._fts_seconds >= self._build_after
            ):
                self._start_building()
        return hits

    def _hits(self, ranked: Sequence[tuple[int, float]]) -> list[SearchHit]:
        """The hits for (chunk id, score) pairs, in their order (inside a snapshot)."""
        rows: dict[int, sqlite3.Row] = {}
        ids = [chunk_id for chunk_id, _ in ranked]
        for start in range(0, len(ids), _IDS_PER_STATEMENT):
            part = ids[start : start + _IDS_PER_STATEMENT]
            placeholders = ",".join("?" * len(part))
            for row in self._read(
                "SELECT c.id, d.source, d.title, d.url, c.heading, c.text, c.ordinal"  # noqa: S608 - only placeholders are interpolated
                " FROM chunks c JOIN documents d ON d.id = c.document_id"
                f" WHERE c.id IN ({placeholders})",
                part,
            ):
                rows[row[0]] = row
        return [
            SearchHit(
                source=found[1],
                title=found[2],
                url=found[3],
                heading=found[4],
                text=found[5],
                ordinal=found[6],
                score=score,
                chunk_id=chunk_id,
            )
            for chunk_id, score in ranked
            # A chunk id the index ranks is in this snapshot (same content version).
            if (found := rows.get(chunk_id)) is not None
        ]

    def _search_fts(
        self, terms: Sequence[str], limit: int, source_prefix: str | None
    ) -> list[SearchHit]:
        """:meth:`search` by FTS5 alone: it computes bm25() for every row matching a term."""
        match = build_match_expression(terms)
        # bm25() spelt out rather than the configured `rank` column: the same order, and
        # measurably faster on large indexes (FTS5 computes it once per matching row).
        columns = "c.id, d.source, d.title, d.url, c.heading, c.text, c.ordinal, f.score"
        if source_prefix:
            rows = self._read(
                f"SELECT {columns} FROM"  # noqa: S608 - only constants are interpolated
                f" (SELECT rowid, {_BM25} AS score FROM chunks_fts WHERE chunks_fts MATCH ?) f"
                " JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document_id"
                " WHERE d.source >= ? AND d.source < ?"
                " ORDER BY f.score LIMIT ?",
                (match, source_prefix, _prefix_upper_bound(source_prefix), limit),
            )
        else:
            rows = self._read(
                f"SELECT {columns} FROM"  # noqa: S608 - only constants are interpolated
                f" (SELECT rowid, {_BM25} AS score FROM chunks_fts WHERE chunks_fts MATCH ?"
                "  ORDER BY score LIMIT ?) f"
                " JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document_id"
                " ORDER BY f.score",
                (match, limit),
            )
        return [
            SearchHit(
                source=row[1],
                title=row[2],
                url=row[3],
                heading=row[4],
                text=row[5],
                ordinal=row[6],
                score=-row[7],
                chunk_id=row[0],
            )
            for row in rows
        ]

    @property
    def search_index(self) -> ImpactIndex | None:
        """The in-memory search index searches use when it is current; None until built."""
        return self._search_index

    def build_search_index(self) -> ImpactIndex:
        """Build the in-memory search index now, in this thread, and use it from now on.

        Searches otherwise build it in the background (see :data:`BUILD_SEARCH_INDEX_AFTER`);
        a search running meanwhile uses FTS5. Returns the index (for its size and version).
        """
        with self._building:
            return self._build()

    def _start_building(self) -> None:
        if not self._building.acquire(blocking=False):
            return  # a build is already running
        try:
            threading.Thread(
                target=self._build_in_background, name="ledger-bot-search-index", daemon=True
            ).start()
        except BaseException:
            self._building.release()
            raise

    def _build_in_background(self) -> None:
        try:
            self._build()
        except Exception:
            # A failed build drops the stale index: searches use FTS5, and build again only
            # once they have taken BUILD_SEARCH_INDEX_AFTER seconds more.
            self._search_index = None
            self._keep_current = False
            log.warning(
                "building the in-memory search index failed; searching with FTS5", exc_info=True
            )
        finally:
            self._building.release()

    def _build(self) -> ImpactIndex:
        from ledger_bot.impact_index import build_impact_index  # numpy: imported when needed

        started = time.perf_counter()
        db = self._connect()
        try:
            db.execute("PRAGMA query_only = ON")
            db.execute("BEGIN")
            version = _content_version(lambda sql: db.execute(sql).fetchall())
            stale = self._search_index
            if stale is not None and stale.version < version:
                # No search uses it any more: free it before building the next one.
                self._search_index = None
                del stale
            index = build_impact_index(db, version, BM25_WEIGHTS)
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise KnowledgeBaseError(f"cannot read knowledge base {self.path}: {exc}") from None
        finally:
            self._fts_seconds = 0.0
            db.close()
        current = self._search_index
        if current is None or current.version <= version:
            self._search_index = index
        self._keep_current = True
        log.info(
            "search index built",
            extra={
                "chunks": index.size,
                "version": version,
                "seconds": round(time.perf_counter() - started, 3),
                "mib": round(index.nbytes / 2**20, 1),
            },
        )
        return index

    def search_documents(
        self, query: str, limit: int = 10, source_prefix: str | None = None
    ) -> list[SearchHit]:
        """Like :meth:`search`, but at most one hit (the best chunk) per source."""
        best: dict[str, SearchHit] = {}
        want = limit * 3
        while True:
            hits = self.search(query, want, source_prefix)
            best = {}
            for hit in hits:
                best.setdefault(hit.source, hit)
            if len(best) >= limit or len(hits) < want:
                return list(best.values())[:limit]
            want *= 2

    def term_weights(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of each index term (a term no chunk holds weighs most)."""
        generation = self._generation()
        if generation != self._idf_generation:
            self._idf_cache = {}
            self._idf_generation = generation
        missing = [term for term in dict.fromkeys(terms) if term not in self._idf_cache]
        if missing:
            total = max(self.stats().chunks, 1)
            placeholders = ",".join("?" * len(missing))
            rows = self._read(
                f"SELECT term, doc FROM chunks_vocab WHERE term IN ({placeholders})",  # noqa: S608
                missing,
            )
            found: dict[str, int] = {row[0]: row[1] for row in rows}
            for term in missing:
                frequency = found.get(term, 0)
                self._idf_cache[term] = math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))
        return {term: self._idf_cache[term] for term in terms}

    def unknown_terms(self, terms: Sequence[str]) -> set[str]:
        """The index terms of ``terms`` that no chunk holds and no group of the synonyms file
        names: words the knowledge base has nothing for."""
        wanted = list(dict.fromkeys(terms))
        known: set[str] = set()
        for start in range(0, len(wanted), 500):  # well under SQLite's limit of parameters
            batch = wanted[start : start + 500]
            placeholders = ",".join("?" * len(batch))
            rows = self._read(
                f"SELECT term FROM chunks_vocab WHERE term IN ({placeholders})",  # noqa: S608
                batch,
            )
            known.update(str(row[0]) for row in rows)
        synonyms = self.synonyms()
        return {term for term in wanted if term not in known and not synonyms.match([term])}

    def _generation(self) -> int:
        """Changes whenever an indexing run changes chunks: the file's ``content_version``.

        Not SQLite's ``PRAGMA data_version``, which counts per connection: each thread has its
        own, so a number one thread cached could match another thread's after a change.
        """
        return _content_version(self._read)

    def stats(self) -> KnowledgeBaseStats:
        documents, chunks = self._read(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)"
        )[0]
        rows = self._read("SELECT value FROM meta WHERE key = 'last_indexed_at'")
        last = rows[0][0] if rows else None
        return KnowledgeBaseStats(
            documents=documents,
            chunks=chunks,
            last_indexed_at=datetime.fromisoformat(last) if last else None,
        )

    def get_document(self, source: str) -> StoredDocument | None:
        rows = self._read(
            "SELECT source, title, url, text FROM documents WHERE source = ?", (source,)
        )
        return StoredDocument(*rows[0]) if rows else None

    def list_sources(
        self, prefix: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[SourceInfo]:
        """Sources in id order, optionally under ``prefix`` and strictly after ``after``."""
        low = max(prefix or "", after or "")
        high = _prefix_upper_bound(prefix) if prefix else "\U0010ffff"
        op = ">" if after is not None and after >= (prefix or "") else ">="
        rows = self._read(
            f"SELECT source, title, url FROM documents WHERE source {op} ? AND source < ?"  # noqa: S608 - only placeholders are interpolated
            " ORDER BY source LIMIT ?",
            (low, high, limit),
        )
        return [SourceInfo(*row) for row in rows]

    def file_hashes(self, root: str) -> dict[str, str]:
        rows = self._read("SELECT relpath, content_hash FROM files WHERE root = ?", (root,))
        return {row[0]: row[1] for row in rows}

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[KnowledgeBaseWriter]:
        """One write transaction: everything inside commits together or not at all."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            writer = KnowledgeBaseWriter(db)
            try:
                yield writer
                if writer.changed:
                    writer.bump_content_version()
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise KnowledgeBaseError(f"cannot write knowledge base {self.path}: {exc}") from None
        finally:
            db.close()


class KnowledgeBaseWriter:
    """Write operations inside one transaction (see :meth:`SqliteKnowledgeBase.writer`)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.changed = False  # whether any chunk was removed or added

    def bump_content_version(self) -> None:
        """Mark the chunks as changed, so in-memory search indexes of them are rebuilt."""
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('content_version', '1')"
            " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def source_owner(self, source: str) -> tuple[str, str] | None:
        row = self._db.execute(
            "SELECT root, relpath FROM documents WHERE source = ?", (source,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def remove_file(self, root: str, relpath: str) -> None:
        self.changed = True
        self._db.execute(
            "DELETE FROM chunks_fts WHERE rowid IN (SELECT c.id FROM chunks c"
            " JOIN documents d ON d.id = c.document_id WHERE d.root = ? AND d.relpath = ?)",
            (root, relpath),
        )
        self._db.execute("DELETE FROM files WHERE root = ? AND relpath = ?", (root, relpath))

    def replace_file(
        self,
        root: str,
        relpath: str,
        content_hash: str,
        size: int,
        documents: Sequence[tuple[Document, Sequence[Chunk]]],
    ) -> None:
        """Store one file's documents and chunks in place of what it held before."""
        self.remove_file(root, relpath)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self._db.execute(
            "INSERT INTO files (root, relpath, content_hash, size, indexed_at) VALUES (?,?,?,?,?)",
            (root, relpath, content_hash, size, now),
        )
        for document, chunks in documents:
            cursor = self._db.execute(
                "INSERT INTO documents (source, root, relpath, title, url, text)"
                " VALUES (?,?,?,?,?,?)",
                (document.source, root, relpath, document.title, document.url, document.text),
            )
            document_id = cursor.lastrowid
            title_terms = " ".join(analyze(document.title))
            for chunk in chunks:
                chunk_cursor = self._db.execute(
                    "INSERT INTO chunks (document_id, ordinal, heading, text) VALUES (?,?,?,?)",
                    (document_id, chunk.ordinal, chunk.heading, chunk.text),
                )
                self._db.execute(
                    "INSERT INTO chunks_fts (rowid, title, heading, body) VALUES (?,?,?,?)",
                    (
                        chunk_cursor.lastrowid,
                        title_terms,
                        " ".join(analyze(chunk.heading)),
                        " ".join(analyze(chunk.text)),
                    ),
                )

    def file_hashes(self, root: str) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT relpath, content_hash FROM files WHERE root = ?", (root,)
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def mark_indexed(self, at: datetime) -> None:
        """Record when the indexing run that read the files started, even if nothing changed."""
        now = at.isoformat(timespec="microseconds")
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('last_indexed_at', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (now,),
        )
