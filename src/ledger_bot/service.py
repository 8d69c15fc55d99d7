"""The one service every adapter (CLI, console, Slack, MCP, HTTP) calls.

:func:`build_service` is the composition root: it turns settings into a knowledge base and an
answerer. Adapters translate their input into calls on :class:`LedgerBotService` and its
results into their output; they make no decisions of their own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ledger_bot import i18n, messages
from ledger_bot.answering.base import (
    AnswerContext,
    Answerer,
    History,
    TextSink,
    Turn,
    user_turns,
)
from ledger_bot.answering.extractive import ExtractiveAnswerer
from ledger_bot.answering.llm import LLMAnswerer, SearchAgain, Spending
from ledger_bot.answering.providers import build_provider
from ledger_bot.answering.resilience import parse_prices
from ledger_bot.documents import Answer, SearchHit
from ledger_bot.errors import InvalidQuestion
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.logs import request_context
from ledger_bot.metrics import Metrics
from ledger_bot.questions import PreparedQuestion, prepare_question, printable
from ledger_bot.rate_limit import RateLimiter
from ledger_bot.redaction import redact
from ledger_bot.settings import Settings
from ledger_bot.state import QuestionRecord, StateStore, build_state_store
from ledger_bot.synonyms import SynonymsFile

log = logging.getLogger(__name__)
T = TypeVar("T")

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


@dataclass(frozen=True, slots=True)
class QuestionRequest:
    """A question as an adapter received it."""

    text: str
    user: str
    channel: str
    surface: str
    history: tuple[str | Turn, ...] = ()
    thread_ts: str | None = None
    # The asker's language, when the surface knows it: a name such as "Spanish" (a code or
    # locale such as "es-ES" works too). The answer is written in it, and the bot's own texts
    # too if it is one of i18n.LANGUAGES (else they are in the default language).
    language: str | None = None


@dataclass(frozen=True, slots=True)
class QuestionOutcome:
    """What became of a question: an answer, or the message to show instead.

    ``outcome`` is one of answered, not_found, rejected, rate_limited, error. ``message`` is
    the text to show the asker when there is no answer (a rejection, a rate-limit notice, an
    apology); ``notes`` are lines to show above an answer (e.g. that the question was cut).
    ``language`` is the code of the language they, and the answer's fixed texts, are in.
    """

    outcome: str
    request_id: str
    answer: Answer | None = None
    message: str = ""
    notes: tuple[str, ...] = ()
    question_id: int | None = None
    retry_after: float = 0.0
    seconds: float = 0.0
    language: str = i18n.SOURCE_LANGUAGE


class LedgerBotService:
    def __init__(
        self,
        settings: Settings,
        knowledge_base: SqliteKnowledgeBase,
        answerer: Answerer,
        *,
        state: StateStore | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.knowledge_base = knowledge_base
        self.answerer = answerer
        self.state = state
        self.metrics = metrics or Metrics()
        self.limiter = RateLimiter(state, settings) if state is not None else None
        self.accepting = True
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

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

    async def ask(
        self,
        question: str,
        history: History = (),
        context: AnswerContext | None = None,
    ) -> AnswerResult:
        """Answer ``question``, a follow-up to the earlier turns in ``history`` if any. The
        answer's own words and the notes are in the ``context``'s locale, else the default
        language.

        Raises InvalidQuestion when there is nothing to search for.
        """
        prepared = prepare_question(question, self.settings.max_question_chars)
        return await self._answer(prepared, history, context)

    async def _answer(
        self, prepared: PreparedQuestion, history: History, context: AnswerContext | None
    ) -> AnswerResult:
        """Retrieve and answer a question already cleaned up by :func:`prepare_question`."""
        locale = (context.locale if context is not None else None) or self.settings.default_language
        context = replace(context or AnswerContext(), locale=locale)
        earlier = tuple(turn[: self.settings.max_question_chars] for turn in user_turns(history))
        # A follow-up is searched together with the turn before it, so "and how do I undo
        # it?" finds what "it" was.
        query = "\n".join((*earlier[-1:], prepared.text))
        started = time.perf_counter()
        if isinstance(self.answerer, ExtractiveAnswerer):
            # The offline answerer composes on a thread too: one trip there does both.
            passages, retrieved, answer = await asyncio.to_thread(
                self._search_and_quote, self.answerer, query, prepared.text, history, locale
            )
        else:
            passages = await asyncio.to_thread(self._search_passages, query)
            retrieved = time.perf_counter()
            answer = await self.answerer.answer(prepared.text, passages, history, context)
        return AnswerResult(
            question=prepared.text,
            answer=answer,
            passages=tuple(passages),
            notes=self._localized(prepared.notes, locale),
            retrieval_seconds=retrieved - started,
            answer_seconds=time.perf_counter() - retrieved,
        )

    def _search_passages(self, query: str) -> list[SearchHit]:
        return self.knowledge_base.search(query, self.settings.search_limit * PASSAGES_PER_LIMIT)

    def _search_and_quote(
        self,
        answerer: ExtractiveAnswerer,
        query: str,
        question: str,
        history: History,
        locale: str,
    ) -> tuple[list[SearchHit], float, Answer]:
        """The passages for ``query``, the moment they were found (``perf_counter``), and the
        extractive answer from them: what :meth:`_answer` does, in one worker-thread call."""
        passages = self._search_passages(query)
        retrieved = time.perf_counter()
        answer = answerer.compose(question, passages, user_turns(history), language=locale)
        return passages, retrieved, answer

    async def handle(
        self, request: QuestionRequest, on_text: TextSink | None = None
    ) -> QuestionOutcome:
        """The whole life of one question from any surface: validation, redaction, rate
        limits, answering, the question log and metrics. Never raises for a bad question or
        a failing backend: the outcome says what to tell the asker."""
        self._active += 1
        self._idle.clear()
        try:
            with request_context() as request_id:
                return await self._handle(request, request_id, on_text)
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def _handle(
        self, request: QuestionRequest, request_id: str, on_text: TextSink | None
    ) -> QuestionOutcome:
        started = time.perf_counter()
        metrics = self.metrics
        surface = request.surface
        known = i18n.language_code(request.language)
        locale = known or self.settings.default_language  # of the bot's own texts
        tr = i18n.translator(locale)

        def finish(outcome: QuestionOutcome) -> QuestionOutcome:
            outcome = replace(outcome, language=locale)
            metrics.questions_total.labels(surface=surface, outcome=outcome.outcome).inc()
            log.info(
                "question %s",
                outcome.outcome,
                extra={
                    "surface": surface,
                    "outcome": outcome.outcome,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user": request.user,
                    "channel": request.channel,
                },
            )
            return outcome

        if not self.accepting:
            await self._log_rejected(request, request_id)
            return finish(
                QuestionOutcome("rejected", request_id, message=tr(messages.SHUTTING_DOWN))
            )
        try:
            prepared = prepare_question(request.text, self.settings.max_question_chars)
        except InvalidQuestion as exc:  # its message is one of messages.py: translate it
            await self._log_rejected(request, request_id)
            return finish(QuestionOutcome("rejected", request_id, message=tr(str(exc))))
        question = redact(prepared.text)
        if self.limiter is not None:
            decision = await self._guard(
                "take_token", self.limiter.check(request.user, request.channel)
            )
            if decision is not None and not decision.allowed:
                wait = i18n.format_wait(decision.retry_after, locale)
                await self._log_question(request, question, request_id, "rate_limited")
                return finish(
                    QuestionOutcome(
                        "rate_limited",
                        request_id,
                        message=tr(messages.RATE_LIMITED[decision.limit], wait=wait),
                        retry_after=decision.retry_after,
                    )
                )
        question_id = await self._log_question(request, question, request_id, "pending")
        metrics.questions_in_flight.inc()
        try:
            history = tuple(
                redact(turn) if isinstance(turn, str) else Turn(turn.role, redact(turn.text))
                for turn in request.history
            )
            context = AnswerContext(
                asker=request.user,
                # The model is told a language by name; one the bot does not speak is passed
                # on as given.
                language=i18n.LANGUAGES[known] if known else request.language,
                locale=locale,
                on_text=on_text,
            )
            result = await asyncio.wait_for(
                # Already cleaned up above (and redacted): not prepared a second time.
                self._answer(PreparedQuestion(question), history, context),
                timeout=self.settings.answer_timeout,
            )
        except Exception as exc:
            log.exception("answering failed", extra={"error": type(exc).__name__})
            seconds = time.perf_counter() - started
            await self._update_question(
                question_id, outcome="error", latency_ms=seconds * 1000, error=type(exc).__name__
            )
            return finish(
                QuestionOutcome(
                    "error", request_id, message=tr(messages.ANSWER_FAILED), question_id=question_id
                )
            )
        finally:
            metrics.questions_in_flight.dec()
        seconds = time.perf_counter() - started
        answer = result.answer
        outcome = "answered" if answer.answered else "not_found"
        metrics.retrieval_duration_seconds.observe(result.retrieval_seconds)
        metrics.answer_duration_seconds.labels(mode=answer.mode).observe(seconds)
        await self._update_question(
            question_id,
            outcome=outcome,
            latency_ms=seconds * 1000,
            sources=tuple(c.source for c in answer.citations),
            mode=answer.mode,
            answer_text=answer.text,
            cost_usd=answer.usage.cost_usd if answer.usage is not None else 0.0,
        )
        return finish(
            QuestionOutcome(
                outcome,
                request_id,
                answer=answer,
                notes=self._localized(prepared.notes + answer.notes, locale) + result.notes,
                question_id=question_id,
                seconds=seconds,
            )
        )

    def _localized(self, notes: tuple[str, ...], locale: str) -> tuple[str, ...]:
        """``notes`` made elsewhere, in English, in the language ``locale``: each is one of
        messages.py, or the truncation note, which is made again with its limit."""
        tr = i18n.translator(locale)
        limit = self.settings.max_question_chars
        truncated = messages.QUESTION_TRUNCATED.format(limit=limit)
        return tuple(
            tr(messages.QUESTION_TRUNCATED, limit=limit) if note == truncated else tr(note)
            for note in notes
        )

    async def _guard(self, operation: str, call: Awaitable[T]) -> T | None:
        """Run a state-store call; a failure is logged and counted, never fatal to a question."""
        try:
            return await call
        except Exception:
            self.metrics.state_store_errors_total.labels(operation=operation).inc()
            log.exception("state store %s failed", operation)
            return None

    async def _log_question(
        self, request: QuestionRequest, question: str, request_id: str, outcome: str
    ) -> int | None:
        if self.state is None:
            return None
        record = QuestionRecord(
            id=None,
            asked_at=datetime.now(UTC),
            question=question,
            user=request.user,
            channel=request.channel,
            surface=request.surface,
            outcome=outcome,
            latency_ms=None,
            sources=(),
            mode="",
            request_id=request_id,
            thread_ts=request.thread_ts,
        )
        return await self._guard("record_question", self.state.record_question(record))

    async def _log_rejected(self, request: QuestionRequest, request_id: str) -> None:
        """Log a question turned away before it was read, so `stats` counts it."""
        text = printable(request.text[: self.settings.max_question_chars])
        await self._log_question(request, redact(text), request_id, "rejected")

    async def _update_question(self, question_id: int | None, **fields: Any) -> None:
        if self.state is not None and question_id is not None:
            await self._guard("update_question", self.state.update_question(question_id, **fields))

    async def claim(self, key: str, owner: str, ttl_seconds: float = 86_400) -> bool:
        """Whether this replica is the one to handle ``key`` (an event seen for the first time).

        Fails open: when the state store cannot be reached the event is handled, since a rare
        duplicate answer is better than a question left unanswered."""
        if self.state is None:
            return True
        claimed = await self._guard("claim_event", self.state.claim_event(key, owner, ttl_seconds))
        return True if claimed is None else claimed

    async def answered_in_thread(self, channel: str, thread_ts: str) -> bool:
        """Whether the bot has answered in this thread (so a reply there is a follow-up)."""
        if self.state is None:
            return False
        found = await self._guard(
            "answered_in_thread", self.state.answered_in_thread(channel, thread_ts)
        )
        return bool(found)

    async def get_question(self, question_id: int) -> QuestionRecord | None:
        if self.state is None:
            return None
        return await self._guard("get_question", self.state.get_question(question_id))

    async def recent_questions(self, user: str, limit: int = 5) -> list[QuestionRecord]:
        if self.state is None:
            return []
        found = await self._guard("recent_questions", self.state.recent_questions(user, limit))
        return found or []

    async def record_feedback(self, question_id: int, user: str, value: str) -> None:
        """Store a 👍/👎 vote on an answer and count it."""
        if self.state is not None:
            await self.state.record_feedback(question_id, user, value)
        self.metrics.feedback_total.labels(value=value).inc()

    async def drain(self, grace: float) -> int:
        """Stop taking questions and wait up to ``grace`` seconds for those in flight.

        Returns how many were still running when the grace period ended."""
        self.accepting = False
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            return self._active
        return 0

    def refresh_knowledge_metrics(self) -> None:
        stats = self.knowledge_base.stats()
        self.metrics.knowledge_base_documents.set(stats.documents)
        self.metrics.knowledge_base_chunks.set(stats.chunks)
        if stats.last_indexed_at is not None:
            self.metrics.knowledge_base_last_index_timestamp_seconds.set(
                stats.last_indexed_at.timestamp()
            )

    async def close(self) -> None:
        close_answerer = getattr(self.answerer, "close", None)
        if close_answerer is not None:
            await close_answerer()
        if self.state is not None:
            await self.state.close()
        self.knowledge_base.close()


def build_answerer(
    settings: Settings,
    knowledge_base: SqliteKnowledgeBase,
    metrics: Metrics | None = None,
    state: StateStore | None = None,
) -> Answerer:
    """The extractive answerer, or a language model's with the extractive one as fallback."""
    extractive = ExtractiveAnswerer(
        knowledge_base,
        min_support=settings.answer_min_support,
        max_quotes=settings.answer_max_quotes,
    )
    provider = build_provider(settings)
    if provider is None:
        return extractive
    spending = None
    if state is not None and (settings.llm_daily_budget_usd or settings.llm_user_daily_budget_usd):
        spending = Spending(
            state,
            daily_cap=settings.llm_daily_budget_usd,
            user_daily_cap=settings.llm_user_daily_budget_usd,
        )
    search_again = None
    if settings.llm_rewrite_below > 0:
        search_again = SearchAgain(
            knowledge_base,
            settings.search_limit * PASSAGES_PER_LIMIT,
            extractive.support,
            settings.llm_rewrite_below,
        )
    return LLMAnswerer(
        provider,
        extractive,
        settings,
        metrics or Metrics(),
        prices=parse_prices(settings.llm_prices),
        spending=spending,
        search_again=search_again,
    )


