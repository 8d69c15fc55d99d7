"""Answers written by a language model, grounded in the retrieved passages and cited, with
the extractive answerer as the fallback whenever the model cannot answer in time.

For each question: if the circuit breaker is open or a daily spending cap is reached, the
extractive answer goes out at once. Otherwise the grounded prompt is streamed from the
provider; the first words must arrive within ``llm_first_token_timeout`` and the whole answer
within ``llm_timeout``, else (or on any provider error) the extractive answer goes out with a
one-line note saying why. The model's citations are checked against the documents it was
given; an answer without a valid citation is reported as not found.

When the passages found carry little of the question (the extractive answerer's support is
below ``llm_rewrite_below``), the asker probably used other words than the documents: the
model is first asked for the documents' words for the question, and the passages of a second
search with them are fused with the first ones before the answer is asked for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ledger_bot import messages
from ledger_bot.answering.base import AnswerContext, Answerer, History, as_turns, user_turns
from ledger_bot.answering.citations import check_citations
from ledger_bot.answering.prompt import (
    Prompt,
    PromptDocument,
    build_prompt,
    build_search_prompt,
    parse_search_words,
)
from ledger_bot.answering.providers import ChatProvider, Completion, ProviderError
from ledger_bot.answering.resilience import CircuitBreaker, Price, price_of
from ledger_bot.documents import Answer, SearchHit, Usage
from ledger_bot.i18n import translate
from ledger_bot.knowledge_base import Retriever
from ledger_bot.metrics import Metrics
from ledger_bot.redaction import redact
from ledger_bot.settings import Settings
from ledger_bot.state import StateStore

log = logging.getLogger(__name__)

# Seconds between two calls of the streaming sink; Slack allows about one update a second.
STREAM_INTERVAL = 1.0
_SPEND_KEY = "llm_cost_usd"


class Spending:
    """Daily spending per asker and in all, in the shared state, against the caps."""

    def __init__(self, state: StateStore, *, daily_cap: float, user_daily_cap: float) -> None:
        self._state = state
        self._daily_cap = daily_cap
        self._user_daily_cap = user_daily_cap

    @staticmethod
    def _day() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%d")

    async def over_cap(self, asker: str | None) -> bool:
        day = self._day()
        if self._daily_cap > 0:
            spent = await self._state.add_to_counter(_SPEND_KEY, day, 0.0, float("inf"))
            if spent.total >= self._daily_cap:
                return True
        if self._user_daily_cap > 0 and asker:
            spent = await self._state.add_to_counter(
                f"{_SPEND_KEY}:{asker}", day, 0.0, float("inf")
            )
            if spent.total >= self._user_daily_cap:
                return True
        return False

    async def add(self, asker: str | None, cost: float) -> None:
        if cost <= 0:
            return
        day = self._day()
        await self._state.add_to_counter(_SPEND_KEY, day, cost, float("inf"))
        if asker:
            await self._state.add_to_counter(f"{_SPEND_KEY}:{asker}", day, cost, float("inf"))


class _Streamer:
    """Collects deltas and passes the redacted answer so far to the sink, at most once per
    ``STREAM_INTERVAL``."""

    def __init__(self, context: AnswerContext | None) -> None:
        self.first = asyncio.Event()
        self.first_at: float | None = None
        self._parts: list[str] = []
        self._sink = context.on_text if context is not None else None
        self._last = 0.0

    def __call__(self, delta: str) -> None:
        self._parts.append(delta)
        now = time.monotonic()
        if not self.first.is_set():
            self.first_at = now
            self.first.set()
        if self._sink is not None and now - self._last >= STREAM_INTERVAL:
            self._last = now
            self._sink(redact("".join(self._parts)))


@dataclass(frozen=True, slots=True)
class SearchAgain:
    """What searching again with the model's words needs: the knowledge base, how many
    passages to take, how to measure the support of the first ones, and below which support
    to search again (see :meth:`LLMAnswerer.answer`)."""

    retriever: Retriever
    limit: int
    support: Callable[[str, Sequence[SearchHit], Sequence[str]], float]
    below: float


def fuse(first: Sequence[SearchHit], second: Sequence[SearchHit], limit: int) -> list[SearchHit]:
    """The hits of two searches in one ranking, by reciprocal rank (k = 60): a chunk both
    found comes first, and what only one found keeps its place among the rest."""
    scores: dict[int, float] = {}
    hits: dict[int, SearchHit] = {}
    for ranking in (first, second):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + 1.0 / (60 + rank)
            hits.setdefault(hit.chunk_id, hit)
    order = sorted(scores, key=lambda chunk: -scores[chunk])  # stable: first search wins ties
    return [hits[chunk] for chunk in order[:limit]]


class LLMAnswerer:
    mode = "llm"

    def __init__(
        self,
        provider: ChatProvider,
        fallback: Answerer,
        settings: Settings,
        metrics: Metrics,
        *,
        prices: Mapping[str, Price],
        breaker: CircuitBreaker | None = None,
        spending: Spending | None = None,
        search_again: SearchAgain | None = None,
    ) -> None:
        self.provider = provider
        self._fallback = fallback
        self._settings = settings
        self._metrics = metrics
        self._prices = prices
        self.breaker = breaker or CircuitBreaker(
            settings.llm_breaker_failures, settings.llm_breaker_cooldown
        )
        self._spending = spending
        self.search_again = search_again
        self._labels = {"provider": provider.name, "model": provider.model}

    async def answer(
        self,
        question: str,
        passages: Sequence[SearchHit],
        history: History = (),
        context: AnswerContext | None = None,
    ) -> Answer:
        asker = context.asker if context is not None else None
        if not self.breaker.allow():
            return await self._fall_back("circuit_open", question, passages, history, context)
        if self._spending is not None and await self._over_cap(asker):
            return await self._fall_back("budget", question, passages, history, context)
        searched: Usage | None = None  # what asking for the documents' words cost
        if self.search_again is not None:
            try:
                passages, searched = await self._with_model_words(
                    self.search_again, question, passages, history, asker
                )
            except Exception as exc:
                if not isinstance(exc, ProviderError):  # a bug, an SDK or search surprise
                    log.exception("searching again with the model's words failed unexpectedly")
                    exc = ProviderError("error", f"{type(exc).__name__}: {exc}")
                return await self._failed(exc, question, passages, history, context)
        prompt = build_prompt(
            redact(question),
            passages,
            [(turn.role, redact(turn.text)) for turn in as_turns(history)],
            language=(context.language if context and context.language else None)
            or "the language of the question",
            context_tokens=self._settings.llm_context_tokens,
            history_tokens=self._settings.llm_history_tokens,
        )
        streamer = _Streamer(context)
        started = time.monotonic()
        try:
            completion = await self._complete(prompt, streamer)
        except Exception as exc:
            if not isinstance(exc, ProviderError):  # a bug or an SDK surprise: still fall back
                log.exception("language model call failed unexpectedly")
                exc = ProviderError("error", f"{type(exc).__name__}: {exc}")
            return await self._failed(exc, question, passages, history, context)
        self.breaker.succeeded()
        self._metrics.llm_requests_total.labels(**self._labels, outcome="ok").inc()
        first = streamer.first_at - started if streamer.first_at is not None else None
        if first is not None:
            self._metrics.llm_time_to_first_token_seconds.labels(**self._labels).observe(first)
        usage = self._account(completion, first)
        await self._spend(asker, usage.cost_usd)
        if searched is not None:  # the answer's usage: both calls
            usage = replace(
                usage,
                input_tokens=usage.input_tokens + searched.input_tokens,
                output_tokens=usage.output_tokens + searched.output_tokens,
                cost_usd=usage.cost_usd + searched.cost_usd,
            )
        return await self._grounded(
            completion, prompt.documents, usage, question, passages, context
        )

    async def _with_model_words(
        self,
        again: SearchAgain,
        question: str,
        passages: Sequence[SearchHit],
        history: History,
        asker: str | None,
    ) -> tuple[Sequence[SearchHit], Usage | None]:
        """``passages``, or, when they carry too little of the question, the same fused with
        those of a search for the words the model gives for it ("freeze an account" ->
        "close account closing_debit"), and what asking for the words cost (None when the
        model was not asked or its reply could not be read). Raises
        ProviderError when the model fails; then the answer falls back at once rather than
        wait for a second failure."""
        earlier = user_turns(history)
        support = await asyncio.to_thread(again.support, question, passages, earlier)
        if support >= again.below:
            return passages, None
        prompt = build_search_prompt(
            redact(question),
            [(turn.role, redact(turn.text)) for turn in as_turns(history)],
            history_tokens=self._settings.llm_history_tokens,
        )
        labels = self._labels
        try:
            completion = await asyncio.wait_for(
                self.provider.complete(prompt, lambda _: None),
                self._settings.llm_first_token_timeout,
            )
        except TimeoutError:
            self._metrics.llm_rewrites_total.labels(**labels, outcome="failed").inc()
            timeout = self._settings.llm_first_token_timeout
            raise ProviderError("timeout", f"no search words within {timeout:g} s") from None
        except ProviderError as exc:
            self._metrics.llm_rewrites_total.labels(**labels, outcome="failed").inc()
            if exc.reason != "bad_reply":
                raise
            # An empty or unreadable reply, from a model that answers: search as it is.
            self._metrics.llm_requests_total.labels(**labels, outcome="error").inc()
            self._metrics.llm_errors_total.labels(**labels, reason=exc.reason).inc()
            return passages, None
        self._metrics.llm_requests_total.labels(**labels, outcome="ok").inc()
        usage = self._account(completion, None)
        await self._spend(asker, usage.cost_usd)
        words = parse_search_words(redact(completion.text))
        if not words:
            self._metrics.llm_rewrites_total.labels(**labels, outcome="no_words").inc()
            return passages, usage
        # The asker's words were searched already: this search is the documents' words only.
        more = await asyncio.to_thread(again.retriever.search, words, again.limit)
        self._metrics.llm_rewrites_total.labels(**labels, outcome="searched").inc()
        log.info("searched again with the model's words", extra={"support": round(support, 3)})
        return fuse(passages, more, max(again.limit, len(passages))), usage

    async def _failed(
        self,
        exc: ProviderError,
        question: str,
        passages: Sequence[SearchHit],
        history: History,
        context: AnswerContext | None,
    ) -> Answer:
        self.breaker.failed()
        self._metrics.llm_requests_total.labels(**self._labels, outcome="error").inc()
        self._metrics.llm_errors_total.labels(**self._labels, reason=exc.reason).inc()
        log.warning("language model failed: %s", exc, extra={"reason": exc.reason})
        return await self._fall_back(exc.reason, question, passages, history, context)

    async def _spend(self, asker: str | None, cost: float) -> None:
        if self._spending is None:
            return
        try:
            await self._spending.add(asker, cost)
        except Exception:
            log.exception("could not record the model's cost")

    async def _over_cap(self, asker: str | None) -> bool:
        assert self._spending is not None
        try:
            return await self._spending.over_cap(asker)
        except Exception:
            log.exception("could not read today's spending; answering with the model")
            return False

    async def _complete(self, prompt: Prompt, streamer: _Streamer) -> Completion:
        settings = self._settings
        task = asyncio.create_task(self.provider.complete(prompt, streamer))
        first = asyncio.create_task(streamer.first.wait())
        try:
            done, _ = await asyncio.wait(
                {task, first},
                timeout=settings.llm_first_token_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not done:
                raise ProviderError(
                    "first_token_timeout",
                    f"no text within {settings.llm_first_token_timeout:g} s",
                )
            remaining = max(0.0, settings.llm_timeout - settings.llm_first_token_timeout)
            try:
                return await asyncio.wait_for(asyncio.shield(task), remaining + 0.001)
            except TimeoutError:
                raise ProviderError(
                    "timeout", f"the answer took longer than {settings.llm_timeout:g} s"
                ) from None
        finally:
            first.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def _account(self, completion: Completion, first: float | None) -> Usage:
        price = price_of(self._prices, completion.model) or price_of(
            self._prices, self.provider.model
        )
        cost = price.cost(completion.input_tokens, completion.output_tokens) if price else 0.0
        metrics = self._metrics
        metrics.llm_tokens_total.labels(**self._labels, direction="input").inc(
            completion.input_tokens
        )
        metrics.llm_tokens_total.labels(**self._labels, direction="output").inc(
            completion.output_tokens
        )
        metrics.llm_cost_usd_total.labels(**self._labels).inc(cost)
        return Usage(
            provider=self.provider.name,
            model=completion.model,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=cost,
            first_token_seconds=first,
        )

    async def _grounded(
        self,
        completion: Completion,
        documents: Sequence[PromptDocument],
        usage: Usage,
        question: str,
        passages: Sequence[SearchHit],
        context: AnswerContext | None,
    ) -> Answer:
        checked = check_citations(redact(completion.text), documents)
        if checked.dropped:
            log.info("dropped %d citations of documents the model was not given", checked.dropped)
        if checked.citations:
            return Answer(
                text=checked.text,
                answered=True,
                citations=checked.citations,
                mode="llm",
                usage=usage,
            )
        # No valid citation: whatever the model wrote is not grounded. Say so, and point to
        # the documents that came closest, as the extractive answerer does.
        closest = await self._fallback.answer(question, passages, (), context)
        suggestions = closest.suggestions or closest.citations
        locale = (context.locale if context is not None else None) or "en"
        return Answer(
            # The extractive answerer's own "not found" with its suggestions, when it agrees.
            text=closest.text if not closest.answered else translate(locale, messages.NOT_FOUND),
            answered=False,
            suggestions=suggestions,
            mode="llm",
            usage=usage,
        )

    async def _fall_back(
        self,
        reason: str,
        question: str,
        passages: Sequence[SearchHit],
        history: History,
        context: AnswerContext | None,
    ) -> Answer:
        self._metrics.llm_fallbacks_total.labels(**self._labels, reason=reason).inc()
        answer = await self._fallback.answer(question, passages, user_turns(history), context)
        note = messages.LLM_FALLBACK_NOTES.get(reason, messages.LLM_FALLBACK_NOTES["error"])
        return replace(answer, fallback_reason=reason, notes=(*answer.notes, note))

    async def close(self) -> None:
        await self.provider.close()
