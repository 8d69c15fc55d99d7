"""The part every fake LLM server shares: lifecycle, script, recording and the stream pump."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fake_llm.common import (
    Disconnect,
    Fault,
    MalformedStream,
    RecordedRequest,
    Reply,
    Responder,
    Scripted,
    Stall,
    StreamFrames,
    default_responder,
)

SHUTDOWN_TIMEOUT = 1.0


class FakeLLMServer:
    """A local HTTP server answering one POST route as an LLM provider would.

    Use as ``async with Server() as server:``: it listens on a free port of 127.0.0.1 in the
    running event loop and closes every socket on exit. Each request takes the next item of
    the script (``enqueue``), or, when the script is empty, what ``responder`` returns for it.
    """

    route = "/"
    head_waits_for_first_token = True
    """Whether a stream's ``head`` frames go out with the first text (else right away)."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        """The only key accepted; ``None`` accepts any non-empty one."""
        self.base_url = ""
        self.requests: list[RecordedRequest] = []
        self.responder: Responder = default_responder
        self.internal_errors: list[BaseException] = []
        self._script: deque[Scripted] = deque()
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._count = 0

    # lifecycle

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post(self.route, self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.base_url = self._base_url(f"http://127.0.0.1:{port}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.internal_errors and exc_type is None:
            raise RuntimeError(f"the fake LLM server failed internally: {self.internal_errors!r}")

    def _base_url(self, origin: str) -> str:
        return origin

    # script and records

    def enqueue(self, *items: Scripted) -> None:
        """Answer the next requests with ``items``, in order."""
        self._script.extend(items)

    @property
    def queued(self) -> int:
        """How many scripted answers are still waiting for a request."""
        return len(self._script)

    async def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """The first ``n`` requests, once they have arrived (``TimeoutError`` if they do not)."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.requests) < n:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"after {timeout:g}s: {len(self.requests)} of {n} requests arrived"
            ) from None
        return self.requests[:n]

    def next_id(self) -> int:
        self._count += 1
        return self._count

    # what a provider says (subclasses)

    def reject(self, request: RecordedRequest) -> web.Response | None:
        """The error answer for a request the real API would refuse (auth, missing fields)."""
        return None

    def error_response(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> web.Response:
        raise NotImplementedError

    def stream_error_frame(self, fault: Fault) -> bytes:
        raise NotImplementedError

    def json_answer(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        raise NotImplementedError

    def stream_frames(self, reply: Reply, request: RecordedRequest) -> StreamFrames:
        raise NotImplementedError

    def bad_json_frame(self) -> bytes:
        raise NotImplementedError

    def response_headers(self) -> dict[str, str]:
        return {}

    def json_response(self, body: Any, status: int = 200, **headers: str) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(body),
            content_type="application/json",
            headers={**self.response_headers(), **headers},
        )

    # handling

    async def _handle(self, http: web.Request) -> web.StreamResponse:
        raw = await http.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = RecordedRequest(
            path=http.path,
            headers={name.lower(): value for name, value in http.headers.items()},
            json=body,
            at=time.monotonic(),
        )
        self.requests.append(request)
        self._changed.set()
        try:
            rejection = self.reject(request)
            if rejection is not None:
                return rejection
            action = self._script.popleft() if self._script else self.responder(request)
            return await self._perform(action, request, http)
        except ConnectionResetError:  # the client went away
            return web.Response()
        except Exception as exc:
            self.internal_errors.append(exc)
            return web.Response(status=599, text=f"fake LLM server error: {exc!r}")

    async def _perform(
        self, action: Scripted, request: RecordedRequest, http: web.Request
    ) -> web.StreamResponse:
        match action:
            case Reply() if request.stream:
                return await self._stream(http, action, request)
            case Reply():
                if await self._pause(action.generation_time):
                    return _drop(http)
                return self.json_response(self.json_answer(action, request))
            case Fault(after_chunks=int(count)) if request.stream:
                return await self._stream(http, action.reply, request, limit=count, end=action)
            case Fault():
                return self.error_response(action.status, action.message, action.headers)
            case Stall():
                response = await self._open_stream(http) if request.stream else None
                await self._pause(action.seconds)
                return _drop(http, response)
            case MalformedStream() if request.stream:
                if action.mode == "bad_json":
                    end = self.bad_json_frame()
                    return await self._stream(http, action.reply, request, limit=1, end=end)
                return await self._stream(http, action.reply, request, end=b"")
            case MalformedStream():
                text = json.dumps(self.json_answer(action.reply, request))
                return web.Response(
                    text=text[: len(text) // 2],
                    content_type="application/json",
                    headers=self.response_headers(),
                )
            case Disconnect() if request.stream:
                return await self._stream(http, action.reply, request, limit=action.after_chunks)
            case Disconnect():
                return _drop(http)
        raise TypeError(f"not something a fake LLM server can do: {action!r}")

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; True if the server began closing meanwhile."""
        if seconds <= 0:
            return self._closing.is_set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        return self._closing.is_set()

    async def _open_stream(self, http: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                **self.response_headers(),
            }
        )
        await response.prepare(http)
        return response

    async def _stream(
        self,
        http: web.Request,
        reply: Reply,
        request: RecordedRequest,
        *,
        limit: int | None = None,
        end: Fault | bytes | None = None,
    ) -> web.StreamResponse:
        """Stream ``reply``: all of it, or its first ``limit`` text chunks followed by ``end``
        (an error event, some bytes then a clean end, or, if None, a dropped connection)."""
        frames = self.stream_frames(reply, request)
        deltas = frames.deltas if limit is None else frames.deltas[:limit]
        response = await self._open_stream(http)
        try:  # a client that gives up closes the connection: stop writing then
            if not self.head_waits_for_first_token:
                await _write(response, frames.head)
            for index, delta in enumerate(deltas):
                if await self._pause(reply.first_token_delay if index == 0 else reply.chunk_delay):
                    return _drop(http, response)
                if index == 0 and self.head_waits_for_first_token:
                    await _write(response, frames.head)
                await _write(response, [delta])
            if not deltas and self.head_waits_for_first_token:
                await _write(response, frames.head)
            match end:
                case Fault():
                    await _write(response, [self.stream_error_frame(end)])
                case bytes():
                    await _write(response, [end])
                case None if limit is None:
                    await _write(response, frames.tail)
                case None:
                    return _drop(http, response)
            await response.write_eof()
        except ConnectionResetError:
            pass
        return response


async def _write(response: web.StreamResponse, frames: list[bytes]) -> None:
    for frame in frames:
        await response.write(frame)


def _drop(http: web.Request, response: web.StreamResponse | None = None) -> web.StreamResponse:
    """Close the connection (after what was written) without finishing the answer."""
    if http.transport is not None:
        http.transport.close()
    return response if response is not None else web.Response()