def open_knowledge_base(
    settings: Settings, *, create: bool = False, strict: bool = True
) -> SqliteKnowledgeBase:
    """The knowledge base at ``LEDGER_BOT_DB``, searched with the team's synonyms file if one
    is set. Raises KnowledgeBaseError when there is no index (unless ``create``) and, with
    ``strict``, ConfigError when the synonyms file cannot be read or holds a mistake (else
    that is logged and the file read again when it changes)."""
    synonyms = None
    if settings.synonyms_file is not None:
        synonyms = SynonymsFile(settings.synonyms_file, strict=strict)
    knowledge_base = SqliteKnowledgeBase.open(settings.db, create=create)
    knowledge_base.synonyms_file = synonyms
    return knowledge_base


def build_service(settings: Settings) -> LedgerBotService:
    """The stateless service of one-shot commands (``ask``, ``search``): no question log, no
    rate limits, no spending caps. Raises KnowledgeBaseError when there is no index."""
    knowledge_base = open_knowledge_base(settings)
    metrics = Metrics()
    answerer = build_answerer(settings, knowledge_base, metrics)
    return LedgerBotService(settings, knowledge_base, answerer, metrics=metrics)


def state_sqlite_path(settings: Settings) -> Path:
    """Where the single-replica state lives when no LEDGER_BOT_STATE_URL is set."""
    return settings.db.with_name("state.db")


async def open_service(
    settings: Settings, *, state_url: str | None = None, create_kb: bool = False
) -> LedgerBotService:
    """The full service of ``serve``: knowledge base, answerer, opened shared state, metrics."""
    # A server's synonyms file may live in a checkout that git-sync has not made yet.
    knowledge_base = open_knowledge_base(settings, create=create_kb, strict=False)
    state = build_state_store(state_url, state_sqlite_path(settings))
    await state.open()
    metrics = Metrics()
    answerer = build_answerer(settings, knowledge_base, metrics, state)
    return LedgerBotService(settings, knowledge_base, answerer, state=state, metrics=metrics)
