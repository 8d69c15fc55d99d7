"""The offline answerer: quotes the passages that answer the question, or says it cannot.

It never writes prose of its own about the subject. It weighs the question's terms by how rare
they are in the knowledge base, checks how much of that weight the best passages carry (the
*support*), and only answers when the support clears ``min_support``. Then it quotes, word for
word, the sentence that carries the most weight with the sentences around it in its section,
from the best document, from a second passage of it when that covers another part of the
question, and from the other documents that carry at least half the best support (at most
``max_quotes`` passages), and cites each document. Below the threshold it says so and lists
the closest documents. Its own few words
(the introduction, the source lines) are in the language of the context's ``locale``; the
quotes stay in the language of the documents.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger_bot import messages
from ledger_bot.answering.base import AnswerContext, History, user_turns
from ledger_bot.chunking import FENCE, HEADING_SEPARATOR, SENTENCE_END, TABLE_RULE
from ledger_bot.documents import Answer, Citation, SearchHit
from ledger_bot.i18n import SOURCE_LANGUAGE, Translator, translator
from ledger_bot.knowledge_base import Retriever
from ledger_bot.synonyms import SynonymMatch
from ledger_bot.terms import analyze, analyze_unique

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
# Markup that is not text: a footnote's definition line, footnote marks, HTML tags and comments.
_FOOTNOTE = re.compile(r"^\s*\[\^[^\]]+\]:")
_MARKUP = re.compile(r"\[\^[^\]\s]+\]|<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
MAX_QUOTE_CHARS = 600
# How much of a section is quoted around its best sentence: more from the best document.
FIRST_QUOTE_CHARS = 450
QUOTE_CHARS = 300
# A paragraph that opens with a bold term ("**Soft close.** The period state…"): a new entry
# of a glossary or FAQ, which a quote of the entry before it does not run into.
_NEW_ENTRY = re.compile(r"\*\*[^*\n]{1,80}(?:[.:]\*\*|\*\*[.:])")
# A sentence that leans on the one before it.
_REFERS_BACK = re.compile(r"(?:This|That|These|Those|It|They|Then|So|Otherwise|However)\b")
MAX_SUGGESTIONS = 3
PASSAGES_PER_SOURCE = 3
SUPPORT_FLOOR = 0.5
HISTORY_TURNS = 2
HISTORY_WEIGHT = 0.5


def split_units(text: str) -> list[str]:
    """The quotable units of a passage: sentences, list items, table rows and code blocks.

    A list item is one unit with the lines that continue it (Markdown wraps long items onto
    the following lines), so an item is never quoted cut off in the middle. Footnote
    definitions, footnote marks and HTML tags are markup, not text, and are left out.
    """
    units: list[str] = []
    paragraph: list[str] = []
    item: list[str] = []
    fence: list[str] | None = None
    footnote = False

    def flush() -> None:
        if paragraph:
            text = _MARKUP.sub("", " ".join(paragraph))
            units.extend(u.strip() for u in SENTENCE_END.split(text) if u.strip())
            paragraph.clear()
        if item:
            text = _MARKUP.sub("", " ".join(item)).strip()
            if not _LIST_ITEM.fullmatch(text + " "):
                units.append(text)
            item.clear()

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
        elif not line.strip() or TABLE_RULE.match(line) or _FOOTNOTE.match(line):
            flush()
            footnote = bool(_FOOTNOTE.match(line))
        elif footnote:
            continue  # the rest of a footnote's definition
        elif line.lstrip().startswith("|"):
            flush()
            units.append(" ".join(line.split()))  # without the padding that aligns columns
        elif _LIST_ITEM.match(line):
            flush()
            item.append(line.strip())
        elif item:
            item.append(line.strip())
        else:
            paragraph.append(line.strip())
    if fence is not None:
        units.append("\n".join(fence))
    flush()
    return units


def _is_block(unit: str) -> bool:
    """A code block or a table row: quoted on lines of its own."""
    return "\n" in unit or unit.startswith("|")


def _table_start(units: Sequence[str], index: int) -> int:
    """Where the table holding ``units[index]`` starts (its header row), else ``index``."""
    while index > 0 and units[index].startswith("|") and units[index - 1].startswith("|"):
        index -= 1
    return index


def _opens_table(units: Sequence[str], index: int) -> bool:
    return units[index].startswith("|") and _table_start(units, index) == index


def _table_end(units: Sequence[str], index: int) -> int:
    """One past the last row of the table starting at ``units[index]``."""
    while index < len(units) and units[index].startswith("|"):
        index += 1
    return index


def clip_quote(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters with an ellipsis. A cut inside a code block
    falls at a line end and closes the block's fence, so what follows is not read as code."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    open_fence = None
    for line in head.split("\n"):
        marker = FENCE.match(line)
        if marker:
            open_fence = None if open_fence else marker.group(1)
    if open_fence is None:
        return head.rstrip() + "…"
    head = head[: max(head.rfind("\n"), 0)]
    return f"{head}\n…\n{open_fence}"


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


def _with_groups(terms: frozenset[str], matches: Sequence[SynonymMatch]) -> frozenset[str]:
    """``terms`` and the term of each synonym group in ``matches`` that they hold a member of."""
    named = [match.group.term for match in matches if match.group.is_in(terms)]
    return terms.union(named) if named else terms


@dataclass(frozen=True, slots=True)
class _Passage:
    """One retrieved passage, its quotable units and how much of the question each carries."""

    hit: SearchHit
    units: list[str]
    unit_terms: list[frozenset[str]]
    unit_weights: list[float]
    rank: tuple[float, float]  # best unit's weight plus the heading's, then the heading's


@dataclass(frozen=True, slots=True)
class _Scored:
    """One document's retrieved passages, weighed against the question."""

    support: float
    passages: list[_Passage]  # best first; the first stands for the document in citations


