import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger_bot.answering.extractive import ExtractiveAnswerer
from ledger_bot.cli import main
from ledger_bot.errors import ConfigError
from ledger_bot.indexer import index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.settings import Settings
from ledger_bot.sync import KnowledgeSync
from ledger_bot.synonyms import SynonymsFile, load_synonyms, parse_synonyms
from tests.conftest import SAMPLE_KB, write

CLOSING = """# Close an account

To close an account at the end of its life, or while an audit runs, post a closing transfer
with `closing_debit` set. A closed account rejects every new transfer. Voiding the closing
transfer opens the account again.
"""
LIMITS = """# Rate limits

Each client may send 100 requests per second; past that it gets HTTP 429 and should retry.
"""
FREEZE = "how do we freeze an account?"


@pytest.fixture
def team_kb(tmp_path: Path) -> Iterator[SqliteKnowledgeBase]:
    docs = tmp_path / "docs"
    write(docs, "close-account.md", CLOSING)
    write(docs, "rate-limits.md", LIMITS)
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    index_paths(kb, [docs])
    yield kb
    kb.close()


def with_synonyms(kb: SqliteKnowledgeBase, folder: Path, text: str) -> Path:
    path = write(folder, "synonyms.txt", text)
    kb.synonyms_file = SynonymsFile(path)
    return path


def ask(kb: SqliteKnowledgeBase, question: str) -> tuple[bool, list[str]]:
    passages = kb.search(question, 20)
    answer = ExtractiveAnswerer(kb, min_support=0.33).compose(question, passages)
    return answer.answered, [citation.source for citation in answer.citations]


# -- the file --------------------------------------------------------------------------------


def test_each_line_is_a_group_and_comments_and_blank_lines_are_skipped() -> None:
    synonyms = parse_synonyms("# ours, theirs\n\nfreeze, close account\n  JE , journal entry \n")
    members = [sorted(sorted(member) for member in group.members) for group in synonyms.groups]
    assert members == [[["account", "close"], ["freez"]], [["entri", "journal"], ["je"]]]


def test_a_question_naming_a_member_is_searched_with_the_other_members() -> None:
    synonyms = parse_synonyms("freeze, close account\n")
    assert synonyms.expand(["freez", "custom"]) == ["freez", "custom", "account", "close"]


def test_a_phrase_member_needs_all_its_words_in_the_question() -> None:
    synonyms = parse_synonyms("close account, freeze\n")
    assert (synonyms.match(["close", "door"]), len(synonyms.match(["close", "account"]))) == (
        [],
        1,
    )


def test_words_that_the_question_already_has_are_not_added_again() -> None:
    synonyms = parse_synonyms("freeze, close account\n")
    assert synonyms.match(["freez", "account"])[0].adds == ("close",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("freeze,, close\n", "line 1: empty member"),
        ("# notes\nfreeze,\n", "line 2: empty member"),
        ("freeze, the\n", "line 1: 'the' has no word that search uses"),
        ("freeze\n", "line 1: a group needs at least two different words or phrases"),
        ("freeze, freezing\n", "line 1: a group needs at least two different words or phrases"),
    ],
)
def test_a_mistake_names_the_line_and_what_to_do(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_synonyms(text)


def test_a_file_that_is_not_utf8_names_the_setting_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_bytes(b"freeze, close\nna\xefve, simple\n")
    with pytest.raises(ConfigError, match=r"LEDGER_BOT_SYNONYMS_FILE: .*, line 2: not UTF-8"):
        load_synonyms(path)


def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_bytes("\ufefffreeze, close\n".encode())
    assert load_synonyms(path).expand(["freez"]) == ["freez", "close"]


def test_a_missing_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"LEDGER_BOT_SYNONYMS_FILE: cannot read .*missing\.txt"):
        load_synonyms(tmp_path / "missing.txt")


def test_a_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text("freeze, close\n" * 80_000)
    with pytest.raises(ConfigError, match="larger than 1,000,000 bytes"):
        load_synonyms(path)


def test_an_edited_file_applies_to_the_next_question(tmp_path: Path) -> None:
    path = write(tmp_path, "synonyms.txt", "freeze, close\n")
    synonyms = SynonymsFile(path)
    path.write_text("freeze, lock\n")
    os.utime(path, ns=(1, 1))  # another version even on a coarse clock
    assert synonyms.current().expand(["freez"]) == ["freez", "lock"]


def test_a_broken_edit_keeps_the_last_good_version_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "synonyms.txt", "freeze, close\n")
    synonyms = SynonymsFile(path)
    path.write_text("freeze,\n")
    os.utime(path, ns=(1, 1))
    with caplog.at_level(logging.WARNING, logger="ledger_bot.synonyms"):
        expanded = synonyms.current().expand(["freez"])
    assert expanded == ["freez", "close"]
    assert [record.message for record in caplog.records] == [
        "synonyms file not reloaded; the previous version stays in use"
    ]


