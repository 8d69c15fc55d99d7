"""The emulated workspace: users, channels, messages (with threads and edit history), and what
the app published through other surfaces (ephemerals, Home views, assistant threads, streams)."""

from __future__ import annotations

import copy
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.slack_emulator.events import AppIdentity, rich_text_blocks

FIRST_TS_SECONDS = 1_700_000_000
AUTO_CREATED_PREFIXES = ("C", "G", "D")


@dataclass
class Channel:
    id: str
    name: str
    is_im: bool = False
    is_private: bool = False
    is_archived: bool = False
    user: str | None = None  # the person in a DM with the app

    @property
    def channel_type(self) -> str:
        """The ``channel_type`` of message events in this conversation."""
        if self.is_im:
            return "im"
        return "group" if self.is_private else "channel"

    def info(self) -> dict[str, Any]:
        """The ``channel`` object of conversations.info."""
        info: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_im and not self.is_private,
            "is_group": self.is_private and not self.is_im,
            "is_im": self.is_im,
            "is_private": self.is_private or self.is_im,
            "is_archived": self.is_archived,
            "is_member": True,
            "created": FIRST_TS_SECONDS,
        }
        if self.user is not None:
            info["user"] = self.user
        return info


@dataclass
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    tz: str = "America/New_York"
    locale: str | None = None  # in users.info only when asked with include_locale, as Slack does

    def info(self, team_id: str) -> dict[str, Any]:
        """The ``user`` object of users.info."""
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": self.tz,
            "tz_label": "Eastern Standard Time",
            "tz_offset": -18000,
            "profile": {
                "display_name": self.name,
                "real_name": self.real_name,
                "team": team_id,
            },
        }


@dataclass(frozen=True)
class Ephemeral:
    """A message only ``user`` sees; it never enters the channel history."""

    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None


@dataclass(frozen=True)
class ThreadStatus:
    channel_id: str
    thread_ts: str
    status: str


@dataclass(frozen=True)
class SuggestedPrompts:
    channel_id: str
    thread_ts: str
    prompts: list[dict[str, Any]]
    title: str | None


@dataclass(frozen=True)
class ThreadTitle:
    channel_id: str
    thread_ts: str
    title: str


@dataclass
class Stream:
    """A streamed message: its chunks as they arrived, and whether chat.stopStream ended it."""

    channel: str
    ts: str
    thread_ts: str
    chunks: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False

    @property
    def text(self) -> str:
        return "".join(c.get("text", "") for c in self.chunks if c.get("type") == "markdown_text")


