"""Slack's side of the Events API over HTTP: signed requests to an app's URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp

RequestKind = Literal["event", "command", "interactive"]


def sign_request(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` (v0 HMAC-SHA256) for ``body``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{stamp}:".encode() + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": f"v0={digest}"}


def encode_request(body: dict[str, Any], kind: RequestKind) -> tuple[bytes, str]:
    """The bytes and content type Slack sends: events as JSON, commands as a form, interactive
    payloads as a form with one ``payload`` field holding JSON."""
    if kind == "event":
        return json.dumps(body).encode(), "application/json"
    if kind == "command":
        return urlencode(body).encode(), "application/x-www-form-urlencoded"
    return urlencode({"payload": json.dumps(body)}).encode(), "application/x-www-form-urlencoded"


async def post_to_app(
    url: str,
    body: dict[str, Any],
    signing_secret: str,
    *,
    kind: RequestKind = "event",
    retry_num: int | None = None,
    retry_reason: str | None = None,
    bad_signature: bool = False,
    timestamp: int | None = None,
    timeout: float = 10.0,
) -> tuple[int, str, float]:
    """POST ``body`` to the app as Slack would; returns (status, response text, seconds taken)."""
    data, content_type = encode_request(body, kind)
    secret = signing_secret + "-wrong" if bad_signature else signing_secret
    headers = {"Content-Type": content_type, **sign_request(secret, data, timestamp)}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
    if retry_reason is not None:
        headers["X-Slack-Retry-Reason"] = retry_reason
    started = time.monotonic()
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
        session.post(url, data=data, headers=headers) as response,
    ):
        text = await response.text()
        return response.status, text, time.monotonic() - started
