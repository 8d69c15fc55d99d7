"""What a fake LLM server can be told to do next, and what it recorded."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

DEFAULT_TEXT = "I don't know."
WORDS_PER_CHUNK = 4


def split_into_chunks(text: str, words: int = WORDS_PER_CHUNK) -> list[str]:
    """``text`` in pieces of about ``words`` words that join back to exactly ``text``."""
    pieces = re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
    return ["".join(pieces[i : i + words]) for i in range(0, len(pieces), words)]


@dataclass(frozen=True)
class Reply:
    """A successful answer; streamed in ``chunks`` when the request asks for a stream.

    ``first_token_delay`` is waited before the first text (for a JSON answer: before the
    answer), ``chunk_delay`` between text chunks (a JSON answer waits for them all too).
    ``truncated`` ends it as cut off by the token limit (OpenAI ``length``, Anthropic
    ``max_tokens``) instead of a natural stop.
    """

    text: str = DEFAULT_TEXT
    input_tokens: int = 10
    output_tokens: int = 5
    chunks: list[str] | None = None
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    truncated: bool = False

    def __post_init__(self) -> None:
        if self.chunks is not None and "".join(self.chunks) != self.text:
            raise ValueError(f"chunks {self.chunks!r} do not join to text {self.text!r}")

    @property
    def pieces(self) -> list[str]:
        return list(self.chunks) if self.chunks is not None else split_into_chunks(self.text)

    @property
    def generation_time(self) -> float:
        """How long the whole answer takes to produce."""
        return self.first_token_delay + self.chunk_delay * max(len(self.pieces) - 1, 0)


@dataclass(frozen=True)
class Fault:
    """An error answer with the provider's real error body.

    ``retry_after`` (seconds, sent as given, e.g. ``1`` or ``0.2``) sets ``retry-after``;
    ``retry_after_ms`` sets ``retry-after-ms``. With ``after_chunks`` set, a streaming request
    gets a 200 stream that carries that many text chunks of ``reply`` and then the error as a
    stream event (as both APIs report errors that happen mid-stream); other requests get the
    status.
    """

    status: int = 500
    retry_after: float | None = None
    retry_after_ms: int | None = None
    message: str | None = None
    after_chunks: int | None = None
    reply: Reply = field(default_factory=Reply)

    @property
    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            value = self.retry_after
            headers["retry-after"] = str(int(value)) if float(value).is_integer() else str(value)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
        return headers


@dataclass(frozen=True)
class Stall:
    """Accept the request and send nothing for ``seconds`` (a stream: its headers only), then
    drop the connection. The server's exit ends a stall at once."""

    seconds: float = 30.0


@dataclass(frozen=True)
class MalformedStream:
    """A broken answer. ``bad_json``: a stream whose event after the first text chunk has data
    that is not JSON (a JSON request gets a cut-off body). ``no_terminal_event``: a stream that
    sends every text chunk and then ends cleanly without its closing events (OpenAI: no
    ``finish_reason`` chunk, usage chunk or ``[DONE]``; Anthropic: no ``content_block_stop``,
    ``message_delta`` or ``message_stop``)."""

    mode: Literal["bad_json", "no_terminal_event"] = "bad_json"
    reply: Reply = field(default_factory=Reply)


@dataclass(frozen=True)
class Disconnect:
    """Close the connection abruptly after ``after_chunks`` text chunks of a stream (a JSON
    request: before any answer)."""

    after_chunks: int = 1
    reply: Reply = field(default_factory=Reply)


Scripted = Reply | Fault | Stall | MalformedStream | Disconnect


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it (headers with lower-case names)."""

    path: str
    headers: dict[str, str]
    json: Any
    at: float

    @property
    def stream(self) -> bool:
        return isinstance(self.json, dict) and self.json.get("stream") is True

    @property
    def model(self) -> str:
        model = self.json.get("model") if isinstance(self.json, dict) else None
        return model if isinstance(model, str) else ""


Responder = Callable[[RecordedRequest], Scripted]


def default_responder(request: RecordedRequest) -> Scripted:
    return Reply()


@dataclass(frozen=True)
class StreamFrames:
    """A streamed answer as SSE frames: ``head`` before the text, one frame per text chunk,
    ``tail`` after it."""

    head: list[bytes]
    deltas: list[bytes]
    tail: list[bytes]


def sse(data: Any, event: str | None = None) -> bytes:
    """One Server-Sent Event (``data`` as compact JSON unless it is already a string)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    prefix = f"event: {event}\n" if event is not None else ""
    return f"{prefix}data: {payload}\n\n".encode()