class Workspace:
    """Conversation store plus the records the inspection helpers read."""

    def __init__(self, identity: AppIdentity, *, first_ts: int = FIRST_TS_SECONDS) -> None:
        self.identity = identity
        self._first_ts = first_ts
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[Ephemeral] = []
        self.home_views: dict[str, dict[str, Any]] = {}
        self.statuses: list[ThreadStatus] = []
        self.suggested_prompts: list[SuggestedPrompts] = []
        self.titles: list[ThreadTitle] = []
        self.streams: dict[str, Stream] = {}
        self._messages: dict[str, dict[str, dict[str, Any]]] = {}
        self._channel_of: dict[str, str] = {}
        self._versions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._ts_numbers = itertools.count(1)
        self._id_numbers = itertools.count(1)
        self.add_user(identity.bot_user_id, "ledger", is_bot=True, real_name="Ledger")
        self.add_user("U0ALICE", "alice", real_name="Alice Example")
        self.add_channel("C0GENERAL", "general")

    # identifiers

    def next_ts(self) -> str:
        """A fresh message timestamp, strictly greater than every earlier one."""
        n = next(self._ts_numbers)
        return f"{self._first_ts + n // 10_000}.{(n % 10_000) * 100:06d}"

    def next_id(self, prefix: str = "") -> str:
        return f"{prefix}{next(self._id_numbers):05d}"

    # people and conversations

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        is_bot: bool = False,
        real_name: str | None = None,
        locale: str | None = None,
    ) -> User:
        user = User(user_id, name, real_name or name.title(), is_bot=is_bot, locale=locale)
        self.users[user_id] = user
        return user

    def add_channel(
        self, channel_id: str, name: str, *, is_im: bool = False, is_private: bool = False
    ) -> Channel:
        channel = Channel(channel_id, name, is_im=is_im, is_private=is_private)
        self.channels[channel_id] = channel
        self._messages.setdefault(channel_id, {})
        return channel

    def channel(self, channel_id: str) -> Channel | None:
        """The channel, auto-created on first use when its id starts with C, G or D."""
        if channel_id in self.channels:
            return self.channels[channel_id]
        if not channel_id.startswith(AUTO_CREATED_PREFIXES) or len(channel_id) < 2:
            return None
        return self.add_channel(
            channel_id,
            channel_id.lower(),
            is_im=channel_id.startswith("D"),
            is_private=channel_id.startswith("G"),
        )

    def dm_channel(self, user: str) -> Channel:
        """The app's DM with ``user`` (``U0ALICE`` talks in ``D0ALICE``)."""
        channel_id = "D" + user[1:]
        existing = self.channels.get(channel_id)
        if existing is not None:
            existing.user = existing.user or user
            return existing
        channel = self.add_channel(channel_id, "directmessage", is_im=True)
        channel.user = user
        return channel

    def user_name(self, user: str) -> str:
        known = self.users.get(user)
        return known.name if known else user.lower()

    # messages

    def blocks_with_ids(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Copies of ``blocks`` with the block_id and action_id Slack fills in when missing."""
        filled = copy.deepcopy(blocks)
        for block in filled:
            block.setdefault("block_id", self.next_id("b"))
        for _, element in interactive_elements(filled):
            if element.get("type") != "image":
                element.setdefault("action_id", self.next_id("a"))
        return filled

    def bot_message(
        self,
        text: str,
        blocks: list[dict[str, Any]] | None,
        *,
        ts: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message as the app's bot user posts it (text-only gets a derived rich_text block)."""
        ts = ts or self.next_ts()
        identity = self.identity
        message: dict[str, Any] = {
            "user": identity.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": identity.bot_id,
            "app_id": identity.app_id,
            "text": text,
            "team": identity.team_id,
            "bot_profile": {
                "id": identity.bot_id,
                "app_id": identity.app_id,
                "name": "Ledger",
                "deleted": False,
                "team_id": identity.team_id,
            },
            "blocks": self.message_blocks(text, blocks),
        }
        message.update(extra or {})
        return message

    def person_message(self, user: str, text: str, *, ts: str | None = None) -> dict[str, Any]:
        """A message as a person types it in the Slack client."""
        ts = ts or self.next_ts()
        return {
            "user": user,
            "type": "message",
            "ts": ts,
            "client_msg_id": str(uuid.UUID(int=int(ts.replace(".", "")))),
            "text": text,
            "team": self.identity.team_id,
            "blocks": self.message_blocks(text, None),
        }

    def message_blocks(
        self, text: str, blocks: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]]:
        """The blocks a message is stored with: the given ones, else rich_text from the text."""
        if blocks:
            return self.blocks_with_ids(blocks)
        return rich_text_blocks(text, self.next_id("r")) if text else []

    def store(self, channel: str, message: dict[str, Any]) -> dict[str, Any]:
        """Add ``message`` to ``channel``; a reply updates its parent's thread summary."""
        message = copy.deepcopy(message)
        ts = message["ts"]
        parent_ts = message.get("thread_ts")
        if parent_ts and parent_ts != ts:
            parent = self._messages.setdefault(channel, {}).get(parent_ts)
            if parent is not None:
                message.setdefault("parent_user_id", parent.get("user", ""))
                self._add_reply(parent, message)
        self._messages.setdefault(channel, {})[ts] = message
        self._channel_of[ts] = channel
        self._versions[(channel, ts)] = [copy.deepcopy(message)]
        return copy.deepcopy(message)

    def replace(self, channel: str, ts: str, message: dict[str, Any]) -> dict[str, Any]:
        """Swap in a new version of a stored message, keeping the old one in its history."""
        self._messages[channel][ts] = copy.deepcopy(message)
        self._versions[(channel, ts)].append(copy.deepcopy(message))
        return copy.deepcopy(message)

    def delete(self, channel: str, ts: str) -> dict[str, Any]:
        removed = self._messages[channel].pop(ts)
        parent_ts = removed.get("thread_ts")
        parent = self._messages[channel].get(parent_ts or "")
        if parent is not None and parent_ts != ts:
            parent["reply_count"] = max(0, parent.get("reply_count", 1) - 1)
        return removed

    def get(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The live stored message (not a copy), or None."""
        return self._messages.get(channel, {}).get(ts)

    def locate(self, ts: str) -> str | None:
        """The channel a message with this ts was posted in."""
        channel = self._channel_of.get(ts)
        return channel if channel is not None and ts in self._messages[channel] else None

    def messages(self, channel: str, *, include_replies: bool = True) -> list[dict[str, Any]]:
        """Copies of the channel's messages, oldest first."""
        stored = self._messages.get(channel, {}).values()
        chosen = [m for m in stored if include_replies or m.get("thread_ts", m["ts"]) == m["ts"]]
        return copy.deepcopy(sorted(chosen, key=_ts_key))

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Copies of a thread: its parent, then replies oldest first (empty if unknown)."""
        stored = self._messages.get(channel, {})
        if ts not in stored:
            return []
        root = stored[ts].get("thread_ts", ts)
        members = [m for m in stored.values() if m["ts"] == root or m.get("thread_ts") == root]
        return copy.deepcopy(sorted(members, key=_ts_key))

    def versions(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Every version of a message, the original first (kept after deletion too)."""
        return copy.deepcopy(self._versions.get((channel, ts), []))

    @staticmethod
    def _add_reply(parent: dict[str, Any], reply: dict[str, Any]) -> None:
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        users = parent.setdefault("reply_users", [])
        if reply.get("user") and reply["user"] not in users:
            users.append(reply["user"])
        parent["reply_users_count"] = len(users)
        parent["latest_reply"] = reply["ts"]
        parent.setdefault("is_locked", False)
        parent.setdefault("subscribed", False)


def interactive_elements(
    blocks: list[dict[str, Any]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(block_id, element)`` for each element of actions blocks and each section accessory."""
    for block in blocks:
        elements = block.get("elements", []) if block.get("type") == "actions" else []
        accessory = block.get("accessory")
        for element in [*elements, *([accessory] if isinstance(accessory, dict) else [])]:
            if isinstance(element, dict):
                yield str(block.get("block_id", "")), element


def _ts_key(message: dict[str, Any]) -> tuple[int, int]:
    seconds, _, micros = str(message["ts"]).partition(".")
    return int(seconds), int(micros or 0)
