"""The offline answerer: quotes the passages that answer the question, or says it cannot.

It never writes prose of its own about the subject. It weighs the question's terms by how rare
they are in the knowledge base, checks how much of that weight the best passages carry (the
*support*), and only answers when the support clears ``min_support``. Then it quotes, word for
word, the sentences that carry the most weight, from at most ``max_quotes`` passages, and cites
each one. Below the threshold it says so and lists the closest documents. Its own few words
(the introduction, the source lines) are in the language of the context's ``locale``; the
quotes stay in the language of the documents.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger_bot import messages
from ledger_bot.answering.base import AnswerContext, History, user_turns
from ledger_bot.chunking import FENCE, HEADING_SEPARATOR, SENTENCE_END
from ledger_bot.documents import Answer, Citation, SearchHit
from ledger_bot.i18n import SOURCE_LANGUAGE, Translator, translator
from ledger_bot.knowledge_base import Retriever
from ledger_bot.terms import analyze, analyze_unique

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
MAX_QUOTE_CHARS = 600
MAX_SUGGESTIONS = 3
PASSAGES_PER_SOURCE = 3
SUPPORT_FLOOR = 0.5
HISTORY_TURNS = 2
HISTORY_WEIGHT = 0.5


def split_units(text: str) -> list[str]:
    """The quotable units of a passage: sentences, list items, table rows and code blocks."""
    units: list[str] = []
    paragraph: list[str] = []
    fence: list[str] | None = None

    def flush() -> None:
        if paragraph:
            units.extend(u for u in SENTENCE_END.split(" ".join(paragraph)) if u.strip())
            paragraph.clear()

    for line in text.split("\n"):
        if fence is not None:
            fence.append(line)
            if FENCE.match(line):
                units.append("\n".join(fence))
                fence = None
            continue
        if FENCE.match(line):
            flush()
            fence = [line]
        elif not line.strip() or _TABLE_RULE.match(line):
            flush()
        elif _LIST_ITEM.match(line) or line.lstrip().startswith("|"):
            flush()
            units.append(line.strip())
        else:
            paragraph.append(line.strip())
    if fence is not None:
        units.append("\n".join(fence))
    flush()
    return units


# What a question term in a passage's own section heading counts for when choosing the passage
# to quote (not the document's support): as much as the term in the passage's best sentence,
# and the heading wins a tie.
HEADING_WEIGHT = 1.0


@functools.lru_cache(maxsize=8192)
def _units_of(text: str) -> tuple[list[str], list[frozenset[str]]]:
    """A passage's quotable units and the terms of each. Passages recur across questions
    (the same popular documents keep being retrieved), so their analysis is kept."""
    units = split_units(text)
    return units, [frozenset(analyze(unit)) for unit in units]


@functools.lru_cache(maxsize=8192)
def _terms_of(text: str) -> frozenset[str]:
    return frozenset(analyze(text))


@dataclass(frozen=True, slots=True)
class _Scored:
    """One document's retrieved passages, weighed against the question."""

    hit: SearchHit  # the document's best passage, which stands for it in citations
    support: float
    units: list[str]
    unit_weights: list[float]


def group_by_source(passages: Sequence[SearchHit], per_source: int) -> list[list[SearchHit]]:
    """Passages grouped by document, documents in order of their best passage."""
    groups: dict[str, list[SearchHit]] = {}
    for hit in passages:
        group = groups.setdefault(hit.source, [])
        if len(group) < per_source:
            group.append(hit)
    return list(groups.values())


