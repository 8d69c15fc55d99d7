import os
from pathlib import Path

import pytest

from ledger_bot import indexer
from ledger_bot.indexer import index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from tests.conftest import write


@pytest.fixture
def kb(tmp_path: Path) -> SqliteKnowledgeBase:
    return SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)


def sources(kb: SqliteKnowledgeBase) -> list[str]:
    return [s.source for s in kb.list_sources()]


def test_first_run_adds_every_file(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "# A\n\nalpha")
    write(docs, "sub/b.txt", "bravo")
    report = index_paths(kb, [docs])
    assert (sorted(report.added), report.failed) == (["a.md", "sub/b.txt"], [])


def test_unchanged_files_are_skipped(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "# A\n\nalpha")
    index_paths(kb, [docs])
    report = index_paths(kb, [docs])
    assert (report.unchanged, report.added, report.chunks_written) == (["a.md"], [], 0)


def test_changed_file_is_replaced(kb: SqliteKnowledgeBase, docs: Path) -> None:
    path = write(docs, "a.md", "# A\n\nalpha")
    index_paths(kb, [docs])
    path.write_text("# A\n\nbravo")
    report = index_paths(kb, [docs])
    assert report.updated == ["a.md"]
    assert (kb.search("alpha"), [h.source for h in kb.search("bravo")]) == ([], ["a.md"])


def test_a_new_chunk_size_cuts_every_file_again(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "# A\n\n" + "One sentence about alpha. " * 40)
    first = index_paths(kb, [docs], chunk_chars=1200)
    again = index_paths(kb, [docs], chunk_chars=300)
    assert (again.updated, again.unchanged) == (["a.md"], [])
    assert again.chunks_written > first.chunks_written
    assert kb.stats().chunks == again.chunks_written


