"""The one service every adapter (CLI, console, Slack, MCP, HTTP) calls.

:func:`build_service` is the composition root: it turns settings into a knowledge base and an
answerer. Adapters translate their input into calls on :class:`LedgerBotService` and its
results into their output; they make no decisions of their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger_bot.answering.base import Answerer
from ledger_bot.answering.extractive import ExtractiveAnswerer
from ledger_bot.documents import Answer, SearchHit
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.questions import prepare_question
from ledger_bot.settings import Settings

# Answers weigh whole documents: several passages are retrieved for each one cited.
PASSAGES_PER_LIMIT = 4


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """An answer with what it took to produce it."""

    question: str
    answer: Answer
    passages: tuple[SearchHit, ...]
    notes: tuple[str, ...] = ()
    retrieval_seconds: float = 0.0
    answer_seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


class LedgerBotService:
    def __init__(
        self, settings: Settings, knowledge_base: SqliteKnowledgeBase, answerer: Answerer
    ) -> None:
        self.settings = settings
        self.knowledge_base = knowledge_base
        self.answerer = answerer

    async def search(
        self, query: str, limit: int | None = None, source_prefix: str | None = None
    ) -> list[SearchHit]:
        prepared = prepare_question(query, self.settings.max_question_chars)
        return await asyncio.to_thread(
            self.knowledge_base.search,
            prepared.text,
            limit or self.settings.search_limit,
            source_prefix,
        )

    async def ask(self, question: str, history: Sequence[str] = ()) -> AnswerResult:
        """Answer ``question``, a follow-up to the earlier turns in ``history`` if any.

        Raises InvalidQuestion when there is nothing to search for.
        """
        prepared = prepare_question(question, self.settings.max_question_chars)
        earlier = tuple(turn[: self.settings.max_question_chars] for turn in history if turn)
        # A follow-up is searched together with the turn before it, so "and how do I undo
        # it?" finds what "it" was.
        query = "\n".join((*earlier[-1:], prepared.text))
        started = time.perf_counter()
        passages = await asyncio.to_thread(
            self.knowledge_base.search, query, self.settings.search_limit * PASSAGES_PER_LIMIT
        )
        retrieved = time.perf_counter()
        answer = await self.answerer.answer(prepared.text, passages, earlier)
        return AnswerResult(
            question=prepared.text,
            answer=answer,
            passages=tuple(passages),
            notes=prepared.notes,
            retrieval_seconds=retrieved - started,
            answer_seconds=time.perf_counter() - retrieved,
        )

    def close(self) -> None:
        self.knowledge_base.close()


def build_answerer(settings: Settings, knowledge_base: SqliteKnowledgeBase) -> Answerer:
    return ExtractiveAnswerer(
        knowledge_base,
        min_support=settings.answer_min_support,
        max_quotes=settings.answer_max_quotes,
    )


def build_service(settings: Settings) -> LedgerBotService:
    """The service described by ``settings``; raises KnowledgeBaseError when there is no index."""
    knowledge_base = SqliteKnowledgeBase.open(settings.db)
    return LedgerBotService(settings, knowledge_base, build_answerer(settings, knowledge_base))
