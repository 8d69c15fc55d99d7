"""The HTTP side of the Web API: parsing requests like Slack does, checking tokens, injecting
faults, and recording every call for the tests to inspect."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.slack_emulator.methods import WebApiMethods
from tests.slack_emulator.validation import ApiError
from tests.slack_emulator.waiting import Signal

JSON_ENCODED_PARAMS = ("blocks", "attachments", "view", "prompts", "metadata", "chunks")
MALFORMED_BODY = "<html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class ApiCall:
    """One request to ``/api/{method}`` as the emulator saw and answered it."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float  # time.monotonic() when the request arrived
    http_status: int
    response: dict[str, Any] | None = None  # None when the reply was not JSON

    @property
    def ok(self) -> bool:
        return self.http_status == 200 and bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.response is None else self.response.get("error")


@dataclass(frozen=True)
class Fault:
    """What to do to one upcoming call of a method instead of (or before) answering it."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    malformed: bool = False

    @property
    def replaces_answer(self) -> bool:
        return self.status != 200 or self.error is not None or self.malformed


class WebApi:
    """Handles ``POST /api/{method}``; holds the call log and the queued faults."""

    def __init__(
        self, methods: WebApiMethods, *, bot_token: str, app_token: str, signal: Signal
    ) -> None:
        self._table = methods.table()
        self._bot_token = bot_token
        self._app_token = app_token
        self._signal = signal
        self._faults: dict[str, deque[Fault]] = {}
        self._stopping = asyncio.Event()
        self.calls: list[ApiCall] = []
        self.internal_errors: list[BaseException] = []

    def queue(self, method: str, fault: Fault, times: int) -> None:
        self._faults.setdefault(method, deque()).extend([fault] * times)

    def stop(self) -> None:
        """Cut short any injected delays so shutdown is quick."""
        self._stopping.set()

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None,
        *,
        count: int,
        timeout: float,
    ) -> ApiCall:
        def check() -> ApiCall | None:
            matches = [c for c in self.calls_to(method) if predicate is None or predicate(c)]
            return matches[count - 1] if len(matches) >= count else None

        def describe() -> str:
            seen = ", ".join(f"{c.method}({c.error or c.http_status})" for c in self.calls)
            return f"no matching {method} call #{count}; calls so far: [{seen}]"

        return await self._signal.wait_for(check, timeout=timeout, describe=describe)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        arrived = time.monotonic()
        faults = self._faults.get(method)
        fault = faults.popleft() if faults else None
        body: dict[str, Any] | None
        try:
            token, params = await _read(request)
        except ApiError as exc:
            token, params = None, {}
            status, body = 200, exc.body()
        else:
            if fault is not None and fault.replaces_answer:
                status, body = _fault_body(fault)
            else:
                status, body = self._answer(method, token, params)
        self.calls.append(ApiCall(method, params, token, arrived, status, body))
        self._signal.fire()
        if fault is not None and fault.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), fault.delay)
        if body is None:
            return web.Response(status=status, text=MALFORMED_BODY, content_type="application/json")
        headers = {"Retry-After": str(fault.retry_after)} if fault and fault.retry_after else {}
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, token: str | None, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        entry = self._table.get(method)
        if entry is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}
        needs, handler = entry
        try:
            self._check_token(needs, token)
            return 200, handler(params)
        except ApiError as exc:
            return 200, exc.body()
        except Exception as exc:  # a bug in the emulator: answer like Slack, report at exit
            self.internal_errors.append(exc)
            return 500, {"ok": False, "error": "internal_error", "emulator_bug": repr(exc)}

    def _check_token(self, needs: str, token: str | None) -> None:
        if not token:
            raise ApiError("not_authed")
        if token not in (self._bot_token, self._app_token):
            raise ApiError("invalid_auth")
        if (needs == "bot" and token != self._bot_token) or (
            needs == "app" and token != self._app_token
        ):
            raise ApiError("not_allowed_token_type")


async def _read(request: web.Request) -> tuple[str | None, dict[str, Any]]:
    """Query string, then form or JSON body, merged; the token from the header or a param."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "multipart/form-data":
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    elif request.content_type == "application/json":
        raw = await request.read()
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            raise ApiError("invalid_json") from None
        if not isinstance(body, dict):
            raise ApiError("invalid_json")
        params.update(body)
    else:
        raw = await request.read()
        params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    for key in JSON_ENCODED_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value.strip().startswith(("[", "{")):
            # left as text when broken: the method reports it (invalid_blocks_format, ...)
            with contextlib.suppress(json.JSONDecodeError):
                params[key] = json.loads(value)
    token = params.pop("token", None)
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[len("bearer ") :].strip()
    return (str(token) if token else None), params


def _fault_body(fault: Fault) -> tuple[int, dict[str, Any] | None]:
    if fault.malformed:
        return 200, None
    if fault.status == 429:
        return 429, {"ok": False, "error": "ratelimited"}
    if fault.status != 200:
        return fault.status, {"ok": False, "error": fault.error or "internal_error"}
    return 200, {"ok": False, "error": fault.error}
