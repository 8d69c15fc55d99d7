"""Web API methods over the emulated workspace: each takes the request's params and returns the
reply body, or raises ``ApiError`` with the error name Slack uses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal

from tests.slack_emulator.paging import between, page, truthy
from tests.slack_emulator.store import (
    Channel,
    Ephemeral,
    Stream,
    SuggestedPrompts,
    ThreadStatus,
    ThreadTitle,
    Workspace,
)
from tests.slack_emulator.validation import (
    MAX_SURFACE_BLOCKS,
    ApiError,
    check_blocks,
    decode_json_param,
    truncate_text,
)

TokenKind = Literal["bot", "app", "any"]
Handler = Callable[[dict[str, Any]], dict[str, Any]]
PERMALINK_HOST = "https://emulator.slack.test"
MAX_STREAM_CHUNK = 12_000
JSON_PARAMS = frozenset({"metadata", "attachments"})


class WebApiMethods:
    """The implemented methods; ``table()`` maps each name to the token it needs and a handler."""

    def __init__(self, workspace: Workspace, issue_socket_url: Callable[[], str]) -> None:
        self.workspace = workspace
        self.issue_socket_url = issue_socket_url

    def table(self) -> dict[str, tuple[TokenKind, Handler]]:
        return {
            "auth.test": ("any", self.auth_test),
            "apps.connections.open": ("app", self.apps_connections_open),
            "chat.postMessage": ("bot", self.chat_post_message),
            "chat.update": ("bot", self.chat_update),
            "chat.delete": ("bot", self.chat_delete),
            "chat.postEphemeral": ("bot", self.chat_post_ephemeral),
            "chat.getPermalink": ("bot", self.chat_get_permalink),
            "chat.startStream": ("bot", self.chat_start_stream),
            "chat.appendStream": ("bot", self.chat_append_stream),
            "chat.stopStream": ("bot", self.chat_stop_stream),
            "reactions.add": ("bot", self.reactions_add),
            "reactions.remove": ("bot", self.reactions_remove),
            "conversations.replies": ("bot", self.conversations_replies),
            "conversations.history": ("bot", self.conversations_history),
            "conversations.info": ("bot", self.conversations_info),
            "conversations.open": ("bot", self.conversations_open),
            "users.info": ("bot", self.users_info),
            "views.publish": ("bot", self.views_publish),
            "assistant.threads.setStatus": ("bot", self.assistant_set_status),
            "assistant.threads.setSuggestedPrompts": ("bot", self.assistant_set_prompts),
            "assistant.threads.setTitle": ("bot", self.assistant_set_title),
        }

    # identity

    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        identity = self.workspace.identity
        return {
            "ok": True,
            "url": f"https://{identity.team_domain}.slack.test/",
            "team": "Ledger Emulator",
            "user": self.workspace.user_name(identity.bot_user_id),
            "team_id": identity.team_id,
            "user_id": identity.bot_user_id,
            "bot_id": identity.bot_id,
            "is_enterprise_install": False,
        }

    def apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.issue_socket_url()}

    # messages

    def chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(params.get("channel"))
        text, blocks, warning = _content(params)
        extra = _optional(params, "thread_ts", "metadata", "attachments")
        stored = self.workspace.store(
            channel.id, self.workspace.bot_message(text, blocks, extra=extra)
        )
        reply = {"ok": True, "channel": channel.id, "ts": stored["ts"], "message": stored}
        return _with_warning(reply, warning)

    def chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, current = self._own_message(params, "ts", error="cant_update_message")
        text, blocks, warning = _content(params)
        updated = copy.deepcopy(current)
        updated["text"] = text
        updated["blocks"] = self.workspace.message_blocks(text, blocks)
        updated.update(_optional(params, "metadata", "attachments"))
        updated["edited"] = {
            "user": self.workspace.identity.bot_user_id,
            "ts": self.workspace.next_ts(),
        }
        stored = self.workspace.replace(channel.id, current["ts"], updated)
        reply = {
            "ok": True,
            "channel": channel.id,
            "ts": stored["ts"],
            "text": text,
            "message": stored,
        }
        return _with_warning(reply, warning)

    def chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, current = self._own_message(params, "ts", error="cant_delete_message")
        self.workspace.delete(channel.id, current["ts"])
        return {"ok": True, "channel": channel.id, "ts": current["ts"]}

    def chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(params.get("channel"))
        user = str(params.get("user") or "")
        if not user.startswith(("U", "W")):
            raise ApiError("user_not_in_channel")
        text, blocks, warning = _content(params)
        ts = self.workspace.next_ts()
        thread_ts = params.get("thread_ts")
        self.workspace.ephemerals.append(
            Ephemeral(
                channel=channel.id,
                user=user,
                message_ts=ts,
                text=text,
                blocks=self.workspace.blocks_with_ids(blocks or []),
                thread_ts=str(thread_ts) if thread_ts else None,
            )
        )
        return _with_warning({"ok": True, "message_ts": ts}, warning)

    def chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_channel(params.get("channel"))
        message = self.workspace.get(channel.id, str(params.get("message_ts") or ""))
        if message is None:
            raise ApiError("message_not_found")
        link = f"{PERMALINK_HOST}/archives/{channel.id}/p{message['ts'].replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            link += f"?thread_ts={thread_ts}&cid={channel.id}"
        return {"ok": True, "channel": channel.id, "permalink": link}

    # streaming

    def chat_start_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(params.get("channel"))
        thread_ts = _required(params, "thread_ts")
        chunks = _chunks(params)
        stream = Stream(channel=channel.id, ts=self.workspace.next_ts(), thread_ts=thread_ts)
        stream.chunks.extend(chunks)
        message = self.workspace.bot_message(stream.text, None, ts=stream.ts)
        message["thread_ts"] = thread_ts
        self.workspace.store(channel.id, message)
        self.workspace.streams[stream.ts] = stream
        return {"ok": True, "channel": channel.id, "ts": stream.ts}

    def chat_append_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(params)
        self._grow(stream, _chunks(params), params)
        return {"ok": True, "channel": stream.channel, "ts": stream.ts}

    def chat_stop_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(params)
        message = self._grow(stream, _chunks(params, required=False), params)
        stream.stopped = True
        return {"ok": True, "channel": stream.channel, "ts": stream.ts, "message": message}

    def _stream(self, params: dict[str, Any]) -> Stream:
        stream = self.workspace.streams.get(str(params.get("ts") or ""))
        if stream is None or self.workspace.get(stream.channel, stream.ts) is None:
            raise ApiError("message_not_found")
        if stream.stopped:
            raise ApiError("message_not_in_streaming_state")
        return stream

    def _grow(
        self, stream: Stream, chunks: list[dict[str, Any]], params: dict[str, Any]
    ) -> dict[str, Any]:
        stream.chunks.extend(chunks)
        current = self.workspace.get(stream.channel, stream.ts)
        assert current is not None
        updated = copy.deepcopy(current)
        updated["text"] = stream.text
        blocks = check_blocks(params["blocks"]) if params.get("blocks") else None
        updated["blocks"] = self.workspace.message_blocks(stream.text, blocks)
        updated.update(_optional(params, "metadata"))
        return self.workspace.replace(stream.channel, stream.ts, updated)

    # reactions

    def reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        message, name = self._reaction_target(params)
        reactions = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        bot = self.workspace.identity.bot_user_id
        if entry is None:
            reactions.append({"name": name, "users": [bot], "count": 1})
        elif bot in entry["users"]:
            raise ApiError("already_reacted")
        else:
            entry["users"].append(bot)
            entry["count"] += 1
        return {"ok": True}

    def reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        message, name = self._reaction_target(params)
        bot = self.workspace.identity.bot_user_id
        reactions = message.get("reactions", [])
        entry = next((r for r in reactions if r["name"] == name and bot in r["users"]), None)
        if entry is None:
            raise ApiError("no_reaction")
        entry["users"].remove(bot)
        entry["count"] -= 1
        message["reactions"] = [r for r in reactions if r["count"] > 0]
        return {"ok": True}

    def _reaction_target(self, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        channel = self._known_channel(params.get("channel"))
        name = str(params.get("name") or "").strip(":")
        if not name:
            raise ApiError("invalid_name")
        message = self.workspace.get(channel.id, str(params.get("timestamp") or ""))
        if message is None:
            raise ApiError("message_not_found")
        return message, name

    # reading conversations

    def conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_channel(params.get("channel"))
        thread = self.workspace.thread(channel.id, str(params.get("ts") or ""))
        if not thread:
            raise ApiError("thread_not_found")
        parent, replies = thread[0], between(thread[1:], params)
        messages = [parent, *replies]
        if not truthy(params.get("include_all_metadata")):
            for message in messages:
                message.pop("metadata", None)
        return page(messages, params, default_limit=1000)

    def conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_channel(params.get("channel"))
        messages = between(self.workspace.messages(channel.id, include_replies=False), params)
        if not truthy(params.get("include_all_metadata")):
            for message in messages:
                message.pop("metadata", None)
        reply = page(list(reversed(messages)), params, default_limit=100)
        reply["pin_count"] = 0
        return reply

    def conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": self._known_channel(params.get("channel")).info()}

    def conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            return {"ok": True, "channel": {"id": self._known_channel(params["channel"]).id}}
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if len(users) != 1 or users[0] not in self.workspace.users:
            raise ApiError("user_not_found")
        channel = self.workspace.dm_channel(users[0])
        return {"ok": True, "no_op": False, "already_open": False, "channel": {"id": channel.id}}

    def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.workspace.users.get(str(params.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        info = user.info(self.workspace.identity.team_id)
        asked = str(params.get("include_locale") or "").lower() in {"1", "true"}
        if asked and user.locale is not None:
            info["locale"] = user.locale
        return {"ok": True, "user": info}

    # surfaces

    def views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user = _required(params, "user_id")
        view = decode_json_param(params.get("view"), error="invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise ApiError("invalid_arguments", "[ERROR] view.type must be home")
        blocks = check_blocks(view.get("blocks", []), limit=MAX_SURFACE_BLOCKS)
        previous = self.workspace.home_views.get(user)
        if params.get("hash") and previous is not None and params["hash"] != previous["hash"]:
            raise ApiError("hash_conflict")
        identity = self.workspace.identity
        view_id = previous["id"] if previous else self.workspace.next_id("V0")
        published = {
            "id": view_id,
            "team_id": identity.team_id,
            "type": "home",
            "blocks": self.workspace.blocks_with_ids(blocks),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": self.workspace.next_id("h."),
            "title": view.get("title", {"type": "plain_text", "text": "View Title"}),
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": identity.app_id,
            "app_installed_team_id": identity.team_id,
            "bot_id": identity.bot_id,
        }
        self.workspace.home_views[user] = published
        return {"ok": True, "view": copy.deepcopy(published)}

    def assistant_set_status(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = _required(params, "channel_id"), _required(params, "thread_ts")
        if "status" not in params:
            raise ApiError("invalid_arguments", "[ERROR] missing required field: status")
        self.workspace.statuses.append(ThreadStatus(channel, thread_ts, str(params["status"])))
        return {"ok": True}

    def assistant_set_prompts(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = _required(params, "channel_id"), _required(params, "thread_ts")
        prompts = decode_json_param(params.get("prompts"), error="invalid_arguments")
        if not isinstance(prompts, list) or not all(
            isinstance(p, dict) and "title" in p and "message" in p for p in prompts
        ):
            raise ApiError("invalid_arguments", "[ERROR] prompts must be [{title, message}]")
        title = params.get("title")
        self.workspace.suggested_prompts.append(
            SuggestedPrompts(channel, thread_ts, prompts, str(title) if title else None)
        )
        return {"ok": True}

    def assistant_set_title(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = _required(params, "channel_id"), _required(params, "thread_ts")
        title = _required(params, "title")
        self.workspace.titles.append(ThreadTitle(channel, thread_ts, title))
        root = self.workspace.get(channel, thread_ts)
        if root is not None and "assistant_app_thread" in root:
            root["assistant_app_thread"]["title"] = title
        return {"ok": True}

    # lookups shared by the methods

    def _known_channel(self, channel_id: Any) -> Channel:
        channel = self.workspace.channel(str(channel_id or ""))
        if channel is None:
            raise ApiError("channel_not_found")
        return channel

    def _writable_channel(self, channel_id: Any) -> Channel:
        channel = self._known_channel(channel_id)
        if channel.is_archived:
            raise ApiError("is_archived")
        return channel

    def _own_message(
        self, params: dict[str, Any], key: str, *, error: str
    ) -> tuple[Channel, dict[str, Any]]:
        channel = self._writable_channel(params.get("channel"))
        message = self.workspace.get(channel.id, str(params.get(key) or ""))
        if message is None:
            raise ApiError("message_not_found")
        identity = self.workspace.identity
        if message.get("user") != identity.bot_user_id and message.get("bot_id") != identity.bot_id:
            raise ApiError(error)
        return channel, message


def _content(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str | None]:
    """Text (truncated as Slack does), validated blocks and a warning, or ``no_text``."""
    blocks = check_blocks(params["blocks"]) if params.get("blocks") is not None else []
    text = params.get("text")
    if not text and not blocks and not params.get("attachments"):
        raise ApiError("no_text")
    truncated, warning = truncate_text(str(text or ""))
    return truncated, blocks, warning


def _chunks(params: dict[str, Any], *, required: bool = True) -> list[dict[str, Any]]:
    chunks = decode_json_param(params.get("chunks"), error="invalid_arguments") or []
    if not isinstance(chunks, list) or not all(isinstance(c, dict) for c in chunks):
        raise ApiError("invalid_arguments", "[ERROR] chunks must be an array of objects")
    if params.get("markdown_text"):
        chunks = [{"type": "markdown_text", "text": str(params["markdown_text"])}, *chunks]
    if required and not chunks:
        raise ApiError("invalid_arguments", "[ERROR] markdown_text or chunks is required")
    if sum(len(str(c.get("text", ""))) for c in chunks) > MAX_STREAM_CHUNK:
        raise ApiError("msg_too_long")
    return chunks


def _optional(params: dict[str, Any], *keys: str) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key in keys:
        value = params.get(key)
        if value in (None, ""):
            continue
        if key in JSON_PARAMS:
            value = decode_json_param(value, error="invalid_arguments")
        extra[key] = value
    return extra


def _required(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if value in (None, ""):
        raise ApiError("invalid_arguments", f"[ERROR] missing required field: {key}")
    return str(value)


def _with_warning(reply: dict[str, Any], warning: str | None) -> dict[str, Any]:
    if warning:
        reply["warning"] = warning
        reply["response_metadata"] = {"warnings": [warning]}
    return reply
