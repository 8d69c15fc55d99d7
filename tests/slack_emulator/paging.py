"""Time windows (``oldest``/``latest``) and cursor paging shared by conversations.* methods."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from tests.slack_emulator.validation import ApiError


def truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _ts_number(params: dict[str, Any], key: str) -> float | None:
    if not params.get(key):
        return None
    try:
        return float(params[key])
    except (TypeError, ValueError):
        raise ApiError(f"invalid_ts_{key}") from None


def between(messages: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply ``oldest``/``latest`` (exclusive unless ``inclusive``)."""
    inclusive = truthy(params.get("inclusive"))
    oldest, latest = _ts_number(params, "oldest"), _ts_number(params, "latest")

    def keep(message: dict[str, Any]) -> bool:
        ts = float(message["ts"])
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            return False
        return latest is None or ts < latest or (ts == latest and inclusive)

    return [m for m in messages if keep(m)]


def page(
    messages: list[dict[str, Any]], params: dict[str, Any], *, default_limit: int
) -> dict[str, Any]:
    """One page of ``messages`` by ``limit``/``cursor``; cursors encode the next message's ts."""
    try:
        limit = int(params.get("limit") or default_limit)
    except ValueError:
        raise ApiError("invalid_limit") from None
    limit = max(1, min(limit, 1000))
    start = 0
    if params.get("cursor"):
        try:
            decoded = base64.b64decode(str(params["cursor"]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError("invalid_cursor") from None
        if not decoded.startswith("next_ts:"):
            raise ApiError("invalid_cursor")
        wanted = decoded.removeprefix("next_ts:")
        start = next((i for i, m in enumerate(messages) if m["ts"] == wanted), len(messages))
    chunk = messages[start : start + limit]
    has_more = start + limit < len(messages)
    next_cursor = ""
    if has_more:
        next_cursor = base64.b64encode(f"next_ts:{messages[start + limit]['ts']}".encode()).decode()
    return {
        "ok": True,
        "messages": chunk,
        "has_more": has_more,
        "response_metadata": {"next_cursor": next_cursor},
    }
