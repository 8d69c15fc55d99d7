"""The HTTP server of ``ledger-bot serve``: liveness, readiness and metrics.

Later adapters (the Slack Events API, MCP over streamable HTTP) mount their routes on the same
Starlette app, so one port serves everything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger_bot.metrics import Metrics


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    detail: str = ""
    required: bool = True  # a failing optional check degrades readiness but does not fail it


Check = Callable[[], Awaitable[CheckResult]]
CHECK_TIMEOUT = 2.0


class Readiness:
    """Named checks behind ``/ready``; adapters and backends register their own."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def run(self) -> tuple[bool, dict[str, dict[str, object]]]:
        async def one(check: Check) -> CheckResult:
            try:
                return await asyncio.wait_for(check(), CHECK_TIMEOUT)
            except TimeoutError:
                return CheckResult(False, f"no answer within {CHECK_TIMEOUT:g} s")
            except Exception as exc:
                return CheckResult(False, f"{type(exc).__name__}: {exc}")

        results = await asyncio.gather(*(one(check) for check in self._checks.values()))
        report: dict[str, dict[str, object]] = {}
        ready = True
        for name, result in zip(self._checks, results, strict=True):
            if result.ok:
                state = "ok"
            else:
                state = "failing" if result.required else "degraded"
                ready = ready and not result.required
            entry: dict[str, object] = {"state": state}
            if result.detail:
                entry["detail"] = result.detail
            report[name] = entry
        return ready, report


class _CountRequests:
    """Counts responses by route and status for ``ledger_bot_http_requests_total``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, record)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "other")
            self._metrics.http_requests_total.labels(path=path, status=str(status)).inc()


def build_http_app(
    metrics: Metrics,
    readiness: Readiness,
    *,
    extra_routes: list[BaseRoute] | None = None,
) -> Starlette:
    started = time.monotonic()

    async def health(_: Request) -> Response:
        # Served by the event loop itself: an answer at all means the loop is responsive.
        return JSONResponse({"status": "ok", "uptime_seconds": round(time.monotonic() - started)})

    async def ready(_: Request) -> Response:
        is_ready, checks = await readiness.run()
        body = {"status": "ready" if is_ready else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if is_ready else 503)

    async def metrics_endpoint(_: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_CountRequests, metrics=metrics)])