@dataclass(frozen=True, slots=True)
class _Quote:
    passage: _Passage
    text: str
    terms: frozenset[str]


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
        self, retriever: Retriever, *, min_support: float = 0.5, max_quotes: int = 4
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
        documents = self._documents(question, passages, history)
        if documents is None:
            return self._not_found(passages, tr)
        weights, scored = documents
        best_support = max(item.support for item in scored)
        if best_support < self._min_support:
            return self._not_found(passages, tr)
        # Documents that carry most of what the best one does, quoted in retrieval order. Of
        # the best document, a second passage too when it answers a part of the question that
        # the first leaves out (the CPU section after the memory one for "RAM and cores?");
        # of each other document, the passage that adds most to what is quoted already.
        floor = best_support * SUPPORT_FLOOR
        eligible = [item for item in scored if item.support >= floor]
        quotes = [self._quote(eligible[0].passages[0], FIRST_QUOTE_CHARS)]
        covered = set(quotes[0].terms)

        def most_new(passages: Sequence[_Passage]) -> tuple[float, _Quote | None]:
            best: tuple[float, _Quote | None] = (0.0, None)
            for passage in passages:
                quote = self._quote(passage, QUOTE_CHARS)
                gain = sum(weights[t] for t in quote.terms - covered if t in weights)
                if best[1] is None or gain > best[0]:
                    best = (gain, quote)
            return best

        gain, second = most_new(eligible[0].passages[1:])
        if second is not None and gain > 0 and len(quotes) < self._max_quotes:
            quotes.append(second)
            covered |= second.terms
        for item in eligible[1:]:
            if len(quotes) >= self._max_quotes:
                break
            _, quote = most_new(item.passages)
            assert quote is not None
            quotes.append(quote)
            covered |= quote.terms
        return self._compose(quotes, tr)

    def support(
        self, question: str, passages: Sequence[SearchHit], history: Sequence[str] = ()
    ) -> float:
        """How much of ``question``'s weight the best document of ``passages`` carries, from
        0 to 1: what :meth:`compose` answers from when it reaches ``min_support``."""
        documents = self._documents(question, passages, history)
        return 0.0 if documents is None else max(item.support for item in documents[1])

    def _documents(
        self, question: str, passages: Sequence[SearchHit], history: Sequence[str]
    ) -> tuple[dict[str, float], list[_Scored]] | None:
        """The weight of each term of the question, and each document of ``passages`` (in
        retrieval order) scored against them; None when there is nothing to weigh."""
        weighed = self._weigh(question, history)
        if weighed is None or not passages:
            return None
        weights, matches = weighed
        total = sum(weights.values()) or 1.0
        groups = group_by_source(passages, PASSAGES_PER_SOURCE)
        return weights, [self._score(group, weights, total, matches) for group in groups]

    def _weigh(
        self, question: str, history: Sequence[str]
    ) -> tuple[dict[str, float], list[SynonymMatch]] | None:
        """The weight of each term of ``question`` (and, at half weight, of the earlier turns),
        with the synonym groups it names; None when it has no term to search for."""
        terms = analyze_unique([question])
        if not terms:
            return None
        context_terms = [t for t in analyze_unique(history[-HISTORY_TURNS:]) if t not in terms]
        weights = self._retriever.term_weights(terms + context_terms)
        for term in context_terms:
            weights[term] *= HISTORY_WEIGHT
        # A group of the team's synonyms that the question names stands in for the words
        # that name it, with their weight: a passage holding any member of the group holds
        # them ("freeze" is found in "close the account").
        matches = self._retriever.synonyms().match(weights)
        for match in matches:
            weight = sum(weights.pop(term, 0.0) for term in match.replaces)
            if weight > 0:
                weights[match.group.term] = weight
        return weights, matches

    def _score(
        self,
        group: list[SearchHit],
        weights: dict[str, float],
        total: float,
        matches: Sequence[SynonymMatch] = (),
    ) -> _Scored:
        """Support of one document: the weight its title, headings and retrieved passages
        carry. Its passages are ranked by their best single unit."""
        present = set(_with_groups(_terms_of(group[0].title), matches))
        names = set(present)
        passages = []
        for hit in group:
            units, unit_terms = _units_of(hit.text)
            if matches:
                unit_terms = [_with_groups(terms, matches) for terms in unit_terms]
            heading_terms = _with_groups(_terms_of(hit.heading), matches)
            names |= heading_terms
            present |= heading_terms.union(*unit_terms)
            unit_weights = [sum(w for t, w in weights.items() if t in ts) for ts in unit_terms]
            # The section a passage is under speaks for it: of two passages that both mention
            # `exceeds_credits`, the one headed "exceeds_credits" is the one to quote.
            heading = _with_groups(_terms_of(hit.heading.split(HEADING_SEPARATOR)[-1]), matches)
            named = HEADING_WEIGHT * sum(w for t, w in weights.items() if t in heading)
            rank = (max(unit_weights, default=0.0) + named, named)
            passages.append(_Passage(hit, units, unit_terms, unit_weights, rank))
        passages.sort(key=lambda passage: passage.rank, reverse=True)  # stable: ties keep order
        # A phrase of the synonyms file may be spread over the document's passages.
        present.update(_with_groups(frozenset(present), matches))
        # An identifier of the question (`get_account_balances`) that names the document or
        # one of its sections is what the question is about: it counts twice.
        named = sum(w for term, w in weights.items() if "_" in term and term in names)
        support = sum(w for term, w in weights.items() if term in present) + named
        return _Scored(min(1.0, support / total), passages)

    def _quote(self, passage: _Passage, budget: int) -> _Quote:
        """The best unit of a passage and what follows it in the same section, up to about
        ``budget`` characters, then what comes before it if there is room: one sentence is
        seldom the whole answer (the fix after the symptom, the table after "one of these:").
        A unit that refers back ("This means…") always brings the one before it. Code blocks
        and tables only come along when the text leads into them or they hold question terms;
        of a table, the rows that hold question terms are quoted, under its header row.
        """
        units, weights = passage.units, passage.unit_weights
        if not units:
            text = clip_quote(passage.hit.text, MAX_QUOTE_CHARS)
            return _Quote(passage, text, _terms_of(text))
        best = max(range(len(units)), key=lambda i: (weights[i], -i))
        start = best - 1 if best > 0 and _REFERS_BACK.match(units[best]) else best
        picked = list(range(start, best + 1))
        size = sum(len(units[i]) + 1 for i in picked)
        index = best + 1
        while index < len(units):
            following = units[index]
            introduced = units[picked[-1]].rstrip().endswith(":")
            # What the quote introduces ("The values are:") comes even past the budget.
            limit = MAX_QUOTE_CHARS if introduced else budget
            leads_on = introduced or weights[index] > 0
            if _opens_table(units, index) and not units[picked[-1]].startswith("|"):
                if leads_on or any(w > 0 for w in weights[index : _table_end(units, index)]):
                    picked += self._rows(units, weights, index, limit - size)
                break  # the quote ends with the table
            if size + len(following) > limit:
                break
            if _NEW_ENTRY.match(following) and not leads_on:
                break
            if _is_block(following) and not leads_on and not _is_block(units[picked[-1]]):
                break
            picked.append(index)
            size += len(following) + 1
            index += 1
        # At the end of its section, the sentences before it say what it is about.
        while picked[0] > 0 and not _is_block(units[picked[0] - 1]):
            if _is_block(units[picked[0]]) or size + len(units[picked[0] - 1]) > budget:
                break
            if _NEW_ENTRY.match(units[picked[0]]):
                break
            picked.insert(0, picked[0] - 1)
            size += len(units[picked[0]]) + 1
        header = _table_start(units, picked[0])
        if header < picked[0]:  # a row of a table: under the table's header row
            picked.insert(0, header)
        text = units[picked[0]]
        for before, unit in itertools.pairwise(units[i] for i in picked):
            on_its_own = any(_is_block(u) or _LIST_ITEM.match(u) for u in (before, unit))
            text += ("\n" if on_its_own else " ") + unit
        terms = frozenset().union(*(passage.unit_terms[i] for i in picked))
        return _Quote(passage, clip_quote(text, MAX_QUOTE_CHARS), terms)

    @staticmethod
    def _rows(units: list[str], weights: list[float], header: int, room: int) -> list[int]:
        """The header row of the table starting at ``header`` and as many of its rows as fit in
        ``room`` characters, those holding most of the question first, in the table's order.
        Nothing when not even one row fits."""
        body = range(header + 1, _table_end(units, header))
        rows, size = [], len(units[header]) + 1
        for i in sorted(body, key=lambda i: (-weights[i], i)):
            if size + len(units[i]) > room:
                break
            rows.append(i)
            size += len(units[i]) + 1
        return [header, *sorted(rows)] if rows else []

    def _compose(self, quotes: list[_Quote], tr: Translator) -> Answer:
        citations: list[Citation] = []
        numbers: dict[str, int] = {}
        parts = [tr(messages.ANSWER_INTRO)]
        for quote in quotes:
            hit = quote.passage.hit
            if hit.source not in numbers:
                citations.append(Citation(hit.source, hit.title, hit.url, hit.score))
                numbers[hit.source] = len(citations)
            location = hit.title
            if hit.heading and hit.heading != hit.title:
                location = (
                    f"{hit.title}{HEADING_SEPARATOR}{hit.heading.split(HEADING_SEPARATOR)[-1]}"
                )
            quoted = "\n".join("> " + line for line in quote.text.split("\n"))
            label = tr(messages.QUOTE_SOURCE, location=location, number=numbers[hit.source])
            parts.append(f"{quoted}\n— {label}")
        return Answer(
            text="\n\n".join(parts),
            answered=True,
            citations=tuple(citations),
            mode=self.mode,
            quotes=tuple(quote.text for quote in quotes),
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
