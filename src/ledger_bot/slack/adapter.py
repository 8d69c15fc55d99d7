"""The Slack adapter of ``ledger-bot serve``: a Bolt app over Socket Mode or the Events API.

Both modes run the same listeners. In Socket Mode the bot opens a WebSocket to Slack (up to
ten replicas may each hold one); in HTTP mode Slack posts to ``/slack/events`` on the serving
port, and every request's signature is checked against the signing secret. Tokens and the
signing secret are read through :class:`~ledger_bot.secret_files.Secret`, so a rotated
mounted Secret is used from the next request on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ledger_bot.errors import ConfigError
from ledger_bot.http_api import CheckResult
from ledger_bot.secret_files import Secret
from ledger_bot.service import LedgerBotService
from ledger_bot.settings import Settings
from ledger_bot.slack.api import SlackApi, build_http_session, build_web_client
from ledger_bot.slack.listeners import SlackListeners

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Far above any payload Slack sends; bounds what an unsigned request can make a replica buffer.
MAX_EVENT_BYTES = 4 * 1024 * 1024
# Seconds between attempts to reach Slack at start, doubling up to the last.
CONNECT_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
# Seconds between Socket Mode pings; a dead connection is replaced within about this long.
SOCKET_PING_INTERVAL = 2.0
BOLT_LOGGER = "ledger_bot.slack.bolt"
SOCKET_MODE_LOGGER = "ledger_bot.slack.socket_mode"
# Loggers that slack_bolt and slack_sdk test by their own level (``logger.level <= DEBUG``),
# not the effective one, before building a debug message: left unset (0) they build one for
# every request and Web API call, which the root level then drops. Bolt's other loggers copy
# the level of the one it is given.
LIBRARY_LOGGERS = (
    BOLT_LOGGER,
    SOCKET_MODE_LOGGER,
    "slack_sdk.web.async_base_client",  # the Web API client's (the app's and each request's)
    "slack_sdk.webhook.async_client",  # replies to response_url
)


class SlackSecrets:
    """The Slack credentials, each from its variable or its mounted file."""

    def __init__(self, settings: Settings) -> None:
        self.bot_token = Secret(
            "LEDGER_BOT_SLACK_BOT_TOKEN", settings.slack_bot_token, settings.slack_bot_token_file
        )
        self.app_token = Secret(
            "LEDGER_BOT_SLACK_APP_TOKEN", settings.slack_app_token, settings.slack_app_token_file
        )
        self.signing_secret = Secret(
            "LEDGER_BOT_SLACK_SIGNING_SECRET",
            settings.slack_signing_secret,
            settings.slack_signing_secret_file,
        )


def set_library_log_levels(level: str) -> None:
    """Give :data:`LIBRARY_LOGGERS` the bot's log level (DEBUG keeps their debug messages)."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(numeric)


def check_credentials(settings: Settings, secrets: SlackSecrets) -> None:
    """Refuse to start with credentials that cannot work; the message says what to set."""
    token = secrets.bot_token.require()
    if not token.startswith("xoxb-"):
        raise ConfigError(
            "LEDGER_BOT_SLACK_BOT_TOKEN must be a bot token starting with xoxb- "
            "(OAuth & Permissions → Bot User OAuth Token)"
        )
    if settings.slack_mode == "socket":
        app_token = secrets.app_token.get()
        if not app_token:
            raise ConfigError(
                "Socket Mode needs an app-level token: set SLACK_APP_TOKEN (starts with xapp-, "
                "scope connections:write), or set LEDGER_BOT_SLACK_MODE=http"
            )
        if not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    elif not secrets.signing_secret.get():
        raise ConfigError(
            "HTTP mode needs the signing secret: set SLACK_SIGNING_SECRET (Basic Information → "
            "App Credentials), or use LEDGER_BOT_SLACK_MODE=socket"
        )


