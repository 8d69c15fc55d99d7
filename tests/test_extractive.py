"""The extractive answerer: what it quotes, how much of it, and from which documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_bot.answering.extractive import (
    FIRST_QUOTE_CHARS,
    ExtractiveAnswerer,
    clip_quote,
    split_units,
)
from ledger_bot.documents import Answer
from ledger_bot.indexer import index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase

HARDWARE = """# Hardware

## Memory

ECC memory is required in production. A replica needs at least 6 GiB of RAM per machine.
Between 16 GiB and 32 GiB is recommended for the cache.

## CPU

A replica runs its state machine on a single core. Give each machine one additional core
for the operating system and networking.

## Storage

Local NVMe disks are recommended.
"""

SESSIONS = """# Client sessions

## Eviction

When the cluster is at its limit of 64 concurrent client sessions, the oldest session is
evicted to make room for a new one. This means that a service with too many client
processes keeps evicting its own sessions.

Share one client per process and batch requests to stay under the limit.

```sh
tigerbeetle start --addresses=3000 /data/0_0.tigerbeetle
```
"""

STATUS = """# Monitoring

## `replica_status`

The `replica_status` metric is the overall status of the replica. Anything other than 0
should page someone.
The values are:

| Value | Status | Meaning |
|---|---|---|
| 0 | normal | The replica works normally. |
| 3 | recovering_head | The replica's state is corrupted. |
"""


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[SqliteKnowledgeBase]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hardware.md").write_text(HARDWARE)
    (docs / "sessions.md").write_text(SESSIONS)
    (docs / "monitoring.md").write_text(STATUS)
    knowledge = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    assert not index_paths(knowledge, [docs]).failed
    yield knowledge
    knowledge.close()


def ask(kb: SqliteKnowledgeBase, question: str, history: tuple[str, ...] = ()) -> Answer:
    answerer = ExtractiveAnswerer(kb, min_support=0.3)
    return answerer.compose(question, kb.search(question, 20), history)


# -- quotable units ------------------------------------------------------------------------


def test_a_wrapped_list_item_is_one_unit() -> None:
    text = "Intro.\n\n- The first item wraps\n  onto a second line.\n- Second item."
    assert split_units(text) == [
        "Intro.",
        "- The first item wraps onto a second line.",
        "- Second item.",
    ]


def test_sentences_tables_and_code_are_separate_units() -> None:
    text = "One. Two!\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode()\n```"
    assert split_units(text) == ["One.", "Two!", "| a | b |", "| 1 | 2 |", "```\ncode()\n```"]


def test_footnotes_and_html_are_left_out_of_units() -> None:
    text = (
        "Stripe keeps an immutable log.[^3] It is <b>append-only</b>.\n"
        "<details><summary>More</summary>\n\n"
        "[^3]: Singla, A., and Wu, S.\n    a wrapped reference\n\n"
        "- \n- Real item."
    )
    assert split_units(text) == [
        "Stripe keeps an immutable log.",
        "It is append-only.",
        "More",
        "- Real item.",
    ]


# -- what is quoted --------------------------------------------------------------------------


def test_the_quote_goes_on_past_the_best_sentence(kb: SqliteKnowledgeBase) -> None:
    answer = ask(kb, "why are client sessions evicted?")
    assert answer.answered
    first = answer.quotes[0]
    assert "64 concurrent client sessions" in first
    # The sentences after the best one hold the why and the fix.
    assert "too many client processes" in first
    assert "batch requests" in first
    # Sentences of one paragraph stay on one line.
    assert "a new one. This means" in first
    assert len(first) <= FIRST_QUOTE_CHARS + 100


def test_code_that_the_text_does_not_lead_into_is_not_quoted(kb: SqliteKnowledgeBase) -> None:
    answer = ask(kb, "why are client sessions evicted?")
    assert "```" not in answer.quotes[0]


def test_a_table_introduced_by_the_quote_comes_with_it(kb: SqliteKnowledgeBase) -> None:
    answer = ask(kb, "replica_status is 3, what does that value mean?")
    assert answer.answered
    assert "recovering_head" in answer.quotes[0]
    assert "\n| 3 | recovering_head |" in answer.quotes[0]


def test_a_second_passage_answers_the_other_half_of_the_question(
    kb: SqliteKnowledgeBase,
) -> None:
    answer = ask(kb, "how much RAM and how many CPU cores does a replica need?")
    assert answer.answered
    assert [c.source for c in answer.citations][:1] == ["hardware.md"]
    quoted = "\n".join(answer.quotes)
    assert "6 GiB" in quoted
    assert "single core" in quoted
    # Both passages come from one document, which is cited once.
    assert [c.source for c in answer.citations].count("hardware.md") == 1
    assert answer.text.count("[1]") == 2


def test_a_passage_that_adds_nothing_new_is_not_quoted_twice(kb: SqliteKnowledgeBase) -> None:
    answer = ask(kb, "how much RAM does a replica need?")
    assert answer.answered
    assert sum("GiB" in quote for quote in answer.quotes) == 1
    assert not any("single core" in quote for quote in answer.quotes)


def test_quotes_are_word_for_word(kb: SqliteKnowledgeBase) -> None:
    answer = ask(kb, "how much RAM and how many CPU cores does a replica need?")
    flat = " ".join(HARDWARE.split())
    for quote in answer.quotes:
        assert " ".join(quote.split()) in flat


def test_a_long_code_block_is_cut_at_a_line_and_its_fence_closed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    code = "\n".join(f"client.create_transfer(id={i}, amount={i})" for i in range(20))
    text = f"# Batching\n\nBatch transfers like this:\n\n```python\n{code}\n```\n"
    (docs / "batch.md").write_text(text)
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    index_paths(kb, [docs])
    try:
        answer = ask(kb, "how do I batch create_transfer calls?")
    finally:
        kb.close()
    assert answer.answered
    code_quote = next(quote for quote in answer.quotes if "```python" in quote)
    assert code_quote.endswith("\n…\n```")
    assert code_quote.count("```") == 2
    assert all(line.startswith(("client.", "```", "…")) for line in code_quote.split("\n"))


def test_the_rows_of_a_table_that_answer_are_quoted_under_its_header(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    rows = "\n".join(
        f"| {i} | {name} | {meaning} |"
        for i, (name, meaning) in enumerate(
            [
                ("normal", "Works normally and serves requests without any trouble at all."),
                ("view_change", "Is changing views, which takes a moment to settle down."),
                ("syncing", "Is catching up with the rest of the cluster by state sync."),
                ("recovering_head", "Has a corrupted log head and repairs it from its peers."),
            ]
        )
    )
    text = "# Status\n\nThe status gauge tells the state of a node. Its values are:\n\n"
    text += f"| Value | Name | Meaning |\n|---|---|---|\n{rows}\n"
    (docs / "status.md").write_text(text)
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    index_paths(kb, [docs])
    try:
        answer = ExtractiveAnswerer(kb, min_support=0.3).compose(
            "the status gauge shows recovering_head, what does it mean?",
            kb.search("the status gauge shows recovering_head, what does it mean?", 20),
        )
    finally:
        kb.close()
    assert answer.answered
    quote = answer.quotes[0]
    assert "| Value | Name | Meaning |" in quote
    assert "| 3 | recovering_head | Has a corrupted log head" in quote
    assert "| 0 | normal |" not in quote


def test_a_question_naming_a_documented_identifier_is_answered(kb: SqliteKnowledgeBase) -> None:
    # Most of the question's words are not in the knowledge base, but `replica_status` names
    # the section that answers it.
    question = "our pager keeps ringing about replica_status, definitely broken?"
    assert ask(kb, question).answered


def test_a_cut_inside_code_after_prose_closes_the_fence() -> None:
    text = "Run these:\n```sh\n" + "\n".join(f"step {i}" for i in range(100)) + "\n```"
    clipped = clip_quote(text, 60)
    assert clipped.startswith("Run these:\n```sh\nstep 0\n")
    assert clipped.endswith("\n…\n```")
    assert len(clipped) <= 60 + 6


def test_a_cut_after_a_closed_code_block_is_a_plain_ellipsis() -> None:
    text = "```\na\n```\n" + "prose " * 30
    assert clip_quote(text, 40) == "```\na\n```\nprose prose prose prose prose…"


def test_one_quote_at_most_is_one_quote(kb: SqliteKnowledgeBase) -> None:
    question = "how much RAM and how many CPU cores does a replica need?"
    answer = ExtractiveAnswerer(kb, min_support=0.3, max_quotes=1).compose(
        question, kb.search(question, 20)
    )
    assert answer.answered
    assert len(answer.quotes) == 1


GLOSSARY = """# Glossary

**Posted balance.** The balance of an account from posted entries only.

**Posting engine.** The part of the writer that locks accounts and writes the entry.

**Reversal.** A new entry that cancels an earlier one by swapping its debits and credits.

**Soft close.** The period state in which postings are rejected unless approved.
"""


def test_a_glossary_quote_keeps_to_its_entry(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "glossary.md").write_text(GLOSSARY)
    kb = SqliteKnowledgeBase.open(tmp_path / "kb.db", create=True)
    index_paths(kb, [docs])
    answer = ask(kb, "what is a reversal?")
    kb.close()
    assert answer.quotes == (
        "**Reversal.** A new entry that cancels an earlier one by swapping its debits and credits.",
    )