def test_a_new_base_url_gives_the_new_urls(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    index_paths(kb, [docs], base_url="https://old.example/")
    report = index_paths(kb, [docs], base_url="https://new.example/")
    assert report.updated == ["a.md"]
    assert kb.list_sources()[0].url == "https://new.example/a.md"


def test_a_new_index_format_reads_every_file_again(
    kb: SqliteKnowledgeBase, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(docs, "a.md", "alpha")
    index_paths(kb, [docs])
    monkeypatch.setattr(indexer, "INDEX_FORMAT", indexer.INDEX_FORMAT + 1)
    assert index_paths(kb, [docs]).updated == ["a.md"]
    assert index_paths(kb, [docs]).unchanged == ["a.md"]


def test_deleted_file_is_removed(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    gone = write(docs, "b.md", "bravo")
    index_paths(kb, [docs])
    gone.unlink()
    report = index_paths(kb, [docs])
    assert (report.removed, sources(kb), kb.search("bravo")) == (["b.md"], ["a.md"], [])


def test_file_that_turns_bad_keeps_its_previous_version(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    path = write(docs, "a.md", "alpha")
    index_paths(kb, [docs])
    path.write_bytes(b"\xff\xfe broken \xff")
    report = index_paths(kb, [docs])
    assert [f.path for f in report.failed] == ["a.md"]
    assert [h.source for h in kb.search("alpha")] == ["a.md"]


def test_failure_names_the_reason(kb: SqliteKnowledgeBase, docs: Path) -> None:
    (docs / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    report = index_paths(kb, [docs])
    assert [(f.path, f.reason) for f in report.failed] == [("blob.txt", "looks like a binary file")]


def test_missing_folder_removes_nothing(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    index_paths(kb, [docs])
    moved = docs.rename(docs.parent / "elsewhere")
    report = index_paths(kb, [docs])
    assert (report.removed, sources(kb), len(report.failed)) == ([], ["a.md"], 1)
    assert moved.exists()


def test_indexing_one_file_leaves_its_siblings(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    write(docs, "b.md", "bravo")
    index_paths(kb, [docs])
    report = index_paths(kb, [docs / "a.md"])
    assert (report.unchanged, report.removed, sources(kb)) == (["a.md"], [], ["a.md", "b.md"])


def test_interrupted_run_leaves_the_previous_index(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    index_paths(kb, [docs])
    write(docs, "a.md", "bravo")
    write(docs, "b.md", "charlie")

    def crash(_: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        index_paths(kb, [docs], progress=crash)
    assert (sources(kb), [h.source for h in kb.search("alpha")]) == (["a.md"], ["a.md"])


def test_same_source_from_two_roots_fails_the_second(
    kb: SqliteKnowledgeBase, tmp_path: Path
) -> None:
    write(tmp_path / "one", "a.md", "alpha")
    write(tmp_path / "two", "a.md", "bravo")
    index_paths(kb, [tmp_path / "one"])
    report = index_paths(kb, [tmp_path / "two"])
    assert [f.path for f in report.failed] == ["a.md"]
    assert "already indexed from" in report.failed[0].reason


def test_base_url_gives_each_document_a_url(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "guides/a.md", "alpha")
    index_paths(kb, [docs], base_url="https://git.example/docs/")
    assert kb.list_sources()[0].url == "https://git.example/docs/guides/a.md"


def test_malformed_json_lines_line_is_skipped_with_its_number(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    write(docs, "c.jsonl", '{"_id": "1", "text": "alpha"}\n{oops\n{"_id": "2", "text": "bravo"}\n')
    report = index_paths(kb, [docs])
    assert sources(kb) == ["1", "2"]
    assert len(report.warnings) == 1 and "line 2" in report.warnings[0]


def test_file_over_the_size_limit_is_skipped(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "big.txt", "word " * 1000)
    report = index_paths(kb, [docs], max_file_bytes=1000)
    assert "LEDGER_BOT_MAX_FILE_BYTES" in report.failed[0].reason


def test_symlinked_alias_is_indexed_once_without_a_failure(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    write(docs, "a.md", "alpha")
    (docs / "alias.md").symlink_to(docs / "a.md")
    report = index_paths(kb, [docs])
    assert (report.added, report.failed) == (["a.md"], [])


def test_file_whose_name_is_not_utf8_is_skipped_and_the_others_indexed(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    write(docs, "guides/a.md", "alpha")
    (docs / os.fsdecode(b"caf\xe9.md")).write_text("# Menu\n\ncoffee\n")
    report = index_paths(kb, [docs])
    assert (report.failed[0].reason, "guides/a.md" in sources(kb)) == (
        "name is not valid UTF-8: rename it",
        True,
    )


def test_folder_named_in_another_encoding_is_reported_not_fatal(
    kb: SqliteKnowledgeBase, tmp_path: Path
) -> None:
    folder = tmp_path / os.fsdecode(b"r\xe9sum\xe9s")
    write(folder, "a.md", "alpha")
    report = index_paths(kb, [folder])
    assert [(f.path, f.reason) for f in report.failed] == [
        (str(folder), "name is not valid UTF-8: rename it")
    ]


def test_json_lines_record_with_a_lone_surrogate_is_skipped_with_its_line(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    write(docs, "c.jsonl", '{"_id": "1", "text": "alpha \\ud800"}\n{"_id": "2", "text": "bravo"}\n')
    report = index_paths(kb, [docs])
    assert "2" in sources(kb) and "1" not in sources(kb)
    assert report.warnings == ["c.jsonl: line 1: a lone surrogate escape such as \\ud800 – skipped"]


def test_rst_unicode_directive_to_a_surrogate_fails_only_that_file(
    kb: SqliteKnowledgeBase, docs: Path
) -> None:
    write(docs, "guides/a.md", "alpha")
    write(docs, "odd.rst", "Title\n=====\n\n|x| text\n\n.. |x| unicode:: 0xD800\n")
    report = index_paths(kb, [docs])
    assert [f.path for f in report.failed] == ["odd.rst"]
    assert "lone surrogate" in report.failed[0].reason and "guides/a.md" in sources(kb)


def test_json_lines_line_nested_too_deeply_is_skipped(kb: SqliteKnowledgeBase, docs: Path) -> None:
    write(docs, "c.jsonl", "[" * 100_000 + '\n{"_id": "2", "text": "bravo"}\n')
    report = index_paths(kb, [docs])
    assert "2" in sources(kb)
    assert report.warnings == ["c.jsonl: line 1: JSON nested too deeply – skipped"]
