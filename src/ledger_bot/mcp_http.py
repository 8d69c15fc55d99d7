"""MCP over streamable HTTP at ``/mcp`` on the serving port, behind team bearer tokens.

Tokens come from ``LEDGER_BOT_MCP_TOKENS`` (comma-separated) or ``LEDGER_BOT_MCP_TOKENS_FILE``
(one per line, re-read when it changes, so a token is added or revoked without a restart). A
request without a token, or with one that is not on the list, gets 401 before it reaches the
MCP server; with no token configured at all the transport refuses to start rather than serve
the knowledge base unauthenticated.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger_bot.errors import ConfigError
from ledger_bot.http_api import CheckResult
from ledger_bot.mcp_server import build_mcp_server
from ledger_bot.secret_files import Secret
from ledger_bot.service import LedgerBotService
from ledger_bot.settings import Settings

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"


class TeamTokens:
    def __init__(self, settings: Settings) -> None:
        self._secret = Secret(
            "LEDGER_BOT_MCP_TOKENS", settings.mcp_tokens, settings.mcp_tokens_file
        )

    def current(self) -> list[str]:
        raw = self._secret.get() or ""
        return [token.strip() for token in raw.replace(",", "\n").splitlines() if token.strip()]

    def accepts(self, token: str) -> bool:
        # Compare with every token, in constant time each, so timing tells nothing.
        matches = [hmac.compare_digest(token.encode(), known.encode()) for known in self.current()]
        return any(matches)


class BearerGuard:
    """ASGI middleware: only requests with a team token reach ``app``."""

    def __init__(self, app: ASGIApp, tokens: TeamTokens) -> None:
        self._app = app
        self._tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await _unauthorized(send, "missing bearer token: send Authorization: Bearer <token>")
            return
        if not self._tokens.accepts(token.strip()):
            await _unauthorized(send, "invalid bearer token")
            return
        await self._app(scope, receive, send)


async def _unauthorized(send: Send, message: str) -> None:
    body = json.dumps({"error": "unauthorized", "error_description": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", b'Bearer realm="ledger-bot"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class McpHttpAdapter:
    """Serves MCP at ``/mcp`` for as long as ``serve`` runs."""

    name = "mcp"

    def __init__(self, settings: Settings, service: LedgerBotService) -> None:
        self._tokens = TeamTokens(settings)
        if not self._tokens.current():
            raise ConfigError(
                "LEDGER_BOT_MCP_ENABLED needs at least one bearer token: set "
                "LEDGER_BOT_MCP_TOKENS (comma-separated) or LEDGER_BOT_MCP_TOKENS_FILE"
            )
        self._server = build_mcp_server(service)
        # Builds the session manager; the app it returns is not used, only its handler.
        self._server.streamable_http_app(streamable_http_path=MCP_PATH, host=settings.host)
        self._manager = self._server.session_manager
        self._running = False

    def routes(self) -> list[BaseRoute]:
        handler = BearerGuard(StreamableHTTPASGIApp(self._manager), self._tokens)
        return [Route(MCP_PATH, endpoint=handler, methods=["GET", "POST", "DELETE"])]

    async def run(self) -> None:
        async with self._manager.run():
            self._running = True
            log.info("mcp listening", extra={"path": MCP_PATH})
            try:
                await asyncio.Event().wait()
            finally:
                self._running = False

    async def stop(self) -> None:
        """Nothing to close early: sessions end with the process."""

    async def drain(self, grace: float) -> int:
        return 0  # MCP questions are the service's, which the service drains

    async def check(self) -> CheckResult:
        return CheckResult(self._running, "" if self._running else "not started", required=False)
