from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.sync import KnowledgeSync, SyncResult
from tests.conftest import write

HOUR_AGO = time.time() - 3600


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[SqliteKnowledgeBase]:
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    yield kb
    kb.close()


def make_sync(kb: SqliteKnowledgeBase, *sources: Path, **options: Any) -> KnowledgeSync:
    settings: dict[str, Any] = {
        "base_url": None,
        "chunk_chars": 1200,
        "max_file_bytes": 1_000_000,
        "interval": 0,
        "poll": 0,
    }
    settings.update(options)
    return KnowledgeSync(kb, list(sources), **settings)


def age(*paths: Path) -> None:
    """Date files an hour back: the index records its time only to the second."""
    for path in paths:
        os.utime(path, (HOUR_AGO, HOUR_AGO))


def found(kb: SqliteKnowledgeBase, query: str) -> list[str]:
    return sorted(hit.source for hit in kb.search(query, limit=100))


async def eventually(condition: Callable[[], object], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def running() -> AsyncIterator[list[asyncio.Task[None]]]:
    """Tasks started by a test, cancelled and awaited at its end."""
    tasks: list[asyncio.Task[None]] = []
    yield tasks
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def fail_writes(db: Path) -> None:
    """Make every indexing run fail at its end, as a full disk would."""
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(
            "CREATE TRIGGER fail_writes BEFORE INSERT ON meta"
            " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        conn.commit()


async def test_initial_sync_indexes_the_sources(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "# A\n\nalpha")
    write(docs, "sub/b.md", "# B\n\nbravo")
    result = await make_sync(kb, docs).sync_now()
    assert result.report is not None
    assert (result.ok, sorted(result.report.added), found(kb, "bravo")) == (
        True,
        ["a.md", "sub/b.md"],
        ["sub/b.md"],
    )


async def test_result_time_is_aware_utc(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    result = await make_sync(kb, docs).sync_now()
    assert result.at.tzinfo is UTC


async def test_empty_index_needs_initial_sync(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    assert make_sync(kb, docs).needs_initial_sync() is True


async def test_index_is_current_after_initial_sync(kb: SqliteKnowledgeBase, docs: Path) -> None:
    age(write(docs, "a.md", "alpha"), write(docs, "b.md", "bravo"))
    sync = make_sync(kb, docs)
    await sync.sync_now()
    assert sync.needs_initial_sync() is False


async def test_file_modified_after_the_index_makes_it_stale(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    path = write(docs, "a.md", "alpha")
    age(path)
    sync = make_sync(kb, docs)
    await sync.sync_now()
    os.utime(path)  # modified now, after the index was written
    assert sync.needs_initial_sync() is True


async def test_new_old_file_makes_the_index_stale(kb: SqliteKnowledgeBase, docs: Path) -> None:
    age(write(docs, "a.md", "alpha"))
    sync = make_sync(kb, docs)
    await sync.sync_now()
    age(write(docs, "b.md", "bravo"))  # e.g. restored from an archive with its old date
    assert sync.needs_initial_sync() is True


async def test_deleted_file_makes_the_index_stale(kb: SqliteKnowledgeBase, docs: Path) -> None:
    age(write(docs, "a.md", "alpha"), gone := write(docs, "b.md", "bravo"))
    sync = make_sync(kb, docs)
    await sync.sync_now()
    gone.unlink()
    assert sync.needs_initial_sync() is True


async def test_no_sources_never_need_a_sync(kb: SqliteKnowledgeBase) -> None:
    assert make_sync(kb).needs_initial_sync() is False


async def test_changed_file_is_picked_up_by_polling(
    kb: SqliteKnowledgeBase, docs: Path, running: list[asyncio.Task[None]]
) -> None:
    path = write(docs, "a.md", "# A\n\nalpha")
    sync = make_sync(kb, docs, poll=0.05)
    running.append(asyncio.create_task(sync.run()))
    await eventually(lambda: sync.ready)
    path.write_text("# A\n\nbravo charlie")
    await eventually(lambda: found(kb, "bravo"))
    assert found(kb, "alpha") == []


async def test_deleted_file_is_removed_by_polling(
    kb: SqliteKnowledgeBase, docs: Path, running: list[asyncio.Task[None]]
) -> None:
    write(docs, "a.md", "alpha")
    gone = write(docs, "b.md", "bravo")
    sync = make_sync(kb, docs, poll=0.05)
    running.append(asyncio.create_task(sync.run()))
    await eventually(lambda: found(kb, "bravo"))
    gone.unlink()
    await eventually(lambda: not found(kb, "bravo"))
    assert [source.source for source in kb.list_sources()] == ["a.md"]


async def test_interval_sync_finds_changes_polling_cannot_see(
    kb: SqliteKnowledgeBase, docs: Path, running: list[asyncio.Task[None]]
) -> None:
    path = write(docs, "a.md", "alpha")
    sync = make_sync(kb, docs, interval=0.05)
    await sync.sync_now()
    before = sync.fingerprint()
    status = path.stat()
    path.write_text("bravo")  # same size, and the same mtime again below
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert sync.fingerprint() == before
    running.append(asyncio.create_task(sync.run()))
    await eventually(lambda: found(kb, "bravo"))


async def test_unchanged_sources_are_not_synced_by_polling(
    kb: SqliteKnowledgeBase, docs: Path, running: list[asyncio.Task[None]]
) -> None:
    write(docs, "a.md", "alpha")
    results: list[SyncResult] = []
    sync = make_sync(kb, docs, poll=0.02, on_result=results.append)
    running.append(asyncio.create_task(sync.run()))
    await asyncio.sleep(0.2)
    assert len(results) == 1  # the initial sync only


async def test_failed_sync_reports_the_error_and_keeps_the_old_index(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    path = write(docs, "a.md", "alpha")
    sync = make_sync(kb, docs)
    await sync.sync_now()
    fail_writes(kb.path)
    path.write_text("bravo")
    result = await sync.sync_now()
    assert (result.ok, result.report, found(kb, "alpha"), found(kb, "bravo")) == (
        False,
        None,
        ["a.md"],
        [],
    )
    assert result.error is not None and "database or disk is full" in result.error


async def test_failed_sync_is_logged(
    kb: SqliteKnowledgeBase, docs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(docs, "a.md", "alpha")
    fail_writes(kb.path)
    await make_sync(kb, docs).sync_now()
    assert [record.levelname for record in caplog.records if "failed" in record.message] == [
        "ERROR"
    ]


async def test_vanished_source_folder_removes_nothing(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    sync = make_sync(kb, docs)
    await sync.sync_now()
    shutil.rmtree(docs)  # an unmounted volume
    result = await sync.sync_now()
    assert result.report is not None
    assert (result.ok, [f.reason for f in result.report.failed], found(kb, "alpha")) == (
        True,
        ["not found"],
        ["a.md"],
    )


async def test_on_result_gets_every_result(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    results: list[SyncResult] = []
    sync = make_sync(kb, docs, on_result=results.append)
    await sync.sync_now()
    fail_writes(kb.path)
    await sync.sync_now()
    assert ([r.ok for r in results], sync.last_result) == ([True, False], results[-1])


async def test_failing_on_result_does_not_fail_the_sync(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    def broken(result: SyncResult) -> None:
        raise RuntimeError("metrics are down")

    write(docs, "a.md", "alpha")
    result = await make_sync(kb, docs, on_result=broken).sync_now()
    assert result.ok is True


async def test_concurrent_callers_share_a_sync_started_after_they_asked(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    write(docs, "a.md", "alpha")
    results: list[SyncResult] = []
    sync = make_sync(kb, docs, on_result=results.append)
    first, second, third = await asyncio.gather(sync.sync_now(), sync.sync_now(), sync.sync_now())
    # The second and third asked while the first ran: one more sync serves them both.
    assert (len(results), first is second, second is third) == (2, False, True)


async def test_not_ready_before_the_first_sync(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    assert make_sync(kb, docs).ready is False


async def test_ready_after_the_first_sync(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    sync = make_sync(kb, docs)
    await sync.sync_now()
    assert sync.ready is True


async def test_ready_at_start_with_documents_and_no_sources(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    write(docs, "a.md", "alpha")
    await make_sync(kb, docs).sync_now()
    assert make_sync(kb).ready is True


async def test_not_ready_with_an_empty_index_and_no_sources(kb: SqliteKnowledgeBase) -> None:
    assert make_sync(kb).ready is False


async def test_not_ready_when_the_first_sync_fails(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    fail_writes(kb.path)
    sync = make_sync(kb, docs)
    await sync.sync_now()
    assert sync.ready is False


async def test_still_ready_when_a_later_sync_fails(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    sync = make_sync(kb, docs)
    await sync.sync_now()
    fail_writes(kb.path)
    await sync.sync_now()
    assert sync.ready is True


async def test_run_marks_a_current_index_ready_without_syncing(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    age(write(docs, "a.md", "alpha"))
    await make_sync(kb, docs).sync_now()
    restarted = make_sync(kb, docs)
    await restarted.run()  # poll and interval are 0: it returns after the start-up check
    assert (restarted.ready, restarted.last_result) == (True, None)


async def test_run_syncs_a_stale_index_at_start(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    sync = make_sync(kb, docs)
    await sync.run()
    assert (sync.ready, found(kb, "alpha")) == (True, ["a.md"])


async def test_run_returns_at_once_without_sources(kb: SqliteKnowledgeBase) -> None:
    await asyncio.wait_for(make_sync(kb, poll=0.01, interval=0.01).run(), timeout=1)


async def test_cancelling_run_mid_sync_returns_promptly_and_keeps_the_index_whole(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    for number in range(20):
        write(docs, f"doc{number}.md", f"# Doc {number}\n\nalpha {number}")
    sync = make_sync(kb, docs, poll=0.05)
    with closing(sqlite3.connect(kb.path, isolation_level=None)) as other_writer:
        other_writer.execute("BEGIN IMMEDIATE")  # the sync's transaction has to wait for it
        task = asyncio.create_task(sync.run())
        await eventually(lambda: sync.syncing)
        await asyncio.sleep(0.1)
        task.cancel()
        cancelled_at = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - cancelled_at < 0.5
        assert kb.stats().documents == 0
        other_writer.execute("ROLLBACK")
    # The abandoned sync finishes in its thread; the next one waits for it, then finds no work.
    result = await sync.sync_now()
    assert result.report is not None
    assert (len(result.report.unchanged), kb.stats().documents) == (20, 20)
    with closing(sqlite3.connect(kb.path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


async def test_searches_during_a_sync_see_the_old_or_the_new_index(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    count = 200
    filler = "\n\n".join(f"Paragraph {n} of filler text about ledgers." for n in range(30))
    for number in range(count):
        write(docs, f"doc{number:03}.md", f"# Doc {number}\n\nalpha\n\n{filler}")
    sync = make_sync(kb, docs)
    await sync.sync_now()
    for number in range(count):
        write(docs, f"doc{number:03}.md", f"# Doc {number}\n\nbravo\n\n{filler}")

    seen: list[tuple[frozenset[str], int]] = []
    errors: list[BaseException] = []
    first_read, stop = threading.Event(), threading.Event()

    def observe() -> None:
        hits = kb.search("alpha bravo", limit=count * 2)
        words = frozenset(w for hit in hits for w in ("alpha", "bravo") if w in hit.text)
        seen.append((words, len(hits)))

    def search_until_stopped() -> None:
        try:
            observe()
            first_read.set()
            while not stop.is_set():
                observe()
            observe()
        except BaseException as exc:
            errors.append(exc)
        finally:
            first_read.set()
            kb.close()

    reader = threading.Thread(target=search_until_stopped)
    reader.start()
    first_read.wait()
    result = await sync.sync_now()
    stop.set()
    await asyncio.to_thread(reader.join)

    old, new = (frozenset({"alpha"}), count), (frozenset({"bravo"}), count)
    assert (result.ok, errors, set(seen)) == (True, [], {old, new})
    assert len(seen) > 3


async def test_callers_waiting_behind_a_cancelled_sync_get_a_fresh_one(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    write(docs, "a.md", "alpha")
    with closing(sqlite3.connect(kb.path, isolation_level=None)) as other_writer:
        results: list[SyncResult] = []

        def block_writes_after_first_sync(result: SyncResult) -> None:
            results.append(result)
            if len(results) == 1:
                other_writer.execute("BEGIN IMMEDIATE")

        sync = make_sync(kb, docs, on_result=block_writes_after_first_sync)
        first = asyncio.create_task(sync.sync_now())
        cancelled = asyncio.create_task(sync.sync_now())  # asks while the first runs
        waiting = asyncio.create_task(sync.sync_now())  # likewise
        earlier = await first
        await asyncio.sleep(0.05)  # the second sync now waits for the database
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        other_writer.execute("ROLLBACK")
        result = await waiting
    assert (result is earlier, result.ok) == (False, True)
