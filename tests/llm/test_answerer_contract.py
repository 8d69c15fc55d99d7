"""What every answerer promises, run against each: the extractive answerer, and the language-
model answerer of each provider (against its fake server)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ledger_bot.answering.base import AnswerContext, Answerer, Turn
from ledger_bot.documents import SearchHit
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.metrics import Metrics
from ledger_bot.service import build_answerer
from ledger_bot.settings import load_settings
from tests.fake_llm import FakeAnthropic, FakeLLMServer, FakeOpenAI, Reply

REVERSAL = "How do I reverse a posted journal entry?"
UNANSWERABLE = "what is the vacation policy?"


def grounded_reply(request: object) -> Reply:
    """A model that cites document 1 when it was given any, and says it does not know else."""
    text = str(getattr(request, "json", ""))
    if 'number="1"' in text or 'number=\\\\"1\\\\"' in text or "number=" in text:
        return Reply("Post a reversing entry to the reversal endpoint [1].")
    return Reply("The knowledge base does not cover this.")


@pytest.fixture(params=["extractive", "openai", "anthropic"])
async def answerer(request: pytest.FixtureRequest, sample_db: Path) -> AsyncIterator[Answerer]:
    kb = SqliteKnowledgeBase.open(sample_db)
    kind = request.param
    if kind == "extractive":
        yield build_answerer(load_settings(db=sample_db), kb)
        kb.close()
        return
    server: FakeLLMServer = FakeOpenAI() if kind == "openai" else FakeAnthropic()
    async with server:
        server.responder = grounded_reply
        settings = load_settings(
            db=sample_db,
            llm_provider=kind,
            llm_model="test-model",
            llm_base_url=server.base_url,
            llm_api_key="sk-test",
            llm_max_retries=0,
            # The contract is about answering from the passages given; searching again with
            # the model's words (which may cite what a second search found) has its own tests.
            llm_rewrite_below=0,
        )
        built = build_answerer(settings, kb, Metrics())
        yield built
        await built.close()  # type: ignore[attr-defined]
    kb.close()


@pytest.fixture
def retrieve(sample_db: Path) -> Callable[[str], list[SearchHit]]:
    def search(query: str) -> list[SearchHit]:
        kb = SqliteKnowledgeBase.open(sample_db)
        try:
            return kb.search(query, 20)
        finally:
            kb.close()

    return search


async def test_an_answer_cites_only_documents_among_the_passages(
    answerer: Answerer, retrieve: Callable[[str], list[SearchHit]]
) -> None:
    passages = retrieve(REVERSAL)
    answer = await answerer.answer(REVERSAL, passages)
    assert answer.answered is True
    assert answer.citations
    assert {c.source for c in answer.citations} <= {p.source for p in passages}


async def test_an_answer_refers_to_its_citations_by_number(
    answerer: Answerer, retrieve: Callable[[str], list[SearchHit]]
) -> None:
    answer = await answerer.answer(REVERSAL, retrieve(REVERSAL))
    assert "[1]" in answer.text


async def test_no_passages_means_not_found(answerer: Answerer) -> None:
    answer = await answerer.answer(UNANSWERABLE, [])
    assert answer.answered is False
    assert answer.citations == ()


async def test_an_answer_accepts_history_and_context(
    answerer: Answerer, retrieve: Callable[[str], list[SearchHit]]
) -> None:
    history = ("How do I post a journal entry?", Turn("assistant", "With POST [1]."))
    answer = await answerer.answer(
        "and how do I undo it?",
        retrieve("undo journal entry"),
        history,
        AnswerContext(asker="U0ALICE", language="English"),
    )
    assert answer.text


async def test_the_answer_says_which_mode_wrote_it(
    answerer: Answerer, retrieve: Callable[[str], list[SearchHit]]
) -> None:
    answer = await answerer.answer(REVERSAL, retrieve(REVERSAL))
    assert answer.mode == answerer.mode
