"""An in-memory BM25 index over the knowledge base's FTS5 rows, scored with numpy.

FTS5 answers an OR query by computing ``bm25()`` for every row that holds any query term: on a
large knowledge base a quarter to a half of all rows for an ordinary question. BM25 is a sum of
one term per query term, so this index keeps, for every index term, the rows holding it and
the term's weighted frequency in each (a compact array pair), and for every row its length
normalisation. A query is then a few array operations: each query term's contributions,
summed per row with ``bincount``, the best rows picked with ``argpartition``.

The scores are FTS5's ``bm25()`` exactly, not an approximation: the same formula (FTS5's
``fts5Bm25Function``: k1 = 1.2, b = 0.75, idf = ln((N - n + 0.5) / (n + 0.5)) floored at 1e-6,
column weights added per occurrence), the same double-precision operations in the same order,
summed over the query terms in the query's order. Ties are broken by chunk id, as FTS5's
rowid-ordered scan does. The index reads the FTS5 table's own stored columns (already-analysed
terms separated by spaces, see :mod:`ledger_bot.terms`), so its terms are the ones FTS5 holds.

numpy is imported by this module only, and this module only when an index is built, so a
short-lived command on a small knowledge base never pays for the import.
"""

from __future__ import annotations

import bisect
import math
import sqlite3
from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

# FTS5's bm25() constants (sqlite/ext/fts5/fts5_aux.c).
K1 = 1.2
B = 0.75
IDF_FLOOR = 1e-6


