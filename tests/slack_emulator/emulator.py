"""``SlackEmulator``: one local server the real slack_sdk and slack_bolt clients talk to."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack_emulator.events import AppIdentity
from tests.slack_emulator.methods import WebApiMethods
from tests.slack_emulator.people import PeopleActions
from tests.slack_emulator.response_urls import ResponsePost, ResponseUrls
from tests.slack_emulator.socket_mode import Ack, Delivery, SocketModeServer
from tests.slack_emulator.store import (
    FIRST_TS_SECONDS,
    Channel,
    Ephemeral,
    Stream,
    SuggestedPrompts,
    ThreadStatus,
    ThreadTitle,
    User,
    Workspace,
)
from tests.slack_emulator.waiting import Signal
from tests.slack_emulator.web_api import ApiCall, Fault, WebApi

SHUTDOWN_TIMEOUT = 1.0
DEFAULT_BOT_TOKEN = "xoxb-test"
DEFAULT_APP_TOKEN = "xapp-test"


class SlackEmulator(PeopleActions):
    """A local Slack: Web API at ``api_url``, Socket Mode at the URL apps.connections.open gives.

    Use as ``async with SlackEmulator() as slack:``; it listens on a free port of 127.0.0.1 in
    the running event loop and closes every socket on exit. Message timestamps count up from
    ``first_ts`` (1700000000.000100, ...); pass ``int(time.time())`` to a bot that drops old
    events.
    """

    def __init__(
        self,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        redelivery_after: float | None = 3.0,
        *,
        team_id: str = "T0LEDGER",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0APP",
        first_ts: int = FIRST_TS_SECONDS,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.identity = AppIdentity(
            team_id=team_id, app_id=app_id, bot_user_id=bot_user_id, bot_id=bot_id
        )
        self.workspace = Workspace(self.identity, first_ts=first_ts)
        self.base_url = ""
        signal = Signal()
        self._socket = SocketModeServer(
            app_id=app_id, redelivery_after=redelivery_after, signal=signal
        )
        methods = WebApiMethods(self.workspace, self._socket.issue_url)
        self._web = WebApi(methods, bot_token=bot_token, app_token=app_token, signal=signal)
        self._response_urls = ResponseUrls(self.workspace, signal)
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._web.handle)
        app.router.add_post("/response/{response_id}", self._response_urls.handle)
        app.router.add_get("/link/", self._socket.handle)
        app.router.add_get("/link", self._socket.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._socket.base_url = f"ws://127.0.0.1:{port}"
        self._response_urls.base_url = self.base_url
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._web.stop()
        await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._web.internal_errors and exc_type is None:
            raise RuntimeError(f"the Slack emulator failed internally: {self._web.internal_errors}")

    # identity

    @property
    def api_url(self) -> str:
        """``base_url`` for slack_sdk clients (with the trailing slash they need)."""
        return f"{self.base_url}/api/"

    @property
    def team_id(self) -> str:
        return self.identity.team_id

    @property
    def bot_user_id(self) -> str:
        return self.identity.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.identity.bot_id

    @property
    def app_id(self) -> str:
        return self.identity.app_id

    def web_client(self, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
        """A real ``AsyncWebClient`` pointed at the emulator (bot token unless told otherwise)."""
        return AsyncWebClient(token=token or self.bot_token, base_url=self.api_url, **kwargs)

    # seeding

    def add_user(
        self,
        user_id: str,
        name: str,
        is_bot: bool = False,
        *,
        real_name: str | None = None,
        locale: str | None = None,
    ) -> User:
        return self.workspace.add_user(
            user_id, name, is_bot=is_bot, real_name=real_name, locale=locale
        )

    def add_channel(
        self, channel_id: str, name: str, is_im: bool = False, is_private: bool = False
    ) -> Channel:
        return self.workspace.add_channel(channel_id, name, is_im=is_im, is_private=is_private)

    def archive(self, channel: str) -> None:
        """Posting to an archived channel fails with ``is_archived``."""
        conversation = self.workspace.channel(channel)
        if conversation is None:
            raise LookupError(f"unknown channel {channel!r}")
        conversation.is_archived = True

    def dm_channel(self, user: str) -> str:
        """The id of the app's DM with ``user`` (created on first use)."""
        return self.workspace.dm_channel(user).id

    # Web API calls and faults

    @property
    def calls(self) -> list[ApiCall]:
        return self._web.calls

    def calls_to(self, method: str) -> list[ApiCall]:
        return self._web.calls_to(method)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        count: int = 1,
    ) -> ApiCall:
        """The ``count``-th recorded call of ``method`` matching ``predicate`` (already recorded
        ones count), waiting for it if needed."""
        return await self._web.wait_for_call(method, predicate, count=count, timeout=timeout)

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        *,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls fail: 429 ``ratelimited`` with Retry-After, 500/503
        ``internal_error``, or HTTP 200 ``{"ok": false, "error": error}``."""
        if status is None and error is None:
            raise ValueError("give an HTTP status (429, 500, 503) or an error name")
        if status == 429 and retry_after is None:
            retry_after = 1
        self._web.queue(
            method, Fault(status=status or 200, error=error, retry_after=retry_after), times
        )

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls are answered ``seconds`` late (after being carried out)."""
        self._web.queue(method, Fault(delay=seconds), times)

    def malformed_next(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls get HTTP 200 with a body that is not JSON."""
        self._web.queue(method, Fault(malformed=True), times)

    # what the app left in the workspace

    def messages(self, channel: str, *, include_replies: bool = True) -> list[dict[str, Any]]:
        """Stored messages of a channel, oldest first (thread replies included by default)."""
        return self.workspace.messages(channel, include_replies=include_replies)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """A thread's parent then its replies, oldest first."""
        return self.workspace.thread(channel, ts)

    def message_versions(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Every version of a message (what a placeholder showed before chat.update)."""
        return self.workspace.versions(channel, ts)

    @property
    def ephemerals(self) -> list[Ephemeral]:
        return self.workspace.ephemerals

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        return self.workspace.home_views

    @property
    def statuses(self) -> list[ThreadStatus]:
        return self.workspace.statuses

    @property
    def suggested_prompts(self) -> list[SuggestedPrompts]:
        return self.workspace.suggested_prompts

    @property
    def thread_titles(self) -> list[ThreadTitle]:
        return self.workspace.titles

    @property
    def streams(self) -> dict[str, Stream]:
        return self.workspace.streams

    # response URLs

    @property
    def responses(self) -> list[ResponsePost]:
        return self._response_urls.posts

    async def wait_for_response(
        self, predicate: Callable[[dict[str, Any]], bool] | None = None, timeout: float = 5.0
    ) -> ResponsePost:
        """The first response_url post whose body matches ``predicate``."""
        return await self._response_urls.wait_for(predicate, timeout=timeout)

    # Socket Mode

    async def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        accepts_response_payload: bool | None = None,
        *,
        connection: str | None = None,
    ) -> str:
        """Send an envelope to one open connection (round robin, or ``connection``), waiting up
        to 5 s for one; returns its envelope_id. ``accepts_response_payload`` defaults as Slack
        sets it (true for slash commands, view submissions and suggestions)."""
        return await self._socket.deliver(
            envelope_type,
            payload,
            accepts_response_payload=accepts_response_payload,
            connection=connection,
        )

    @property
    def acks(self) -> dict[str, Ack]:
        return self._socket.acks

    @property
    def deliveries(self) -> list[Delivery]:
        return self._socket.deliveries

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any] | None:
        """The ack's ``payload`` (None for a bare ack)."""
        return await self._socket.wait_for_ack(envelope_id, timeout=timeout)

    def ack_latency(self, envelope_id: str) -> float:
        return self._socket.ack_latency(envelope_id)

    async def send_disconnect(self, reason: str = "warning", connection: str | None = None) -> None:
        """A disconnect message to one connection (or all); refresh_requested and link_disabled
        close the socket shortly after."""
        await self._socket.send_disconnect(reason, connection)

    async def drop_connections(self) -> None:
        """Cut every socket abruptly, no disconnect message, no close frame."""
        await self._socket.drop_connections()

    @property
    def open_connections(self) -> int:
        return self._socket.open_connections

    @property
    def connection_ids(self) -> list[str]:
        return self._socket.connection_ids

    @property
    def connection_count_total(self) -> int:
        return self._socket.connection_count_total

    async def wait_for_connections(self, n: int, timeout: float = 10.0) -> None:
        """Until at least ``n`` sockets are open."""
        await self._socket.wait_for_connections(n, timeout=timeout)

    async def wait_for_connection_total(self, n: int, timeout: float = 10.0) -> None:
        """Until at least ``n`` sockets have ever opened (reconnects count)."""
        await self._socket.wait_for_connection_total(n, timeout=timeout)
