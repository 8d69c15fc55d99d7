"""One question asked in Slack, from "Thinking…" to the answer that replaces it.

A turn shows the asker at once that the bot is working (a placeholder message in the thread,
or the assistant pane's status), reads the thread so far when the question is a follow-up,
puts the question through the service, and then replaces the placeholder with the answer. It
never leaves the placeholder hanging: if anything fails, an apology takes its place.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from ledger_bot import messages
from ledger_bot.service import LedgerBotService, QuestionOutcome, QuestionRequest
from ledger_bot.settings import Settings
from ledger_bot.slack.api import SlackApi
from ledger_bot.slack.blocks import (
    SlackMessage,
    render_outcome,
    render_partial,
    render_text,
    render_thinking,
)
from ledger_bot.slack.markup import normalize_question
from ledger_bot.slack.routing import Audience, thread_root

log = logging.getLogger(__name__)

# Subtypes of earlier messages in a thread that count as the asker's turns.
_TURN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
# Outcomes shown only to the asker when the question was asked in a channel.
_PRIVATE_OUTCOMES = frozenset({"rejected", "rate_limited"})
_MAX_HISTORY_PAGES = 5
_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class Turn:
    """A question as Slack delivered it.

    ``root`` is the thread the answer goes in; ``in_thread`` says the question was itself a
    reply in a thread, whose earlier messages are the conversation so far. ``public`` turns
    were asked in a channel, where notices meant for the asker alone are sent ephemerally.
    """

    channel: str
    user: str
    text: str
    ts: str
    root: str
    in_thread: bool
    public: bool
    has_files: bool = False
    assistant: bool = False

    @classmethod
    def from_event(
        cls, event: Mapping[str, Any], *, has_files: bool, assistant: bool = False
    ) -> Turn:
        channel = str(event["channel"])
        thread_ts = event.get("thread_ts")
        return cls(
            channel=channel,
            user=str(event.get("user") or event.get("bot_id") or ""),
            text=str(event.get("text") or ""),
            ts=str(event["ts"]),
            root=thread_root(event),
            in_thread=bool(thread_ts) and thread_ts != event["ts"],
            public=event.get("channel_type") != "im" and not channel.startswith("D"),
            has_files=has_files,
            assistant=assistant,
        )


def has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


class TurnRunner:
    """Runs turns; shared by every listener that answers questions in a conversation."""

    def __init__(self, settings: Settings, service: LedgerBotService, api: SlackApi) -> None:
        self._settings = settings
        self._service = service
        self._api = api

    @property
    def escalation(self) -> bool:
        return self._settings.slack_escalation_channel is not None

    async def run(self, turn: Turn, client: AsyncWebClient, audience: Audience) -> str:
        """Answer ``turn``; returns the question's outcome (``failed`` if the bot broke)."""
        placeholder = await self._show_working(turn, client)
        stream = _Stream(self, turn, client, placeholder)
        private = False
        try:
            outcome = await self._answer(turn, client, audience, stream)
            await stream.settle()
            placeholder = stream.placeholder
            if outcome is None:
                message, result = render_text(messages.SLACK_FILES_NOT_READ), "file"
            else:
                message = render_outcome(outcome, escalation=self.escalation)
                private = turn.public and outcome.outcome in _PRIVATE_OUTCOMES
                result = outcome.outcome
        except Exception:
            log.exception("answering a Slack question failed", extra={"channel": turn.channel})
            message, result = render_text(messages.ANSWER_FAILED), "failed"
            await stream.settle()
            placeholder = stream.placeholder
        await self._deliver(turn, client, placeholder, message, private=private)
        return result

    async def _show_working(self, turn: Turn, client: AsyncWebClient) -> str | None:
        """The asker's sign that the bot is on it; the placeholder's ts, if one was posted."""
        if turn.assistant:
            await self._api.call(
                client,
                "assistant.threads.setStatus",
                channel_id=turn.channel,
                thread_ts=turn.root,
                status=messages.SLACK_ASSISTANT_STATUS,
            )
            return None
        thinking = render_thinking()
        posted = await self._api.call(
            client,
            "chat.postMessage",
            channel=turn.channel,
            thread_ts=turn.root,
            text=thinking.text,
            blocks=thinking.blocks,
        )
        return str(posted["ts"]) if posted and posted.get("ts") else None

    async def _answer(
        self, turn: Turn, client: AsyncWebClient, audience: Audience, stream: _Stream
    ) -> QuestionOutcome | None:
        """The service's outcome, or None for a file shared without a question."""
        question = normalize_question(turn.text, audience.bot_user_id)
        if turn.has_files and not has_words(question):
            return None
        history = await self._history(turn, client, audience) if turn.in_thread else ()
        outcome = await self._service.handle(
            QuestionRequest(
                text=question,
                user=turn.user,
                channel=turn.channel,
                surface="slack",
                history=history,
                thread_ts=turn.root,
            ),
            on_text=stream.show,
        )
        if turn.has_files and outcome.answer is not None:
            outcome = dataclasses.replace(
                outcome, notes=(*outcome.notes, messages.SLACK_FILES_NOT_READ)
            )
        return outcome

    async def show(
        self, turn: Turn, client: AsyncWebClient, ts: str | None, text: str
    ) -> str | None:
        """Show the answer so far: update the message ``ts``, or post one; its ts."""
        partial = render_partial(text)
        content = {"text": partial.text, "blocks": partial.blocks}
        if ts is not None:
            await self._api.call(client, "chat.update", channel=turn.channel, ts=ts, **content)
            return ts
        posted = await self._api.call(
            client, "chat.postMessage", channel=turn.channel, thread_ts=turn.root, **content
        )
        return str(posted["ts"]) if posted and posted.get("ts") else None

    async def _history(
        self, turn: Turn, client: AsyncWebClient, audience: Audience
    ) -> tuple[str, ...]:
        """The asker's side of the thread before ``turn``: the conversation so far."""
        found: list[Mapping[str, Any]] = []
        cursor: str | None = None
        for _ in range(_MAX_HISTORY_PAGES):
            params: dict[str, Any] = {"channel": turn.channel, "ts": turn.root, "limit": _PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            page = await self._api.call(client, "conversations.replies", **params)
            if page is None:
                break
            found.extend(page.get("messages") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                break
        turns: list[str] = []
        current = float(turn.ts)
        for message in found:
            if float(message.get("ts", "0")) >= current:
                continue
            if message.get("bot_id") or message.get("user") == audience.bot_user_id:
                continue
            if message.get("subtype") not in _TURN_SUBTYPES:
                continue
            text = normalize_question(str(message.get("text") or ""), audience.bot_user_id)
            if has_words(text):
                turns.append(text)
        return tuple(turns[-self._settings.slack_thread_history :])

    async def _deliver(
        self,
        turn: Turn,
        client: AsyncWebClient,
        placeholder: str | None,
        message: SlackMessage,
        *,
        private: bool,
    ) -> None:
        content = {"text": message.text, "blocks": message.blocks}
        if private:
            if placeholder is not None:
                await self._api.call(client, "chat.delete", channel=turn.channel, ts=placeholder)
            await self._api.call(
                client,
                "chat.postEphemeral",
                channel=turn.channel,
                user=turn.user,
                thread_ts=turn.root,
                **content,
            )
            return
        if placeholder is not None:
            updated = await self._api.call(
                client, "chat.update", channel=turn.channel, ts=placeholder, **content
            )
            if updated is not None:
                return
        # No placeholder to replace (or it could not be updated): post the answer instead,
        # and take the stale placeholder away.
        posted = await self._api.call(
            client, "chat.postMessage", channel=turn.channel, thread_ts=turn.root, **content
        )
        if posted is not None and placeholder is not None:
            await self._api.call(client, "chat.delete", channel=turn.channel, ts=placeholder)


class _Stream:
    """The answer as a language model writes it: each new version replaces the placeholder,
    one update at a time (the answerer already spaces them a second apart), so the final
    answer is never overtaken by an older partial one."""

    def __init__(
        self, runner: TurnRunner, turn: Turn, client: AsyncWebClient, placeholder: str | None
    ) -> None:
        self.placeholder = placeholder
        self._runner = runner
        self._turn = turn
        self._client = client
        self._pending: str | None = None
        self._task: asyncio.Task[None] | None = None

    def show(self, text: str) -> None:
        self._pending = text
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending is not None:
            text, self._pending = self._pending, None
            self.placeholder = await self._runner.show(
                self._turn, self._client, self.placeholder, text
            )

    async def settle(self) -> None:
        """Wait for the update in flight, and drop any partial answer not yet shown."""
        self._pending = None
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
