"""Which Slack messages are questions for the bot: a pure decision on the event alone.

Slack sends the bot every message in the channels it is in, and two events (``app_mention``
and ``message``) for a message that mentions it. This module says what each one is, so the
listeners stay thin and the rules can be tested without Slack.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

# Message subtypes that are a person (or, when allowed, a bot) saying something. Edits,
# deletions, joins, topic and name changes and the rest are not questions.
QUESTION_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "bot_message"})
DIRECT = frozenset({"im"})

Kind = Literal["question", "thread_reply", "ignore"]

# Why a person's message in a channel is not a question, decided on the event alone.
NOT_ALLOWED = "channel not allowed"
MENTION = "mention (answered from app_mention)"
NOT_ADDRESSED = "not addressed to the bot"
_CHATTER = frozenset({NOT_ALLOWED, MENTION, NOT_ADDRESSED})


@dataclass(frozen=True, slots=True)
class Route:
    """What to do with a message: answer it (``question``), answer it if the bot has answered
    in its thread (``thread_reply``), or ``ignore`` it, with the reason for the logs."""

    kind: Kind
    reason: str = ""
    has_files: bool = False


@dataclass(frozen=True, slots=True)
class Audience:
    """Who the bot listens to, from the settings and from ``auth.test``."""

    bot_user_id: str
    bot_id: str | None
    answer_bots: bool = False
    allowed_channels: Collection[str] = ()

    def mentioned_in(self, text: str) -> bool:
        return f"<@{self.bot_user_id}>" in text or f"<@{self.bot_user_id}|" in text

    def allows_channel(self, channel: str, channel_type: str | None) -> bool:
        if channel_type in DIRECT or channel.startswith("D"):
            return True
        return not self.allowed_channels or channel in self.allowed_channels


def _ignore(reason: str) -> Route:
    return Route("ignore", reason)


def _from_bot(event: Mapping[str, Any], audience: Audience) -> Route | None:
    """The reason to ignore a message by the bot itself or by another bot, if it is one."""
    bot_id = event.get("bot_id")
    if event.get("user") == audience.bot_user_id or (bot_id and bot_id == audience.bot_id):
        return _ignore("own message")
    if (bot_id or event.get("subtype") == "bot_message") and not audience.answer_bots:
        return _ignore("from a bot")
    return None


def _malformed(event: Mapping[str, Any]) -> Route | None:
    if not isinstance(event.get("channel"), str) or not isinstance(event.get("ts"), str):
        return _ignore("malformed event (no channel or ts)")
    return None


def route_message(event: Mapping[str, Any], audience: Audience) -> Route:
    """Route a ``message`` event (channels, private channels and DMs)."""
    if (malformed := _malformed(event)) is not None:
        return malformed
    subtype = event.get("subtype")
    if subtype not in QUESTION_SUBTYPES:
        return _ignore(f"subtype {subtype}")
    if (bot := _from_bot(event, audience)) is not None:
        return bot
    channel = str(event.get("channel", ""))
    channel_type = event.get("channel_type")
    has_files = bool(event.get("files")) or subtype == "file_share"
    if not audience.allows_channel(channel, channel_type):
        return _ignore(NOT_ALLOWED)
    if channel_type in DIRECT or channel.startswith("D"):
        return Route("question", has_files=has_files)
    text = str(event.get("text") or "")
    if audience.mentioned_in(text):
        return _ignore(MENTION)
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != event.get("ts"):
        return Route("thread_reply", has_files=has_files)
    return _ignore(NOT_ADDRESSED)


def route_chatter(event: Mapping[str, Any], audience: Audience) -> Route | None:
    """The route of a ``message`` event that the bot ignores on sight, else None: a message
    in a channel, not by the bot itself, that is no question for it (the ``message`` twin of
    a mention, which is answered from its ``app_mention`` event, and everything not addressed
    to the bot), or one in a channel outside the allowlist. Most of what Slack sends is this,
    so adapters settle it before Bolt's dispatch, as :func:`route_message` would."""
    if event.get("type") != "message":
        return None
    route = route_message(event, audience)
    return route if route.kind == "ignore" and route.reason in _CHATTER else None


def route_mention(event: Mapping[str, Any], audience: Audience) -> Route:
    """Route an ``app_mention`` event."""
    if (malformed := _malformed(event)) is not None:
        return malformed
    if (bot := _from_bot(event, audience)) is not None:
        return bot
    if not audience.allows_channel(str(event.get("channel", "")), event.get("channel_type")):
        return _ignore(NOT_ALLOWED)
    return Route("question", has_files=bool(event.get("files")))


def thread_root(event: Mapping[str, Any]) -> str:
    """The ts of the thread an answer to ``event`` belongs in: its thread, or a new one under it."""
    return str(event.get("thread_ts") or event["ts"])
