"""Turning text into index terms: tokenise, drop stop words, stem.

The same analysis runs on documents at index time and on questions at query time, so the
full-text index stores already-analysed terms and SQLite's FTS5 only has to split on spaces.
Doing it here rather than with FTS5's built-in ``porter`` tokenizer lets the answerer weigh a
question's terms by the index's own document frequencies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import snowballstemmer

# Letters and digits; underscores and hyphens split identifiers (`exceeds_credits`) into words.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# A snake_case identifier is also kept whole, so `get_account_balances` matches itself best.
_IDENTIFIER = re.compile(r"[^\W_]+(?:_[^\W_]+)+", re.UNICODE)

_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can cannot could did do does doing don down during
    each few for from further had has have having he her here hers herself him himself his how
    i if in into is isn it its itself just let me more most my myself no nor not of off on
    once only or other ought our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would
    you your yours yourself yourselves also get got gets getting s t d ll m re ve y hi hey
    hello thanks thank please pls ok okay anyone someone somebody something anything know tell
    need want wanted trying try tried guys folks team question questions quick wondering us
    via use using used say says said like
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

_stemmer = snowballstemmer.stemmer("english")
_stem_cache: dict[str, str] = {}
_STEM_CACHE_LIMIT = 500_000


def stem(word: str) -> str:
    cached = _stem_cache.get(word)
    if cached is None:
        cached = _stemmer.stemWord(word) if word.isalpha() else word
        if len(_stem_cache) < _STEM_CACHE_LIMIT:
            _stem_cache[word] = cached
    return cached


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-folded words of ``text``, in order."""
    return _TOKEN.findall(_fold(text))


def analyze(text: str) -> list[str]:
    """The index terms of ``text``: tokens without stop words, stemmed, in order, followed by
    any snake_case identifiers whole (``exceeds_credits`` gives ``exceed``, ``credit`` and
    ``exceeds_credits``)."""
    terms = [stem(token) for token in tokenize(text) if token not in STOP_WORDS]
    if "_" in text:
        terms.extend(_IDENTIFIER.findall(_fold(text)))
    return terms


def analyze_unique(texts: Iterable[str]) -> list[str]:
    """Distinct index terms of several texts, in order of first appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        for term in analyze(text):
            seen.setdefault(term, None)
    return list(seen)