class SlackAdapter:
    """Runs the Slack side of the bot; :meth:`run` until cancelled."""

    name = "slack"

    def __init__(self, settings: Settings, service: LedgerBotService) -> None:
        self._settings = settings
        self._service = service
        self._secrets = SlackSecrets(settings)
        check_credentials(settings, self._secrets)
        set_library_log_levels(settings.log_level)
        self._api = SlackApi(service.metrics)
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._identity: dict[str, AuthorizeResult] = {}  # auth.test result per bot token
        self._client = build_web_client(None, settings.slack_api_url)

        async def authorize(team_id: str | None) -> AuthorizeResult:
            # A plain function: Bolt passes arguments by the names of its parameters.
            return await self._authorize()

        self.app = AsyncApp(
            client=self._client,
            authorize=authorize,
            request_verification_enabled=False,  # done in _verify, with a rotatable secret
            logger=logging.getLogger(BOLT_LOGGER),
        )
        self.listeners = SlackListeners(settings, service, self._api, self._owner)
        self.listeners.register(self.app)
        self._socket: Any = None  # AsyncSocketModeHandler, once connecting
        self._authorized = False
        self._stopping = False

    # -- identity ----------------------------------------------------------------------

    async def _authorize(self) -> AuthorizeResult:
        """Bolt's authorize step: the current bot token and who it belongs to (cached per
        token, so a rotated token is looked up once)."""
        token = self._secrets.bot_token.require()
        known = self._identity.get(token)
        if known is None:
            response = await self._client.auth_test(token=token)
            known = AuthorizeResult.from_auth_test_response(
                auth_test_response=response, bot_token=token
            )
            self._identity = {token: known}
        return known

    def _settle(self, body: Mapping[str, Any]) -> bool:
        """Whether the listeners settled an Events API ``body`` without Bolt: chatter, counted
        as ignored, for the adapter to acknowledge (see :mod:`ledger_bot.slack.socket_mode`).
        Until Bolt's authorize step has found out who the bot is, everything goes to Bolt."""
        event = body.get("event")
        if not isinstance(event, Mapping) or event.get("type") != "message":
            return False  # before reading the token: most of the rest is app_mention
        try:
            token = self._secrets.bot_token.get()
        except ConfigError:
            return False  # Bolt's authorize step reports it
        identity = self._identity.get(token) if token else None
        return identity is not None and self.listeners.ignore_chatter(body, identity)

    async def _wait_for_slack(self) -> AuthorizeResult:
        """``auth.test`` until it works: Slack may be unreachable for a while at start."""
        attempt = 0
        while True:
            try:
                identity = await self._authorize()
            except Exception as exc:
                delay = CONNECT_BACKOFF[min(attempt, len(CONNECT_BACKOFF) - 1)]
                log.warning(
                    "cannot reach Slack yet (%s); retrying in %.0f s",
                    exc,
                    delay,
                    extra={"error": type(exc).__name__},
                )
                attempt += 1
                await asyncio.sleep(delay)
                continue
            self._authorized = True
            return identity

    # -- running -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        if not self._authorized or self._stopping:
            return False
        if self._settings.slack_mode == "http":
            return True
        client = getattr(self._socket, "client", None)
        session = getattr(client, "current_session", None)
        return session is not None and not session.closed

    async def check(self) -> CheckResult:
        if self.connected and (self._socket is None or await self._socket.client.is_connected()):
            return CheckResult(True)
        if not self._authorized:
            return CheckResult(False, "not connected to Slack yet (auth.test has not succeeded)")
        return CheckResult(False, "the Socket Mode connection is down; reconnecting")

    async def run(self) -> None:
        # One connection pool for the whole run, made in this loop; it outlives stop(), since
        # the answers drained after it still post to Slack, and closes when run() is cancelled.
        session = build_http_session()
        self._client.session = session
        try:
            await self._connect_and_wait()
        finally:
            self._client.session = None  # a call made after this opens a session of its own
            await session.close()

    async def _connect_and_wait(self) -> None:
        identity = await self._wait_for_slack()
        if self._settings.slack_mode == "socket":
            from ledger_bot.slack.socket_mode import SettlingSocketModeHandler

            self._socket = SettlingSocketModeHandler(
                self.app,
                app_token=self._secrets.app_token.require(),
                logger=logging.getLogger(SOCKET_MODE_LOGGER),
                # A socket cut without a close frame is noticed at the next ping check.
                ping_interval=SOCKET_PING_INTERVAL,
                settle=self._settle,
            )
            await self._socket.connect_async()
        log.info(
            "slack connected",
            extra={
                "mode": self._settings.slack_mode,
                "team": identity.team_id,
                "bot_user": identity.bot_user_id,
            },
        )
        await asyncio.Event().wait()  # until cancelled; the socket client runs its own tasks

    async def stop(self) -> None:
        """Stop taking new requests: close the socket so Slack sends events to other replicas."""
        self._stopping = True
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None

    async def drain(self, grace: float) -> int:
        return await self.listeners.drain(grace)

    # -- HTTP mode -------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        if self._settings.slack_mode != "http":
            return []
        return [Route(EVENTS_PATH, self._handle_http, methods=["POST"])]

    def _verify(self, body: bytes, headers: Any) -> bool:
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        # Headers arrive decoded as Latin-1: "²" passes isdigit() but not int(), and the
        # signature check compares ASCII only, so anything else is refused here, not a 500.
        if not (timestamp.isascii() and timestamp.isdigit()):
            return False
        if not signature or not signature.isascii():
            return False
        verifier = SignatureVerifier(self._secrets.signing_secret.require())
        return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)

    async def _handle_http(self, request: Request) -> Response:
        body = await _read_at_most(request, MAX_EVENT_BYTES)
        if body is None:
            self._service.metrics.slack_events_total.labels(kind="http", result="rejected").inc()
            return Response('{"error":"request too large"}', 413, media_type="application/json")
        if not self._verify(body, request.headers):
            self._service.metrics.slack_events_total.labels(kind="http", result="rejected").inc()
            return Response('{"error":"invalid request"}', 401, media_type="application/json")
        if self._stopping:
            # Another replica behind the Service takes it when Slack retries.
            return Response("shutting down", 503, headers={"Retry-After": "1"})
        payload = _json_object(body)
        if payload is not None and self._settle(payload):
            response = BoltResponse(status=200, body="")  # Bolt's acknowledgement of an event
        else:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"),
                query=dict(request.query_params),
                headers={key: [value] for key, value in request.headers.items()},
            )
            response = await self.app.async_dispatch(bolt_request)
        return Response(
            content=response.body,
            status_code=response.status,
            headers=response.first_headers_without_set_cookie(),
        )


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The request's body, or None as soon as it grows past ``limit`` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _json_object(body: bytes) -> dict[str, Any] | None:
    """An Events API request's JSON object; None for anything else (commands and actions
    are form-encoded), which Bolt parses itself."""
    if not body.startswith(b"{"):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