@dataclass(frozen=True, slots=True, eq=False)
class ImpactIndex:
    """BM25 postings of one state of the knowledge base (see :func:`build_impact_index`)."""

    version: int
    chunk_ids: npt.NDArray[np.int64]  # the FTS5 rowid (chunk id) of each row, ascending
    length_norms: npt.NDArray[np.float64]  # k1 * (1 - b + b * D / avgdl) for each row
    source_ranks: npt.NDArray[np.int32]  # each row's position in `sources` (-1: no chunk)
    sources: list[str]  # every document source, sorted as SQLite compares them
    vocabulary: dict[str, int]  # index term -> its postings' slice in `offsets`
    offsets: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int32]  # postings: row numbers, grouped by term
    frequencies: npt.NDArray[np.float32]  # postings: weighted term frequency in that row

    @property
    def size(self) -> int:
        return len(self.chunk_ids)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the vocabulary and source strings not counted)."""
        arrays = (
            self.chunk_ids,
            self.length_norms,
            self.source_ranks,
            self.offsets,
            self.rows,
            self.frequencies,
        )
        return sum(part.nbytes for part in arrays)

    def top(
        self, terms: Sequence[str], limit: int, source_prefix: str | None = None
    ) -> list[tuple[int, float]]:
        """The ``limit`` best (chunk id, BM25 score) pairs for ``terms``, best first.

        ``terms`` must be distinct (as the FTS5 query's phrases are). Only rows holding at
        least one term count, as with FTS5's OR query; with ``source_prefix``, only rows of
        documents whose source starts with it.
        """
        total = self.size
        row_parts: list[npt.NDArray[np.int32]] = []
        score_parts: list[npt.NDArray[np.float64]] = []
        for term in terms:
            number = self.vocabulary.get(term)
            if number is None:
                continue
            start, end = int(self.offsets[number]), int(self.offsets[number + 1])
            rows = self.rows[start:end]
            frequency = self.frequencies[start:end].astype(np.float64)
            hits = end - start
            idf = math.log((total - hits + 0.5) / (hits + 0.5))
            if idf <= 0.0:
                idf = IDF_FLOOR
            # fts5Bm25Function: idf * ((f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl)))
            row_parts.append(rows)
            score_parts.append(
                idf * ((frequency * (K1 + 1.0)) / (frequency + self.length_norms[rows]))
            )
        if not row_parts or limit < 1:
            return []
        rows = np.concatenate(row_parts)
        # bincount adds in array order, so each row's score is summed in query-term order
        # starting from 0.0, as FTS5 does.
        scores = np.bincount(rows, weights=np.concatenate(score_parts), minlength=total)
        if source_prefix:
            low = bisect.bisect_left(self.sources, source_prefix)
            high = bisect.bisect_left(self.sources, source_prefix + "\U0010ffff")
            outside = (self.source_ranks < low) | (self.source_ranks >= high)
            scores[outside] = 0.0
        # Every matching row scores above zero (each term's idf is at least IDF_FLOOR).
        candidates = np.flatnonzero(scores)
        values = scores[candidates]
        if len(candidates) > limit:
            # The limit-th best score; every row scoring at least that is kept, so rows tied
            # with it are ordered by chunk id below, not by where the partition left them.
            threshold = np.partition(values, len(values) - limit)[len(values) - limit]
            kept = values >= threshold
            candidates, values = candidates[kept], values[kept]
        best = candidates[np.lexsort((candidates, -values))][:limit]
        return [(int(self.chunk_ids[row]), float(scores[row])) for row in best]


def build_impact_index(
    db: sqlite3.Connection, version: int, weights: Sequence[float]
) -> ImpactIndex:
    """Read every FTS5 row of ``db`` (inside the caller's read transaction) into an index.

    ``weights`` are the bm25() column weights of (title, heading, body).
    """
    title_weight, heading_weight, body_weight = weights
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__  # a new term gets the next number
    number_of = vocabulary.__getitem__
    terms = array("i")
    frequencies = array("f")
    distinct = array("i")
    lengths = array("q")
    chunk_ids = array("q")
    title_counts: dict[str, Counter[str]] = {}
    rows = db.execute("SELECT rowid, title, heading, body FROM chunks_fts ORDER BY rowid")
    for rowid, title, heading, body in rows:
        body_terms = body.split()
        heading_terms = heading.split()
        # Counter counts in C; its int counts take float weights in place below.
        counts = cast("dict[str, float]", Counter(body_terms))
        if body_weight != 1.0:
            counts = {term: count * body_weight for term, count in counts.items()}
        for term in heading_terms:
            counts[term] = counts.get(term, 0) + heading_weight
        # Every chunk of a document repeats its title: count each title once.
        in_title = title_counts.get(title)
        if in_title is None:
            in_title = title_counts[title] = Counter(title.split())
        for term, count in in_title.items():
            counts[term] = counts.get(term, 0) + count * title_weight
        terms.extend(map(number_of, counts))
        frequencies.extend(counts.values())
        distinct.append(len(counts))
        lengths.append(len(body_terms) + len(heading_terms) + in_title.total())
        chunk_ids.append(rowid)
    del title_counts

    ids = np.frombuffer(chunk_ids, dtype=np.int64).copy()
    length = np.frombuffer(lengths, dtype=np.int64).astype(np.float64)
    total = len(ids)
    # fts5Bm25GetData: avgdl = (double)nToken / (double)nRow.
    average = float(length.sum()) / total if total else 1.0
    length_norms = K1 * (1 - B + B * length / average)

    # Group the postings by term (a stable sort keeps each term's rows ascending), dropping
    # each intermediate as soon as it is used: the build's peak memory is about three times
    # the finished index.
    term_numbers = np.frombuffer(terms, dtype=np.int32)
    offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    np.cumsum(np.bincount(term_numbers, minlength=len(vocabulary)), out=offsets[1:])
    order = np.argsort(term_numbers, kind="stable")
    del term_numbers, terms
    row_numbers = np.repeat(
        np.arange(total, dtype=np.int32), np.frombuffer(distinct, dtype=np.int32)
    )[order]
    weighted = np.frombuffer(frequencies, dtype=np.float32)[order]
    del order, frequencies

    sources, source_ranks = _source_ranks(db, ids)
    return ImpactIndex(
        version=version,
        chunk_ids=ids,
        length_norms=length_norms,
        source_ranks=source_ranks,
        sources=sources,
        vocabulary=dict(vocabulary),
        offsets=offsets,
        rows=row_numbers,
        frequencies=weighted,
    )


def _source_ranks(
    db: sqlite3.Connection, chunk_ids: npt.NDArray[np.int64]
) -> tuple[list[str], npt.NDArray[np.int32]]:
    """Sorted distinct sources, and for each row the position of its document's source."""
    pairs = db.execute(
        "SELECT c.id, d.source FROM chunks c JOIN documents d ON d.id = c.document_id"
    ).fetchall()
    # Python orders str by code point, as SQLite's BINARY collation orders UTF-8 bytes.
    sources = sorted({source for _, source in pairs})
    rank_of = {source: rank for rank, source in enumerate(sources)}
    ranks = np.full(len(chunk_ids), -1, dtype=np.int32)
    if pairs:
        ids = np.fromiter((chunk_id for chunk_id, _ in pairs), dtype=np.int64, count=len(pairs))
        found = np.fromiter((rank_of[source] for _, source in pairs), np.int32, len(pairs))
        positions = np.searchsorted(chunk_ids, ids)
        inside = positions < len(chunk_ids)
        inside[inside] = chunk_ids[positions[inside]] == ids[inside]
        ranks[positions[inside]] = found[inside]
    return sources, ranks
