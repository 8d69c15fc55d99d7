"""Keeping the knowledge base in step with its sources while ``ledger-bot serve`` runs.

:class:`KnowledgeSync` re-indexes ``LEDGER_BOT_SOURCES`` when a cheap fingerprint of the files
(path, mtime, size, inode — no reading, no hashing) changes, and in full every
``LEDGER_BOT_SYNC_INTERVAL`` seconds. Indexing runs in a worker thread as one transaction, so
searches keep answering from the previous state until it commits, and a failed sync leaves
that state as it was.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ledger_bot.errors import LedgerBotError
from ledger_bot.indexer import IndexReport, index_paths
from ledger_bot.ingest import discover
from ledger_bot.ingest.discover import absolute
from ledger_bot.knowledge_base import SqliteKnowledgeBase

log = logging.getLogger(__name__)

# (root, relpath, mtime_ns, size, inode) of every file that would be indexed, in order.
Fingerprint = tuple[tuple[str, str, int, int, int], ...]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """How one sync went: ``report`` when it ran to its commit, ``error`` when it did not."""

    ok: bool
    at: datetime  # aware UTC, when the sync finished
    report: IndexReport | None
    error: str | None = None


class KnowledgeSync:
    """Keeps ``kb`` in step with ``sources`` while the server runs.

    Sources are re-indexed when they change (checked every ``poll`` seconds) and in full
    every ``interval`` seconds; 0 turns either trigger off. ``on_result`` is called on the event
    loop after every sync, successful or not (to update metrics, say).
    """

    def __init__(
        self,
        kb: SqliteKnowledgeBase,
        sources: Sequence[Path],
        *,
        exclude: Sequence[Path] = (),
        base_url: str | None,
        chunk_chars: int,
        max_file_bytes: int,
        interval: float,
        poll: float,
        on_result: Callable[[SyncResult], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kb = kb
        self._sources = tuple(Path(source) for source in sources)
        self._exclude = tuple(exclude)
        self._base_url = base_url
        self._chunk_chars = chunk_chars
        self._max_file_bytes = max_file_bytes
        self._interval = interval
        self._poll = poll
        self._on_result = on_result
        self._clock = clock
        self._lock = asyncio.Lock()
        # Held by the worker thread for the whole of index_paths: a sync whose caller was
        # cancelled keeps running in its thread, and the next one must wait for it.
        self._thread_lock = threading.Lock()
        # Syncs are numbered as they start; a caller may share a sync numbered after it asked.
        self._started = 0
        self._last_result: SyncResult | None = None
        self._last_number = 0  # the number of the sync that gave last_result
        self._synced_fingerprint: Fingerprint | None = None
        self._ready = not self._sources and kb.stats().documents > 0

    @property
    def ready(self) -> bool:
        """Whether the index may be served: a sync succeeded, or it was found current.

        With no sources configured, an index that already holds documents is ready at start.
        A failed sync after a successful one keeps it ready (the previous index is served).
        """
        return self._ready

    @property
    def syncing(self) -> bool:
        """Whether a sync is running now (including one whose caller was cancelled)."""
        return self._lock.locked() or self._thread_lock.locked()

    @property
    def last_result(self) -> SyncResult | None:
        return self._last_result

    def needs_initial_sync(self) -> bool:
        """Whether the index is missing, empty or behind its sources (blocking; cheap).

        Behind means a source file was modified after the last indexing run, a file is not
        indexed, or an indexed file is gone from a source folder. A file that fails to parse
        is never indexed, so while one exists this stays true; the sync it asks for is cheap.
        """
        try:
            if not self._sources:
                return False
            stats = self._kb.stats()
            if stats.documents == 0 or stats.last_indexed_at is None:
                return True
            # last_indexed_at is when the last run started reading files: anything modified
            # since may not be in the index. A spare sync is cheap; a missed change would be
            # served until the next full sync.
            indexed_at_ns = round(stats.last_indexed_at.timestamp() * 1_000_000) * 1_000
            found, _ = discover(self._sources, self._exclude)
            wanted: dict[str, set[str]] = {}
            for item in found:
                try:
                    status = item.path.stat()
                except OSError:
                    return True
                if status.st_mtime_ns >= indexed_at_ns:
                    return True
                wanted.setdefault(str(item.root), set()).add(item.relpath)
            folders = {str(absolute(source)) for source in self._sources if source.is_dir()}
            for root in folders | set(wanted):
                indexed = set(self._kb.file_hashes(root))
                expected = wanted.get(root, set())
                if not expected <= indexed or (root in folders and indexed != expected):
                    return True
            return False
        finally:
            self._close_thread_reader()

    async def sync_now(self) -> SyncResult:
        """Index the sources now, in a worker thread; never raises (see ``SyncResult.error``).

        One sync runs at a time. A caller that arrives while one runs waits, and then shares
        the result of a sync that started after it arrived, or runs one itself.
        """
        arrived = self._started
        async with self._lock:
            if self._last_result is not None and self._last_number > arrived:
                return self._last_result
            self._started += 1
            number = self._started
            try:
                fingerprint, report = await asyncio.to_thread(self._index)
            except Exception as exc:
                if isinstance(exc, LedgerBotError):
                    error = str(exc)
                    log.error("knowledge base sync failed: %s", error)
                else:
                    error = f"{type(exc).__name__}: {exc}"
                    log.exception("knowledge base sync failed")
                result = SyncResult(ok=False, at=datetime.now(UTC), report=None, error=error)
            else:
                self._synced_fingerprint = fingerprint
                self._ready = True
                result = SyncResult(ok=True, at=datetime.now(UTC), report=report)
                _log_report(report)
            self._last_result, self._last_number = result, number
            self._notify(result)
            return result

    async def run(self) -> None:
        """Sync on start when needed, then on change and on the timer, until cancelled.

        Returns at once when there is nothing to watch (no sources, or poll and interval 0).
        Cancelling it while a sync runs returns promptly; the sync finishes in its thread
        (or rolls back), so the index is never left half written.
        """
        if not self._sources:
            return
        try:
            fingerprint, stale = await asyncio.to_thread(self._startup_check)
        except Exception:
            log.exception("knowledge base sync: cannot check the index; syncing")
            fingerprint, stale = (), True
        if stale:
            await self.sync_now()
        else:
            self._synced_fingerprint = fingerprint
            self._ready = True
        if self._poll <= 0 and self._interval <= 0:
            return
        now = self._clock()
        next_full = now + self._interval if self._interval > 0 else None
        next_poll = now + self._poll if self._poll > 0 else None
        while True:
            wake = min(t for t in (next_full, next_poll) if t is not None)
            await asyncio.sleep(max(0.0, wake - self._clock()))
            if next_full is not None and self._clock() >= next_full:
                await self.sync_now()
                next_full = self._clock() + self._interval
            elif next_poll is not None and self._clock() >= next_poll:
                await self._sync_if_changed()
            if next_poll is not None:
                next_poll = self._clock() + self._poll

    async def _sync_if_changed(self) -> None:
        try:
            changed = await asyncio.to_thread(self.fingerprint) != self._synced_fingerprint
        except Exception:
            log.exception("knowledge base sync: cannot list the sources")
            return
        if changed:
            log.info("knowledge base sources changed; syncing")
            await self.sync_now()

    def fingerprint(self) -> Fingerprint:
        """What the sources hold now, from directory listings and stat only (blocking)."""
        found, _ = discover(self._sources, self._exclude)
        entries = []
        for item in found:
            try:
                status = item.path.stat()
            except OSError:
                continue  # vanished since it was listed; the next poll sees the change
            entries.append(
                (str(item.root), item.relpath, status.st_mtime_ns, status.st_size, status.st_ino)
            )
        return tuple(entries)

    # -- worker-thread side --------------------------------------------------------------

    def _startup_check(self) -> tuple[Fingerprint, bool]:
        # Fingerprint first: a change made during the check is then seen by the next poll.
        fingerprint = self.fingerprint()
        return fingerprint, self.needs_initial_sync()

    def _index(self) -> tuple[Fingerprint, IndexReport]:
        with self._thread_lock:
            try:
                # Taken before indexing: a change made during the run differs from it, so
                # the next poll syncs again instead of missing it.
                fingerprint = self.fingerprint()
                report = index_paths(
                    self._kb,
                    self._sources,
                    exclude=self._exclude,
                    base_url=self._base_url,
                    chunk_chars=self._chunk_chars,
                    max_file_bytes=self._max_file_bytes,
                )
                return fingerprint, report
            finally:
                self._close_thread_reader()

    def _close_thread_reader(self) -> None:
        """Close the reader connection this (worker) thread opened on the knowledge base."""
        self._kb.close()

    def _notify(self, result: SyncResult) -> None:
        if self._on_result is None:
            return
        try:
            self._on_result(result)
        except Exception:
            log.exception("knowledge base sync: on_result callback failed")


def _log_report(report: IndexReport) -> None:
    changed = report.added or report.updated or report.removed or report.failed
    log.log(
        logging.INFO if changed else logging.DEBUG,
        "knowledge base synced",
        extra={
            "added": len(report.added),
            "updated": len(report.updated),
            "removed": len(report.removed),
            "unchanged": len(report.unchanged),
            "failed": len(report.failed),
            "seconds": round(report.seconds, 3),
        },
    )
    for failure in report.failed:
        log.warning("not indexed: %s: %s", failure.path, failure.reason)
