import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger_bot.cli import main
from tests.conftest import SAMPLE_KB, write


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_index_prints_a_summary_with_each_failure(tmp_path: Path, docs: Path) -> None:
    write(docs, "a.md", "# A\n\nalpha")
    (docs / "b.txt").write_bytes(b"\x00binary")
    code, out, _ = run("index", str(docs), "--db", str(tmp_path / "kb.db"))
    assert code == 0
    assert "1 added, 0 updated, 0 unchanged, 0 removed, 1 failed" in out
    assert "failed: b.txt: looks like a binary file" in out


def test_index_json_summary(tmp_path: Path, docs: Path) -> None:
    write(docs, "a.md", "alpha")
    code, out, _ = run("index", str(docs), "--db", str(tmp_path / "kb.db"), "--json")
    assert (code, json.loads(out)["added"]) == (0, 1)


def test_ask_json_has_the_documented_shape(sample_db: Path) -> None:
    code, out, _ = run(
        "ask", "How do I reverse a posted journal entry?", "--db", str(sample_db), "--json"
    )
    answer = json.loads(out)
    assert code == 0
    assert {"answer", "answered", "citations", "mode"} <= answer.keys()
    assert (answer["answered"], answer["mode"]) == (True, "extractive")
    assert set(answer["citations"][0]) == {"source", "title", "url", "score"}


def test_ask_prints_the_sources_it_quotes(sample_db: Path) -> None:
    code, out, _ = run("ask", "what does exceeds_credits mean?", "--db", str(sample_db))
    assert code == 0
    assert "Sources:\n[1] " in out


def test_unanswerable_question_says_so_in_json(sample_db: Path) -> None:
    _, out, _ = run("ask", "what is the office vacation policy?", "--db", str(sample_db), "--json")
    answer = json.loads(out)
    assert (answer["answered"], answer["citations"]) == (False, [])


def test_db_falls_back_to_the_environment(sample_db: Path) -> None:
    code, out, _ = run("ask", "idempotency key", "--json", env={"LEDGER_BOT_DB": str(sample_db)})
    assert (code, json.loads(out)["mode"]) == (0, "extractive")


def test_missing_database_fails_with_one_line(tmp_path: Path) -> None:
    code, _, err = run("ask", "anything", "--db", str(tmp_path / "none.db"))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: no knowledge base at")


def test_empty_question_fails_with_a_reason(sample_db: Path) -> None:
    code, _, err = run("ask", "   \t ", "--db", str(sample_db))
    assert (code, err.startswith("error: Please ask a question")) == (1, True)


def test_huge_question_is_truncated_not_refused(sample_db: Path) -> None:
    question = "how do I reverse a posted journal entry? " + "log line " * 120_000
    code, out, _ = run("ask", question, "--db", str(sample_db))
    assert code == 0
    assert "read only its first 4,000 characters" in out


def test_invalid_setting_names_the_variable(sample_db: Path) -> None:
    code, _, err = run("ask", "x", "--db", str(sample_db), env={"LEDGER_BOT_SEARCH_LIMIT": "many"})
    assert code == 1
    assert "LEDGER_BOT_SEARCH_LIMIT" in err


def test_search_json_lists_hits_with_the_documented_fields(sample_db: Path) -> None:
    code, out, _ = run(
        "search", "idempotency key", "--db", str(sample_db), "--json", "--limit", "2"
    )
    hits = json.loads(out)
    assert code == 0 and len(hits) == 2
    assert list(hits[0]) == ["source", "title", "heading", "text", "score"]


def test_search_batch_prints_one_line_per_query(sample_db: Path, tmp_path: Path) -> None:
    queries = write(
        tmp_path,
        "q.jsonl",
        '{"_id": "q1", "text": "reversal"}\nnot json\n{"_id": "q2", "text": "deploy rollback"}\n',
    )
    code, out, err = run("search", "--batch", str(queries), "--db", str(sample_db), "--limit", "3")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [line["id"] for line in lines] == ["q1", "q2"]
    assert len(lines[0]["hits"]) == 3 and set(lines[0]["hits"][0]) == {"source", "score"}
    assert "q.jsonl:2" in err


