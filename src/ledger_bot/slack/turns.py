"""One question asked in Slack, from "Thinking…" to the answer that replaces it.

A turn shows the asker at once that the bot is working (a placeholder message in the thread,
or the assistant pane's status), reads the thread so far when the question is a follow-up,
puts the question through the service, and then replaces the placeholder with the answer. It
never leaves the placeholder hanging: if anything fails, an apology takes its place.

A turn speaks the asker's language (:class:`AskerLanguages`): their Slack locale when it is
one the bot speaks, else the language the question is written in, else the default.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from ledger_bot import messages
from ledger_bot.i18n import LANGUAGES, detect_language, normalize_locale, translator
from ledger_bot.service import LedgerBotService, QuestionOutcome, QuestionRequest
from ledger_bot.settings import Settings
from ledger_bot.slack.api import SlackApi
from ledger_bot.slack.blocks import (
    SlackMessage,
    render_file_notice,
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
# A Slack user's locale is looked up once an hour at most; a failed lookup is retried after
# five minutes. The lookup is given up after LOCALE_TIMEOUT seconds (the question goes on).
LOCALE_TTL = 3600.0
FAILED_LOCALE_TTL = 300.0
LOCALE_TIMEOUT = 1.5
MAX_REMEMBERED_USERS = 10_000


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


class AskerLanguages:
    """The language to speak to each Slack user, as a code of :data:`~ledger_bot.i18n.LANGUAGES`.

    A question gets the asker's Slack locale (``users.info`` with ``include_locale``, looked up
    at most once an hour per user, in memory), else the language it is written in. Replies
    without a question (buttons, App Home, the assistant's greeting) get the locale, else the
    language of the user's last question, else the default. A lookup that fails or is slow
    counts as no locale: it never holds up an answer.
    """

    def __init__(
        self, api: SlackApi, default: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.default = default
        self._api = api
        self._clock = clock
        self._locales: dict[str, tuple[float, str | None]] = {}  # user: (until, code)
        self._asked_in: dict[str, tuple[float, str]] = {}  # user: (until, code)

    async def of_question(self, client: AsyncWebClient, user: str, question: str) -> str | None:
        """The language to answer ``question`` in; None when neither the asker's locale nor
        the question tells (the bot's own texts are then in the default language, and an
        answer in the language of the question)."""
        code = await self.locale(client, user) or detect_language(question)
        if code is not None:
            self._remember(self._asked_in, user, (self._clock() + LOCALE_TTL, code))
        return code

    async def of_user(self, client: AsyncWebClient, user: str) -> str:
        """The language of a reply to ``user`` that is not an answer."""
        code = await self.locale(client, user)
        if code is None:
            asked = self._asked_in.get(user)
            code = asked[1] if asked is not None and asked[0] > self._clock() else None
        return code or self.default

    async def locale(self, client: AsyncWebClient, user: str) -> str | None:
        """The language of ``user``'s Slack locale, if the bot speaks it."""
        now = self._clock()
        known = self._locales.get(user)
        if known is not None and known[0] > now:
            return known[1]
        code, ttl = None, FAILED_LOCALE_TTL
        if user.startswith(("U", "W")):  # people; bots and workflows have no locale
            try:
                found = await asyncio.wait_for(
                    self._api.call(client, "users.info", user=user, include_locale=True),
                    LOCALE_TIMEOUT,
                )
            except TimeoutError:
                log.warning("slack users.info took too long; going on without the locale")
                found = None
            if found is not None:
                profile = found.get("user") or {}
                code, ttl = normalize_locale(str(profile.get("locale") or "")), LOCALE_TTL
        self._remember(self._locales, user, (now + ttl, code))
        return code

    def _remember(self, table: dict[str, Any], user: str, entry: tuple[float, Any]) -> None:
        if len(table) >= MAX_REMEMBERED_USERS and user not in table:
            now = self._clock()
            for stale in [key for key, (until, _) in table.items() if until <= now]:
                del table[stale]
            if len(table) >= MAX_REMEMBERED_USERS:
                del table[next(iter(table))]
        table[user] = entry


class TurnRunner:
    """Runs turns; shared by every listener that answers questions in a conversation."""

    def __init__(self, settings: Settings, service: LedgerBotService, api: SlackApi) -> None:
        self._settings = settings
        self._service = service
        self._api = api
        self.languages = AskerLanguages(api, settings.default_language)

    @property
    def escalation(self) -> bool:
        return self._settings.slack_escalation_channel is not None

    async def run(self, turn: Turn, client: AsyncWebClient, audience: Audience) -> str:
        """Answer ``turn``; returns the question's outcome (``failed`` if the bot broke)."""
        question = normalize_question(turn.text, audience.bot_user_id)
        asked_in = await self.languages.of_question(client, turn.user, question)
        language = asked_in or self.languages.default
        tr = translator(language)
        stream = _Stream(self, turn, client, None, language)
        work = asyncio.create_task(self._answer(turn, client, audience, stream, question, asked_in))
        # An answer ready at once is posted directly; a slower one shows "Thinking…" first.
        delay = self._settings.slack_placeholder_after
        if delay > 0:
            await asyncio.wait({work}, timeout=delay)
        if not work.done():
            await stream.show_working()
        private = False
        try:
            outcome = await work
            await stream.settle()
            placeholder = stream.placeholder
            if outcome is None:
                message, result = render_file_notice(language=language), "file"
            else:
                message = render_outcome(outcome, escalation=self.escalation, language=language)
                private = turn.public and outcome.outcome in _PRIVATE_OUTCOMES
                result = outcome.outcome
        except Exception:
            log.exception("answering a Slack question failed", extra={"channel": turn.channel})
            message, result = render_text(tr(messages.ANSWER_FAILED)), "failed"
            await stream.settle()
            placeholder = stream.placeholder
        await self._deliver(turn, client, placeholder, message, private=private)
        return result

    async def show_working(self, turn: Turn, client: AsyncWebClient, language: str) -> str | None:
        """The asker's sign that the bot is on it; the placeholder's ts, if one was posted."""
        if turn.assistant:
            await self._api.call(
                client,
                "assistant.threads.setStatus",
                channel_id=turn.channel,
                thread_ts=turn.root,
                status=translator(language)(messages.SLACK_ASSISTANT_STATUS),
            )
            return None
        thinking = render_thinking(language=language)
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
        self,
        turn: Turn,
        client: AsyncWebClient,
        audience: Audience,
        stream: _Stream,
        question: str,
        language: str | None,
    ) -> QuestionOutcome | None:
        """The service's outcome, or None for a file shared without a question. ``language``
        is the asker's, if known: the answer is written in it."""
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
                language=LANGUAGES[language] if language is not None else None,
            ),
            on_text=stream.show,
        )
        if turn.has_files and outcome.answer is not None:
            files_note = translator(stream.language)(messages.SLACK_FILES_NOT_READ)
            outcome = dataclasses.replace(outcome, notes=(*outcome.notes, files_note))
        return outcome

    async def show(
        self, turn: Turn, client: AsyncWebClient, ts: str | None, text: str, language: str
    ) -> str | None:
        """Show the answer so far: update the message ``ts``, or post one; its ts."""
        partial = render_partial(text, language=language)
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
        self,
        runner: TurnRunner,
        turn: Turn,
        client: AsyncWebClient,
        placeholder: str | None,
        language: str,
    ) -> None:
        self.placeholder = placeholder
        self.language = language
        self._runner = runner
        self._turn = turn
        self._client = client
        self._pending: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one Slack call at a time for this answer

    async def show_working(self) -> None:
        """Show "Thinking…" (or the assistant status), unless a partial answer already shows."""
        async with self._lock:
            if self.placeholder is None:
                self.placeholder = await self._runner.show_working(
                    self._turn, self._client, self.language
                )

    def show(self, text: str) -> None:
        self._pending = text
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending is not None:
            async with self._lock:
                text, self._pending = self._pending, None
                if text is None:
                    return
                self.placeholder = await self._runner.show(
                    self._turn, self._client, self.placeholder, text, self.language
                )

    async def settle(self) -> None:
        """Wait for the update in flight, and drop any partial answer not yet shown."""
        self._pending = None
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
