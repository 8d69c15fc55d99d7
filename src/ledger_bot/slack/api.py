"""Calls to Slack that never take the bot down.

The Web API client retries rate limits (honouring ``Retry-After``), server errors and dropped
connections itself (slack_sdk's retry handlers). What still fails after that is logged and
counted in ``ledger_bot_slack_api_errors_total`` by method and error, and the call returns
``None`` so the caller can fall back (post instead of update, say sorry, or move on).

One :class:`aiohttp.ClientSession` (:func:`build_http_session`) carries every Web API call, so
connections to Slack are kept open and reused; without one, slack_sdk opens a session and a
connection (a TCP and TLS handshake) for each call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from ledger_bot.metrics import Metrics

log = logging.getLogger(__name__)

# Seconds before a Web API call is given up (each attempt).
API_TIMEOUT = 10
RETRIES = 2


def build_retry_handlers() -> list[AsyncRetryHandler]:
    """429 (after Retry-After), 500/503 and connection errors, each retried twice with backoff."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=RETRIES),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RETRIES),
        AsyncServerErrorRetryHandler(max_retry_count=RETRIES),
    ]


def build_web_client(token: str | None, base_url: str) -> AsyncWebClient:
    """A Web API client; set its ``session`` (:func:`build_http_session`) once in the loop.

    Bolt copies the app client's ``session`` into the client it makes for each request, so
    the listeners' ``client`` shares it too.
    """
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=API_TIMEOUT,
        retry_handlers=build_retry_handlers(),
    )


def build_http_session() -> aiohttp.ClientSession:
    """The connection pool of the Web API calls; make it in the running loop, close it after.

    The timeout is the one slack_sdk gives the session it would otherwise open per call (it
    does not apply its own ``timeout`` to a session passed in).
    """
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT))


def _error_name(exc: SlackApiError) -> str:
    """Slack's error code, or ``http_<status>`` when the reply was not Slack's JSON (a proxy's
    error page, a cut-off body), in which case the SDK hands over the raw HTTP response."""
    response = exc.response
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return f"http_{status}" if status else "bad_reply"


class SlackApi:
    """Web API calls that log and count their failures instead of raising."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def call(
        self, client: AsyncWebClient, method: str, **params: Any
    ) -> dict[str, Any] | None:
        """Call ``method`` (e.g. ``chat.update``); its reply's data, or None if it failed."""
        function: Callable[..., Awaitable[Any]] = getattr(client, method.replace(".", "_"))
        try:
            response = await function(**params)
        except SlackApiError as exc:
            self._failed(method, _error_name(exc), exc)
            return None
        except Exception as exc:  # connection errors, timeouts, a reply that is not JSON
            self._failed(method, type(exc).__name__, exc)
            return None
        data: dict[str, Any] = response.data if isinstance(response.data, dict) else {}
        return data

    async def respond(self, respond: AsyncRespond, **params: Any) -> bool:
        """Reply through a command's or a button's ``response_url``; whether it worked."""
        try:
            response = await respond(**params)
        except Exception as exc:
            self._failed("response_url", type(exc).__name__, exc)
            return False
        if response.status_code != 200:
            self._failed("response_url", f"http_{response.status_code}", None)
            return False
        return True

    def _failed(self, method: str, error: str, exc: BaseException | None) -> None:
        self._metrics.slack_api_errors_total.labels(method=method, error=error).inc()
        log.warning(
            "slack %s failed: %s",
            method,
            error,
            extra={"method": method, "error": error},
            exc_info=exc if exc is not None and not isinstance(exc, SlackApiError) else None,
        )
