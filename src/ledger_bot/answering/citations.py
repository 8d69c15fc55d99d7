"""Checking a model's citations against the documents it was given.

The model cites documents as ``[n]``. A number that names no document of the prompt is
dropped from the text; the documents actually cited are renumbered 1, 2, … in the order they
are first cited, so the answer's references and its source list agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger_bot.answering.prompt import PromptDocument
from ledger_bot.documents import Citation

# [1], [1, 2], [1][2], [Document 3], [doc 2]: what models write when asked for [n].
_REFERENCE = re.compile(r"\[(?:(?:doc(?:ument)?|source)\s*)?(\d{1,3}(?:\s*,\s*\d{1,3})*)\]", re.I)
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([.,;:!?])")
_DOUBLE_SPACES = re.compile(r"[ \t]{2,}")


@dataclass(frozen=True, slots=True)
class CheckedAnswer:
    text: str
    citations: tuple[Citation, ...]
    dropped: int  # references to documents the model was not given


def check_citations(text: str, documents: Sequence[PromptDocument]) -> CheckedAnswer:
    by_number = {document.number: document for document in documents}
    renumbered: dict[int, int] = {}
    cited: list[PromptDocument] = []
    dropped = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal dropped
        kept: list[str] = []
        for part in match.group(1).split(","):
            number = int(part)
            document = by_number.get(number)
            if document is None:
                dropped += 1
                continue
            if number not in renumbered:
                renumbered[number] = len(renumbered) + 1
                cited.append(document)
            new = f"[{renumbered[number]}]"
            if new not in kept:
                kept.append(new)
        return "".join(kept)

    checked = _REFERENCE.sub(replace, text)
    checked = _DOUBLE_SPACES.sub(" ", _SPACE_BEFORE_PUNCT.sub(r"\1", checked)).strip()
    citations = tuple(
        Citation(
            source=document.source,
            title=document.title,
            url=document.url,
            score=max(hit.score for hit in document.passages),
        )
        for document in cited
    )
    return CheckedAnswer(text=checked, citations=citations, dropped=dropped)
