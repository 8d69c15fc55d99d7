"""The interface every answerer implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ledger_bot.documents import Answer, SearchHit


class Answerer(Protocol):
    """Turns a question and the passages retrieved for it into an answer with citations."""

    mode: str

    async def answer(
        self, question: str, passages: Sequence[SearchHit], history: Sequence[str] = ()
    ) -> Answer:
        """Answer ``question``; ``history`` holds the earlier turns of the conversation."""
        ...
