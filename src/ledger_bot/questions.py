"""Cleaning up a question before it is searched: control characters, length, emptiness."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ledger_bot import messages
from ledger_bot.errors import InvalidQuestion

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t]+")
# Slack mentions of people, groups and channels, and broadcast mentions such as <!here>.
_MENTIONS = re.compile(r"<[@!#][^>\s]*>")


@dataclass(frozen=True, slots=True)
class PreparedQuestion:
    text: str
    notes: tuple[str, ...] = ()


def printable(raw: str) -> str:
    """``raw`` without control characters, lone surrogates or runs of spaces, trimmed."""
    text = raw.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text.replace("\r\n", "\n")))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).strip()


def prepare_question(raw: str, max_chars: int) -> PreparedQuestion:
    """The searchable form of ``raw``: printable, trimmed, at most ``max_chars`` long.

    Raises InvalidQuestion when nothing searchable is left.
    """
    text = printable(raw)
    if not any(ch.isalnum() for ch in _MENTIONS.sub(" ", text)):
        raise InvalidQuestion(messages.EMPTY_QUESTION)
    notes: list[str] = []
    if len(text) > max_chars:
        text = text[:max_chars].rstrip()
        notes.append(messages.QUESTION_TRUNCATED.format(limit=max_chars))
    return PreparedQuestion(text=text, notes=tuple(notes))
