"""Payloads shaped the way Slack sends them: Events API bodies, slash commands, block actions.

Pure functions: they build dicts and never touch the emulator's state. The emulator's
"a person does something" helpers (``people.py``) call them with stored messages.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

LEGACY_VERIFICATION_TOKEN = "emulator-verification-token"
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

_event_numbers = itertools.count(1)


@dataclass(frozen=True)
class AppIdentity:
    """Who the app is in the emulated workspace; every payload carries some of it."""

    team_id: str = "T0LEDGER"
    team_domain: str = "ledger-emulator"
    app_id: str = "A0APP"
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"


def next_event_id() -> str:
    """A fresh id like ``Ev0000000042`` (unique in this process)."""
    return f"Ev{next(_event_numbers):010d}"


def rich_text_blocks(text: str, block_id: str) -> list[dict[str, Any]]:
    """The ``rich_text`` block Slack derives from a message's text, mentions as user elements."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": block_id, "elements": [section]}]


def event_callback(
    identity: AppIdentity,
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    event_time: int | None = None,
) -> dict[str, Any]:
    """The outer Events API body around one inner ``event``."""
    event_ts = str(event.get("event_ts") or event.get("ts") or "0")
    context = {"tid": identity.team_id, "aid": identity.app_id, "cid": event.get("channel")}
    encoded = base64.b64encode(json.dumps(context).encode()).decode().rstrip("=")
    return {
        "token": LEGACY_VERIFICATION_TOKEN,
        "team_id": identity.team_id,
        "context_team_id": identity.team_id,
        "context_enterprise_id": None,
        "api_app_id": identity.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or next_event_id(),
        "event_time": event_time if event_time is not None else int(float(event_ts)),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": identity.team_id,
                "user_id": identity.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{encoded}",
    }


def message_event(
    *,
    channel: str,
    channel_type: str,
    message: dict[str, Any],
) -> dict[str, Any]:
    """A plain ``message`` event (any ``message.*`` subscription) for a stored message."""
    event = {key: value for key, value in message.items() if key not in _THREAD_SUMMARY}
    event.update(channel=channel, event_ts=message["ts"], channel_type=channel_type)
    return event


def app_mention_event(*, channel: str, message: dict[str, Any]) -> dict[str, Any]:
    """The ``app_mention`` event Slack sends alongside the message event for ``<@bot>``."""
    event: dict[str, Any] = {"type": "app_mention"}
    for key in ("user", "text", "ts", "client_msg_id", "team", "blocks", "thread_ts"):
        if key in message:
            event[key] = message[key]
    if "parent_user_id" in message:
        event["parent_user_id"] = message["parent_user_id"]
    event.update(channel=channel, event_ts=message["ts"])
    return event


def message_changed_event(
    *,
    channel: str,
    channel_type: str,
    ts: str,
    message: dict[str, Any],
    previous_message: dict[str, Any],
) -> dict[str, Any]:
    """``message`` subtype ``message_changed``; ``ts`` is the edit's own timestamp."""
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": message,
        "previous_message": previous_message,
        "channel": channel,
        "hidden": True,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel_type,
    }


def message_deleted_event(
    *, channel: str, channel_type: str, ts: str, previous_message: dict[str, Any]
) -> dict[str, Any]:
    """``message`` subtype ``message_deleted``; ``deleted_ts`` names the removed message."""
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "deleted_ts": previous_message["ts"],
        "channel": channel,
        "previous_message": previous_message,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel_type,
    }


def channel_join_event(
    *, channel: str, channel_type: str, user: str, ts: str, inviter: str | None = None
) -> dict[str, Any]:
    """``message`` subtype ``channel_join`` (someone joined or was added)."""
    event: dict[str, Any] = {
        "type": "message",
        "subtype": "channel_join",
        "ts": ts,
        "user": user,
        "text": f"<@{user}> has joined the channel",
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if inviter:
        event["inviter"] = inviter
    return event


def channel_topic_event(
    *, channel: str, channel_type: str, user: str, topic: str, ts: str
) -> dict[str, Any]:
    """``message`` subtype ``channel_topic``."""
    return {
        "type": "message",
        "subtype": "channel_topic",
        "ts": ts,
        "user": user,
        "text": f"<@{user}> set the channel topic: {topic}",
        "topic": topic,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }


def bot_message_event(
    *,
    channel: str,
    channel_type: str,
    bot_id: str,
    text: str,
    ts: str,
    username: str = "integration",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """``message`` subtype ``bot_message`` (legacy integrations and other apps' webhooks)."""
    event: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": text,
        "ts": ts,
        "username": username,
        "bot_id": bot_id,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_home_opened_event(
    *, user: str, channel: str, event_ts: str, tab: str = "home", view: dict[str, Any] | None
) -> dict[str, Any]:
    """``app_home_opened``; ``view`` is present once a Home view was published."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": event_ts,
    }
    if view is not None:
        event["view"] = view
    return event


def assistant_thread_event(
    kind: str,
    *,
    identity: AppIdentity,
    user: str,
    channel: str,
    thread_ts: str,
    context_channel: str | None,
    event_ts: str,
) -> dict[str, Any]:
    """``assistant_thread_started`` or ``assistant_thread_context_changed``."""
    context: dict[str, Any] = {}
    if context_channel is not None:
        context = {
            "channel_id": context_channel,
            "team_id": identity.team_id,
            "enterprise_id": None,
        }
    return {
        "type": kind,
        "assistant_thread": {
            "user_id": user,
            "context": context,
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "event_ts": event_ts,
    }


def slash_command_payload(
    identity: AppIdentity,
    *,
    command: str,
    text: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """The form fields of a slash command (the Socket Mode payload is this dict)."""
    return {
        "token": LEGACY_VERIFICATION_TOKEN,
        "team_id": identity.team_id,
        "team_domain": identity.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": identity.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def button_action(
    element: dict[str, Any], *, block_id: str, action_ts: str, value: str | None
) -> dict[str, Any]:
    """One entry of ``actions`` for a clicked button (or other element) of a block."""
    action: dict[str, Any] = {
        "action_id": element.get("action_id", ""),
        "block_id": block_id,
        "type": element.get("type", "button"),
        "action_ts": action_ts,
    }
    if "text" in element:
        action["text"] = element["text"]
    chosen = value if value is not None else element.get("value")
    if chosen is not None:
        action["value"] = chosen
    if "style" in element:
        action["style"] = element["style"]
    return action


def block_actions_payload(
    identity: AppIdentity,
    *,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    message_ts: str,
    message: dict[str, Any] | None,
    response_url: str,
    trigger_id: str,
    actions: list[dict[str, Any]],
) -> dict[str, Any]:
    """An interactive ``block_actions`` payload; ``message`` is None for an ephemeral message."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": message is None,
    }
    if message is not None and "thread_ts" in message:
        container["thread_ts"] = message["thread_ts"]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_name,
            "name": user_name,
            "team_id": identity.team_id,
        },
        "api_app_id": identity.app_id,
        "token": LEGACY_VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id,
        "team": {"id": identity.team_id, "domain": identity.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": actions,
    }
    if message is not None:
        payload["message"] = message
    return payload


_THREAD_SUMMARY = frozenset(
    {"reply_count", "reply_users", "reply_users_count", "latest_reply", "reactions", "metadata"}
)