def test_batch_hits_are_one_per_source(sample_db: Path, tmp_path: Path) -> None:
    queries = write(tmp_path, "q.jsonl", '{"_id": "q", "text": "journal entry reversal"}\n')
    _, out, _ = run("search", "--batch", str(queries), "--db", str(sample_db), "--limit", "10")
    hit_sources = [hit["source"] for hit in json.loads(out)["hits"]]
    assert len(hit_sources) == len(set(hit_sources))


def test_search_needs_a_query_or_a_batch(sample_db: Path) -> None:
    code, _, err = run("search", "--db", str(sample_db))
    assert code == 2 and "either a QUERY or --batch" in err


def test_config_markdown_matches_the_docs() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    _, out, _ = run("config", "--markdown")
    assert out == docs.read_text(encoding="utf-8")


def test_eval_prints_metrics_table(sample_db: Path, tmp_path: Path) -> None:
    qa = write(
        tmp_path,
        "qa.jsonl",
        '{"id": "1", "question": "how do I reverse a posted journal entry?", "answerable": true,'
        ' "gold": [], "must_include": [], "kind": "howto"}\n',
    )
    code, out, _ = run("eval", str(qa), "--db", str(sample_db))
    assert code == 0 and "| false_refusal | 0.0% |" in out


def test_eval_skips_a_blank_question_and_scores_the_rest(sample_db: Path, tmp_path: Path) -> None:
    qa = write(
        tmp_path,
        "qa.jsonl",
        '{"id": "1", "question": "how do I reverse a posted journal entry?"}\n'
        '{"id": "2", "question": "   "}\n',
    )
    code, out, err = run("eval", str(qa), "--db", str(sample_db))
    assert code == 0 and "1 items (1 answerable, 0 unanswerable)" in out
    assert "line 2: needs a question that is not blank, or turns; skipped" in err


def test_eval_reads_a_question_set_saved_with_a_byte_order_mark(
    sample_db: Path, tmp_path: Path
) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text('\ufeff{"id": "1", "question": "how do I roll back a deploy?"}\n', "utf-8")
    code, out, err = run("eval", str(qa), "--db", str(sample_db))
    assert (code, err) == (0, "")
    assert "1 items (1 answerable, 0 unanswerable)" in out


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"question": "q?", "answerable": "false"}', "answerable must be true or false"),
        ('{"turns": ["q?"]}', 'each turn must be an object with a "question" that is not blank'),
        ('{"turns": [{"text": "q?"}]}', 'each turn must be an object with a "question"'),
        ("[" * 100_000, "JSON nested too deeply"),
    ],
)
def test_eval_skips_a_malformed_item_with_its_reason(
    sample_db: Path, tmp_path: Path, line: str, reason: str
) -> None:
    qa = write(tmp_path, "qa.jsonl", f'{line}\n{{"question": "how do I roll back a deploy?"}}\n')
    code, out, err = run("eval", str(qa), "--db", str(sample_db))
    assert code == 0 and "1 items (1 answerable, 0 unanswerable)" in out
    assert f"qa.jsonl: line 1: {reason}" in err


@pytest.mark.parametrize(
    "line",
    [
        '{"_id": "q1", "text": {"words": "deploy"}}',
        '{"_id": null, "text": "deploy"}',
        "[" * 100_000,
    ],
)
def test_search_batch_skips_a_query_that_is_not_an_id_and_a_text(
    sample_db: Path, tmp_path: Path, line: str
) -> None:
    queries = write(tmp_path, "q.jsonl", f'{line}\n{{"_id": "q2", "text": "deploy"}}\n')
    code, out, err = run("search", "--batch", str(queries), "--db", str(sample_db))
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == ["q2"]
    assert "q.jsonl:1: not a query object with _id and text; skipped" in err


def test_search_batch_missing_file_names_the_option(sample_db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    code, _, err = run("search", "--batch", str(missing), "--db", str(sample_db))
    assert code == 2
    assert f"Invalid value for '--batch': cannot read {missing}: No such file" in err


@pytest.mark.slow
def test_installed_command_answers_from_the_sample_kb(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.db")
    cli = [sys.executable, "-m", "ledger_bot"]
    subprocess.run([*cli, "index", str(SAMPLE_KB), "--db", db], check=True, capture_output=True)
    done = subprocess.run(
        [*cli, "ask", "How do I reverse a posted journal entry?", "--db", db, "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(done.stdout)["answered"] is True
