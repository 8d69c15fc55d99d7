import sqlite3
import threading
from pathlib import Path

import pytest

from ledger_bot.errors import KnowledgeBaseError
from ledger_bot.indexer import index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase, build_match_expression
from tests.conftest import write


@pytest.fixture
def kb(tmp_path: Path, docs: Path) -> SqliteKnowledgeBase:
    write(
        docs,
        "runbooks/paging.md",
        "# Paging\n\n## Escalation\n\nPage the secondary after 15 minutes.\n",
    )
    write(docs, "runbooks/deploys.md", "# Deploys\n\nRoll back with `make rollback`.\n")
    write(
        docs,
        "api/errors.md",
        "---\ntitle: Error codes\nurl: https://wiki/errors\n---\n\n"
        "## exceeds_credits\n\nThe debit would exceed the account's credits.\n",
    )
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    index_paths(kb, [docs])
    return kb


def test_search_returns_source_title_heading_text_and_score(kb: SqliteKnowledgeBase) -> None:
    [hit] = kb.search("when do I page the secondary", limit=1)
    assert (hit.source, hit.title, hit.heading, hit.text) == (
        "runbooks/paging.md",
        "Paging",
        "Paging › Escalation",
        "Page the secondary after 15 minutes.",
    )
    assert hit.score > 0


def test_front_matter_title_and_url_are_kept(kb: SqliteKnowledgeBase) -> None:
    [hit] = kb.search("exceeds_credits", limit=1)
    assert (hit.title, hit.url) == ("Error codes", "https://wiki/errors")


def test_search_can_be_restricted_to_a_source_prefix(kb: SqliteKnowledgeBase) -> None:
    hits = kb.search("page roll back credits", limit=10, source_prefix="runbooks/")
    assert sorted(hit.source for hit in hits) == ["runbooks/deploys.md", "runbooks/paging.md"]


def test_question_of_only_stop_words_finds_nothing(kb: SqliteKnowledgeBase) -> None:
    assert kb.search("what is it and how do I do that?") == []


def test_fts_syntax_in_a_query_is_taken_literally(kb: SqliteKnowledgeBase) -> None:
    hits = kb.search('rollback" OR NOT (* NEAR "x', limit=3)
    assert [hit.source for hit in hits] == ["runbooks/deploys.md"]


def test_match_expression_quotes_every_term() -> None:
    assert build_match_expression(['a"b', "c"]) == '"a""b" OR "c"'


def test_get_document_returns_its_whole_text(kb: SqliteKnowledgeBase) -> None:
    document = kb.get_document("runbooks/deploys.md")
    assert document is not None
    assert "Roll back with `make rollback`." in document.text


def test_unknown_document_is_none(kb: SqliteKnowledgeBase) -> None:
    assert kb.get_document("nope.md") is None


def test_list_sources_pages_in_source_order(kb: SqliteKnowledgeBase) -> None:
    first = kb.list_sources(limit=2)
    rest = kb.list_sources(after=first[-1].source, limit=2)
    assert [s.source for s in first + rest] == [
        "api/errors.md",
        "runbooks/deploys.md",
        "runbooks/paging.md",
    ]


def test_list_sources_under_a_prefix(kb: SqliteKnowledgeBase) -> None:
    assert [s.source for s in kb.list_sources(prefix="api/")] == ["api/errors.md"]


def test_stats_count_documents_and_chunks(kb: SqliteKnowledgeBase) -> None:
    stats = kb.stats()
    assert (stats.documents, stats.chunks) == (3, 3)
    assert stats.last_indexed_at is not None


def test_rare_terms_weigh_more_than_common_ones(kb: SqliteKnowledgeBase) -> None:
    weights = kb.term_weights(["secondari", "unknownterm"])
    assert weights["unknownterm"] > weights["secondari"] > 0


def test_term_weights_follow_an_indexing_run_in_every_thread(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    unknown = kb.term_weights(["zebra"])["zebra"]
    write(docs, "runbooks/zebra.md", "# Zebra\n\nThe zebra runbook.\n")
    index_paths(kb, [docs])
    seen: dict[str, float] = {}
    thread = threading.Thread(target=lambda: seen.update(kb.term_weights(["zebra"])))
    thread.start()
    thread.join()
    assert seen["zebra"] < unknown


def test_missing_database_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match=r"no knowledge base at .*ledger-bot index"):
        SqliteKnowledgeBase.open(tmp_path / "missing.db")


def test_corrupt_database_is_reported_not_crashed(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(KnowledgeBaseError, match="not a readable Ledger Bot knowledge base"):
        SqliteKnowledgeBase.open(path)


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(KnowledgeBaseError, match="newer Ledger Bot"):
        SqliteKnowledgeBase.open(path)


def test_folder_given_as_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="is a folder"):
        SqliteKnowledgeBase.open(tmp_path, create=True)