class ExtractiveAnswerer:
    """Answers by quoting the knowledge base; see the module docstring."""

    mode = "extractive"

    def __init__(
        self, retriever: Retriever, *, min_support: float = 0.5, max_quotes: int = 3
    ) -> None:
        self._retriever = retriever
        self._min_support = min_support
        self._max_quotes = max_quotes

    async def answer(
        self,
        question: str,
        passages: Sequence[SearchHit],
        history: History = (),
        context: AnswerContext | None = None,
    ) -> Answer:
        language = (context.locale if context is not None else None) or SOURCE_LANGUAGE
        return await asyncio.to_thread(
            self.compose, question, passages, user_turns(history), language=language
        )

    def compose(
        self,
        question: str,
        passages: Sequence[SearchHit],
        history: Sequence[str] = (),
        *,
        language: str = SOURCE_LANGUAGE,
    ) -> Answer:
        """The answer to ``question`` from ``passages`` (best first), computed synchronously,
        its own words in ``language`` (a code of :data:`ledger_bot.i18n.LANGUAGES`).

        Terms that only the earlier turns in ``history`` contain count at half weight, so a
        follow-up ("and how do I undo it?") is read in the light of what came before.
        """
        tr = translator(language)
        terms = analyze_unique([question])
        if not terms or not passages:
            return self._not_found(passages, tr)
        context_terms = [t for t in analyze_unique(history[-HISTORY_TURNS:]) if t not in terms]
        weights = self._retriever.term_weights(terms + context_terms)
        for term in context_terms:
            weights[term] *= HISTORY_WEIGHT
        total = sum(weights.values()) or 1.0
        groups = group_by_source(passages, PASSAGES_PER_SOURCE)
        scored = [self._score(group, weights, total) for group in groups]
        best_support = max(item.support for item in scored)
        if best_support < self._min_support:
            return self._not_found(passages, tr)
        # Passages that carry most of what the best one does, in retrieval order.
        floor = max(self._min_support, best_support * SUPPORT_FLOOR)
        chosen = [item for item in scored if item.support >= floor][: self._max_quotes]
        return self._compose(chosen, tr)

    def _score(self, group: list[SearchHit], weights: dict[str, float], total: float) -> _Scored:
        """Support of one document: the weight its title, headings and retrieved passages carry;
        its quotable units are those of the passage with the best single unit."""
        present = set(_terms_of(group[0].title))
        best: tuple[tuple[float, float], SearchHit, list[str], list[float]] | None = None
        for hit in group:
            units, unit_terms = _units_of(hit.text)
            present |= _terms_of(hit.heading).union(*unit_terms)
            unit_weights = [sum(w for t, w in weights.items() if t in ts) for ts in unit_terms]
            # The section a passage is under speaks for it: of two passages that both mention
            # `exceeds_credits`, the one headed "exceeds_credits" is the one to quote.
            heading = _terms_of(hit.heading.split(HEADING_SEPARATOR)[-1])
            named = HEADING_WEIGHT * sum(w for t, w in weights.items() if t in heading)
            key = (max(unit_weights, default=0.0) + named, named)
            if best is None or key > best[0]:
                best = (key, hit, units, unit_weights)
        assert best is not None
        support = sum(w for term, w in weights.items() if term in present) / total
        return _Scored(best[1], support, best[2], best[3])

    def _quote(self, item: _Scored) -> str:
        """The best unit of a passage, extended while it leads into what follows."""
        if not item.units:
            return item.hit.text[:MAX_QUOTE_CHARS]
        best = max(range(len(item.units)), key=lambda i: (item.unit_weights[i], -i))
        picked = [item.units[best]]
        index = best + 1
        while index < len(item.units) and len(" ".join(picked)) < 200:
            following = item.units[index]
            leads_on = picked[-1].rstrip().endswith(":") or item.unit_weights[index] > 0
            if not leads_on or len(" ".join(picked)) + len(following) > MAX_QUOTE_CHARS:
                break
            picked.append(following)
            index += 1
        text = (
            "\n".join(picked)
            if any("\n" in unit or _LIST_ITEM.match(unit) for unit in picked)
            else " ".join(picked)
        )
        return text if len(text) <= MAX_QUOTE_CHARS else text[: MAX_QUOTE_CHARS - 1].rstrip() + "…"

    def _compose(self, chosen: list[_Scored], tr: Translator) -> Answer:
        citations: list[Citation] = []
        numbers: dict[str, int] = {}
        parts = [tr(messages.ANSWER_INTRO)]
        quotes = []
        for item in chosen:
            hit = item.hit
            if hit.source not in numbers:
                citations.append(Citation(hit.source, hit.title, hit.url, hit.score))
                numbers[hit.source] = len(citations)
            location = hit.title
            if hit.heading and hit.heading != hit.title:
                location = (
                    f"{hit.title}{HEADING_SEPARATOR}{hit.heading.split(HEADING_SEPARATOR)[-1]}"
                )
            quote = self._quote(item)
            quotes.append(quote)
            quoted = "\n".join("> " + line for line in quote.split("\n"))
            label = tr(messages.QUOTE_SOURCE, location=location, number=numbers[hit.source])
            parts.append(f"{quoted}\n— {label}")
        return Answer(
            text="\n\n".join(parts),
            answered=True,
            citations=tuple(citations),
            mode=self.mode,
            quotes=tuple(quotes),
        )

    def _not_found(self, passages: Sequence[SearchHit], tr: Translator) -> Answer:
        suggestions: list[Citation] = []
        for hit in passages:
            if all(s.source != hit.source for s in suggestions) and hit.score > 0:
                suggestions.append(Citation(hit.source, hit.title, hit.url, hit.score))
            if len(suggestions) == MAX_SUGGESTIONS:
                break
        lines = [tr(messages.NOT_FOUND)]
        if suggestions:
            lines.append(tr(messages.NOT_FOUND_SUGGESTIONS))
            lines.extend(f"• {s.title} ({s.source})" for s in suggestions)
        else:
            lines.append(tr(messages.NOT_FOUND_NO_SUGGESTIONS))
        return Answer(
            text="\n".join(lines), answered=False, suggestions=tuple(suggestions), mode=self.mode
        )
