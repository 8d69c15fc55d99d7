"""The values that flow from ingestion through the knowledge base to answers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under one heading path, as a parser found it."""

    heading_path: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    """One source document, parsed but not yet chunked.

    ``source`` is the stable id: the path relative to the indexed root (POSIX separators), or
    the ``_id`` of a JSON Lines record.
    """

    source: str
    title: str
    sections: tuple[Section, ...]
    url: str | None = None
    content_hash: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(section.text for section in self.sections if section.text)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable passage: a piece of one section of one document."""

    source: str
    ordinal: int
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A chunk returned by retrieval, with its document's metadata and a BM25 score."""

    source: str
    title: str
    heading: str
    text: str
    score: float
    url: str | None = None
    chunk_id: int = 0
    ordinal: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "title": self.title,
            "heading": self.heading,
            "text": self.text,
            "score": round(self.score, 4),
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class Citation:
    source: str
    title: str
    url: str | None
    score: float

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class Usage:
    """What a language model's answer consumed."""

    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    first_token_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What an answerer returns. ``answered`` is False when the knowledge base lacks the answer;
    then ``suggestions`` lists the closest documents instead of ``citations``."""

    text: str
    answered: bool
    citations: tuple[Citation, ...] = ()
    suggestions: tuple[Citation, ...] = ()
    mode: str = "extractive"
    quotes: tuple[str, ...] = field(default=())
    # Why a language model's answer was replaced by the extractive one (timeout, budget, …).
    fallback_reason: str | None = None
    notes: tuple[str, ...] = ()  # lines to show above the answer
    usage: Usage | None = None

    def to_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "answer": self.text,
            "answered": self.answered,
            "citations": [c.to_dict() for c in self.citations],
            "suggestions": [c.to_dict() for c in self.suggestions],
            "mode": self.mode,
        }
        if self.fallback_reason is not None:
            result["fallback_reason"] = self.fallback_reason
        if self.notes:
            result["notes"] = list(self.notes)
        if self.usage is not None:
            result["usage"] = {
                "provider": self.usage.provider,
                "model": self.usage.model,
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cost_usd": round(self.usage.cost_usd, 6),
            }
        return result
