"""The interface every answerer implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger_bot.documents import Answer, SearchHit

TextSink = Callable[[str], None]
"""Receives the answer so far, each time a streaming answerer has more of it."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier turn of a conversation: the asker's (``user``) or the bot's (``assistant``)."""

    role: str
    text: str


History = Sequence["str | Turn"]
"""Earlier turns, oldest first; a plain string is a turn of the asker's."""


@dataclass(frozen=True, slots=True)
class AnswerContext:
    """Who is asking and how the answer is shown, for answerers that use it."""

    asker: str | None = None
    language: str | None = None  # e.g. "Spanish"; None: the language of the question
    locale: str | None = None  # e.g. "es": the language of fixed texts; None: English
    on_text: TextSink | None = None  # streaming: called with the answer so far


def user_turns(history: History) -> tuple[str, ...]:
    """The asker's side of ``history``."""
    return tuple(
        turn if isinstance(turn, str) else turn.text
        for turn in history
        if isinstance(turn, str) or turn.role == "user"
    )


def as_turns(history: History) -> tuple[Turn, ...]:
    return tuple(Turn("user", turn) if isinstance(turn, str) else turn for turn in history)


class Answerer(Protocol):
    """Turns a question and the passages retrieved for it into an answer with citations."""

    mode: str

    async def answer(
        self,
        question: str,
        passages: Sequence[SearchHit],
        history: History = (),
        context: AnswerContext | None = None,
    ) -> Answer:
        """Answer ``question``; ``history`` holds the earlier turns of the conversation."""
        ...
