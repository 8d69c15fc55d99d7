"""``response_url`` endpoints for slash commands and interactive payloads (Bolt's ``respond()``)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiohttp import web

from tests.slack_emulator.store import Ephemeral, Workspace
from tests.slack_emulator.validation import ApiError, check_blocks, truncate_text
from tests.slack_emulator.waiting import Signal

MAX_USES = 5  # Slack accepts five responses per response_url


class ResponsePost(NamedTuple):
    response_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class ResponseTarget:
    """Where a response lands: the person who acted, their channel, the message they clicked."""

    channel: str
    user: str
    message_ts: str | None = None
    is_ephemeral: bool = False


class ResponseUrls:
    def __init__(self, workspace: Workspace, signal: Signal) -> None:
        self.base_url = ""  # set once the server listens
        self.posts: list[ResponsePost] = []
        self._workspace = workspace
        self._signal = signal
        self._targets: dict[str, ResponseTarget] = {}
        self._uses: dict[str, int] = {}

    def issue(self, target: ResponseTarget) -> str:
        response_id = uuid.uuid4().hex
        self._targets[response_id] = target
        return f"{self.base_url}/response/{response_id}"

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool] | None, *, timeout: float
    ) -> ResponsePost:
        def check() -> ResponsePost | None:
            return next((p for p in self.posts if predicate is None or predicate(p.body)), None)

        def describe() -> str:
            return f"no matching response_url post; posts so far: {[p.body for p in self.posts]}"

        return await self._signal.wait_for(check, timeout=timeout, describe=describe)

    async def handle(self, request: web.Request) -> web.Response:
        response_id = request.match_info["response_id"]
        target = self._targets.get(response_id)
        if target is None:
            return web.Response(status=404, text="no_service")
        self._uses[response_id] = self._uses.get(response_id, 0) + 1
        if self._uses[response_id] > MAX_USES:
            return web.Response(status=404, text="used_url")
        try:
            body = json.loads(await request.read())
        except json.JSONDecodeError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        self.posts.append(ResponsePost(response_id, body))
        self._signal.fire()
        try:
            self._apply(target, body)
        except ApiError as exc:
            return web.Response(status=400, text=exc.error)
        return web.Response(text="ok")

    def _apply(self, target: ResponseTarget, body: dict[str, Any]) -> None:
        workspace = self._workspace
        original = workspace.get(target.channel, target.message_ts or "")
        if body.get("delete_original"):
            if original is not None and not target.is_ephemeral:
                workspace.delete(target.channel, original["ts"])
            return
        blocks = check_blocks(body["blocks"]) if body.get("blocks") else []
        text, _ = truncate_text(str(body.get("text") or ""))
        if not text and not blocks:
            raise ApiError("no_text")
        if body.get("replace_original") and target.message_ts:
            if target.is_ephemeral:
                self._ephemeral(target, text, blocks, ts=target.message_ts)
            elif original is not None:
                updated = copy.deepcopy(original)
                updated.update(text=text, blocks=workspace.message_blocks(text, blocks))
                workspace.replace(target.channel, original["ts"], updated)
            return
        if body.get("response_type") == "in_channel":
            extra = {"thread_ts": body["thread_ts"]} if body.get("thread_ts") else None
            workspace.store(target.channel, workspace.bot_message(text, blocks, extra=extra))
        else:
            self._ephemeral(target, text, blocks, ts=workspace.next_ts())

    def _ephemeral(
        self, target: ResponseTarget, text: str, blocks: list[dict[str, Any]], *, ts: str
    ) -> None:
        self._workspace.ephemerals.append(
            Ephemeral(
                channel=target.channel,
                user=target.user,
                message_ts=ts,
                text=text,
                blocks=self._workspace.blocks_with_ids(blocks),
            )
        )
