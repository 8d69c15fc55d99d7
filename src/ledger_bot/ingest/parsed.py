"""What a parser returns, and the shape every parser has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ledger_bot.documents import Document


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The documents found in one file, plus notes about parts of it that were skipped.

    A warning names where the problem is, e.g. ``"line 7: not valid JSON (Expecting value)
    – skipped"``; the rest of the file is still indexed.
    """

    documents: tuple[Document, ...]
    warnings: tuple[str, ...] = ()


class Parser(Protocol):
    """Turns the bytes of one file into documents; raises ``DocumentError`` when it cannot."""

    def __call__(self, data: bytes, relpath: str, *, base_url: str | None = None) -> ParsedFile: ...