def test_a_server_starts_without_a_missing_file_and_reads_it_once_it_appears(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "synonyms.txt"
    with caplog.at_level(logging.WARNING, logger="ledger_bot.synonyms"):
        synonyms = SynonymsFile(path, strict=False)
    before = synonyms.current().expand(["freez"])
    path.write_text("freeze, close\n")
    assert (before, synonyms.current().expand(["freez"])) == (["freez"], ["freez", "close"])
    assert [record.message for record in caplog.records] == [
        "synonyms file not loaded; searching without it"
    ]


def test_a_deleted_file_keeps_the_last_good_version(tmp_path: Path) -> None:
    path = write(tmp_path, "synonyms.txt", "freeze, close\n")
    synonyms = SynonymsFile(path)
    path.unlink()
    assert synonyms.current().expand(["freez"]) == ["freez", "close"]


# -- searching and answering -----------------------------------------------------------------


def test_without_synonyms_the_team_word_is_not_found(team_kb: SqliteKnowledgeBase) -> None:
    assert ask(team_kb, FREEZE) == (False, [])


def test_with_synonyms_the_team_word_finds_the_documents_word(
    team_kb: SqliteKnowledgeBase, tmp_path: Path
) -> None:
    with_synonyms(team_kb, tmp_path, "freeze, close account\n")
    assert ask(team_kb, FREEZE) == (True, ["close-account.md"])


def test_search_finds_the_documents_word(team_kb: SqliteKnowledgeBase, tmp_path: Path) -> None:
    with_synonyms(team_kb, tmp_path, "freeze, close account\n")
    assert [hit.source for hit in team_kb.search("freeze", 5)] == ["close-account.md"]


def test_the_sample_team_words_find_local_development(sample_kb: SqliteKnowledgeBase) -> None:
    question = "how do i get the write path running on my machine?"
    sample_kb.synonyms_file = SynonymsFile(SAMPLE_KB / ".synonyms.txt")
    answered, sources = ask(sample_kb, question)
    assert (answered, sources[0]) == (True, "onboarding.md")


# -- indexing and settings -------------------------------------------------------------------


def test_the_synonyms_file_is_not_indexed_in_an_indexed_folder(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.md", "# A\n\nalpha")
    synonyms = write(docs, "synonyms.txt", "alpha, first\n")
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    index_paths(kb, [docs])
    report = index_paths(kb, [docs], exclude=[synonyms])
    assert (report.removed, [source.source for source in kb.list_sources()]) == (
        ["synonyms.txt"],
        ["a.md"],
    )


async def test_a_synced_folder_with_the_synonyms_file_is_current_after_a_sync(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "docs"
    old = os.path.getmtime(write(docs, "a.md", "alpha")) - 3600
    synonyms = write(docs, "synonyms.txt", "alpha, first\n")
    for path in (docs / "a.md", synonyms):
        os.utime(path, (old, old))
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    sync = KnowledgeSync(
        kb,
        [docs],
        exclude=[synonyms],
        base_url=None,
        chunk_chars=1200,
        max_file_bytes=1_000_000,
        interval=0,
        poll=0,
    )
    await sync.sync_now()
    assert sync.needs_initial_sync() is False


def test_an_empty_variable_means_no_synonyms_file() -> None:
    assert Settings(synonyms_file="").synonyms_file is None  # type: ignore[arg-type]


def test_ask_with_a_broken_synonyms_file_exits_with_the_line(
    tmp_path: Path, sample_db: Path
) -> None:
    path = write(tmp_path, "synonyms.txt", "freeze\n")
    env = {"LEDGER_BOT_SYNONYMS_FILE": str(path)}
    result = CliRunner().invoke(main, ["ask", "freeze?", "--db", str(sample_db)], env=env)
    assert result.exit_code != 0
    assert result.stderr.startswith(f"error: LEDGER_BOT_SYNONYMS_FILE: {path}, line 1: a group")


def test_ask_json_uses_the_synonyms_file(tmp_path: Path, sample_db: Path) -> None:
    env = {"LEDGER_BOT_SYNONYMS_FILE": str(SAMPLE_KB / ".synonyms.txt")}
    question = "how do i get the write path running on my machine?"
    result = CliRunner().invoke(main, ["ask", question, "--db", str(sample_db), "--json"], env=env)
    assert json.loads(result.stdout)["citations"][0]["source"] == "onboarding.md"


def test_eval_says_which_synonyms_file_it_measured_with(tmp_path: Path, sample_db: Path) -> None:
    questions = write(
        tmp_path, "q.jsonl", '{"id": "a", "question": "make dev?", "answerable": true}'
    )
    synonyms = SAMPLE_KB / ".synonyms.txt"
    env = {"LEDGER_BOT_SYNONYMS_FILE": str(synonyms)}
    args = ["eval", str(questions), "--db", str(sample_db)]
    plain = CliRunner().invoke(main, args, env=env)
    as_json = CliRunner().invoke(main, [*args, "--json"], env=env)
    assert plain.stdout.startswith(f"synonyms: {synonyms} (7 groups)\n")
    assert json.loads(as_json.stdout)["synonyms"] == {"file": str(synonyms), "groups": 7}


def test_a_word_no_document_holds_is_known_once_a_group_names_it(
    team_kb: SqliteKnowledgeBase, tmp_path: Path
) -> None:
    before = team_kb.unknown_terms(["freez", "thaw", "account"])
    with_synonyms(team_kb, tmp_path, "freeze, close account\n")
    assert (before, team_kb.unknown_terms(["freez", "thaw", "account"])) == (
        {"freez", "thaw"},
        {"thaw"},
    )
