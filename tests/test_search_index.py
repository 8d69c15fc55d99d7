"""The in-memory search index ranks exactly as FTS5's bm25() does, and follows the file."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger_bot.documents import SearchHit
from ledger_bot.impact_index import ImpactIndex
from ledger_bot.indexer import index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from tests.conftest import REPO, child_environment, write

SAMPLE_EVAL = REPO / "tests" / "data" / "sample_eval.jsonl"
ODD_QUERIES = (
    "what is it and how do I do that?",  # only stop words
    "?!… -- ** () \"'",  # only punctuation
    'rollback" OR NOT (* NEAR "x',  # FTS5 syntax
    "Café naïve 日本語 Ελληνικά ledger",  # accents and other scripts
    " ".join(["reversal", "idempotency", "ledger", "posting", "account"] * 400),  # very long
    "exceeds_credits idempotency_key_reused",  # whole identifiers
)


def sample_questions() -> list[str]:
    with SAMPLE_EVAL.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    return [str(record["question"]) for record in records if "question" in record]


def ranking(hits: list[SearchHit]) -> list[tuple[str, int, float]]:
    return [(hit.source, hit.chunk_id, hit.score) for hit in hits]


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def fts_kb(sample_db: Path) -> Iterator[SqliteKnowledgeBase]:
    """The sample knowledge base searched by FTS5 alone."""
    kb = SqliteKnowledgeBase.open(sample_db, build_search_index_after=None)
    yield kb
    kb.close()


@pytest.fixture
def indexed_kb(sample_db: Path) -> Iterator[SqliteKnowledgeBase]:
    """The sample knowledge base with its in-memory search index built."""
    kb = SqliteKnowledgeBase.open(sample_db, build_search_index_after=None)
    kb.build_search_index()
    yield kb
    kb.close()


@pytest.fixture
def small_kb(tmp_path: Path, docs: Path) -> Iterator[SqliteKnowledgeBase]:
    write(docs, "runbooks/paging.md", "# Paging\n\n## Escalation\n\nPage the secondary.\n")
    write(docs, "runbooks/deploys.md", "# Deploys\n\nRoll back with `make rollback`.\n")
    write(docs, "api/errors.md", "# Errors\n\nexceeds_credits: the debit is too large.\n")
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True, build_search_index_after=None)
    index_paths(kb, [docs])
    yield kb
    kb.close()


@pytest.mark.parametrize("limit", [1, 5, 50])
def test_index_ranks_every_sample_question_exactly_as_fts5(
    fts_kb: SqliteKnowledgeBase, indexed_kb: SqliteKnowledgeBase, limit: int
) -> None:
    for question in sample_questions():
        assert ranking(indexed_kb.search(question, limit)) == ranking(
            fts_kb.search(question, limit)
        ), question


@pytest.mark.parametrize("prefix", ["api/", "runbooks/", "faq", "no-such-folder/"])
def test_index_restricts_to_a_source_prefix_as_fts5_does(
    fts_kb: SqliteKnowledgeBase, indexed_kb: SqliteKnowledgeBase, prefix: str
) -> None:
    for question in sample_questions():
        hits = indexed_kb.search(question, 10, source_prefix=prefix)
        assert all(hit.source.startswith(prefix) for hit in hits)
        assert ranking(hits) == ranking(fts_kb.search(question, 10, source_prefix=prefix))


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_query_gets_what_fts5_gives(
    fts_kb: SqliteKnowledgeBase, indexed_kb: SqliteKnowledgeBase, query: str
) -> None:
    assert ranking(indexed_kb.search(query, 5)) == ranking(fts_kb.search(query, 5))


def test_question_of_only_stop_words_finds_nothing_in_the_index(
    indexed_kb: SqliteKnowledgeBase,
) -> None:
    assert indexed_kb.search("what is it and how do I do that?") == []


def test_search_documents_gives_one_hit_per_source_as_fts5_does(
    fts_kb: SqliteKnowledgeBase, indexed_kb: SqliteKnowledgeBase
) -> None:
    for question in sample_questions():
        assert ranking(indexed_kb.search_documents(question, 10)) == ranking(
            fts_kb.search_documents(question, 10)
        )


def test_index_of_an_empty_knowledge_base_finds_nothing(tmp_path: Path) -> None:
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    index = kb.build_search_index()
    assert (index.size, kb.search("ledger", 5)) == (0, [])


def test_index_holds_one_row_per_chunk(indexed_kb: SqliteKnowledgeBase) -> None:
    index = indexed_kb.search_index
    assert isinstance(index, ImpactIndex)
    assert index.size == indexed_kb.stats().chunks == 207


def test_new_document_is_found_at_once_after_indexing(
    small_kb: SqliteKnowledgeBase, docs: Path
) -> None:
    small_kb.build_search_index()
    write(docs, "runbooks/freeze.md", "# Freeze\n\nNo deploys during the quarterly freeze.\n")
    index_paths(small_kb, [docs])
    assert [hit.source for hit in small_kb.search("quarterly freeze", 5)] == ["runbooks/freeze.md"]


def test_indexing_run_that_changes_chunks_rebuilds_the_index(
    small_kb: SqliteKnowledgeBase, docs: Path
) -> None:
    first = small_kb.build_search_index()
    (docs / "runbooks" / "deploys.md").unlink()
    index_paths(small_kb, [docs])
    small_kb.search("rollback", 5)  # the stale index is seen and rebuilt in the background
    wait_for(lambda: small_kb.search_index not in (None, first))
    index = small_kb.search_index
    assert index is not None
    assert (index.version, index.size) == (first.version + 1, 2)
    assert small_kb.search("rollback", 5) == []


def test_indexing_run_that_changes_nothing_keeps_the_index(
    small_kb: SqliteKnowledgeBase, docs: Path
) -> None:
    first = small_kb.build_search_index()
    index_paths(small_kb, [docs])
    small_kb.search("rollback", 5)
    assert small_kb.search_index is first


def test_index_is_built_in_the_background_once_fts5_has_taken_long_enough(
    sample_db: Path,
) -> None:
    kb = SqliteKnowledgeBase.open(sample_db, build_search_index_after=0.0)
    kb.search("reversal", 5)
    wait_for(lambda: kb.search_index is not None)
    kb.close()


def test_a_few_searches_do_not_build_the_index(sample_kb: SqliteKnowledgeBase) -> None:
    for question in sample_questions()[:5]:
        sample_kb.search(question, 5)
    assert sample_kb.search_index is None


def test_searching_a_small_knowledge_base_does_not_import_numpy(sample_db: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ledger_bot.knowledge_base import SqliteKnowledgeBase\n"
        f"kb = SqliteKnowledgeBase.open(Path({str(sample_db)!r}))\n"
        "assert kb.search('how do I reverse a posting', 5)\n"
        "print('numpy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=child_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_searches_from_many_threads_while_the_index_is_built_agree_with_fts5(
    sample_db: Path, fts_kb: SqliteKnowledgeBase
) -> None:
    questions = sample_questions()
    expected = {question: ranking(fts_kb.search(question, 5)) for question in questions}
    kb = SqliteKnowledgeBase.open(sample_db, build_search_index_after=None)
    failures: list[str] = []

    def ask_all() -> None:
        for _ in range(3):
            for question in questions:
                if ranking(kb.search(question, 5)) != expected[question]:
                    failures.append(question)
        kb.close()

    threads = [threading.Thread(target=ask_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    kb.build_search_index()
    for thread in threads:
        thread.join()
    assert failures == []
    assert kb.search_index is not None


def test_searches_during_indexing_runs_see_each_run_once_it_commits(
    small_kb: SqliteKnowledgeBase, docs: Path
) -> None:
    small_kb.build_search_index()
    errors: list[BaseException] = []
    done = threading.Event()

    def search_until_done() -> None:
        try:
            while not done.is_set():
                small_kb.search("paging secondary rollback", 5)
                small_kb.search("zebra", 5, source_prefix="runbooks/")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            small_kb.close()

    searchers = [threading.Thread(target=search_until_done) for _ in range(3)]
    for thread in searchers:
        thread.start()
    for run in range(5):
        write(docs, f"runbooks/new{run}.md", f"# New {run}\n\nThe zebra{run} procedure.\n")
        index_paths(small_kb, [docs])
    done.set()
    for thread in searchers:
        thread.join()
    assert errors == []
    assert [hit.source for hit in small_kb.search("zebra4", 5)] == ["runbooks/new4.md"]

    def index_is_current() -> bool:
        small_kb.search("zebra4", 5)  # a search that finds the index stale rebuilds it
        index = small_kb.search_index
        return index is not None and index.size == 8

    wait_for(index_is_current)
