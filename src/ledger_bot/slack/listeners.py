"""The Bolt listeners: each translates one kind of Slack request into calls on the service.

Every event that can produce an answer is claimed first in the shared state under the key of
the message it is about (team, channel, ts), so Slack's retries, a redelivered Socket Mode
envelope, the ``app_mention`` and ``message`` events of the same message, and the same event
reaching two replicas all end in one answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.web.async_client import AsyncWebClient

from ledger_bot import messages
from ledger_bot.documents import Answer, Citation
from ledger_bot.i18n import LANGUAGES, translator
from ledger_bot.service import LedgerBotService, QuestionRequest
from ledger_bot.settings import Settings
from ledger_bot.slack.api import SlackApi
from ledger_bot.slack.blocks import (
    render_escalation,
    render_escalation_done,
    render_feedback_ack,
    render_home,
    render_outcome,
    render_shared_answer,
    render_text,
)
from ledger_bot.slack.markup import normalize_question
from ledger_bot.slack.routing import (
    Audience,
    Route,
    route_chatter,
    route_mention,
    route_message,
)
from ledger_bot.slack.turns import Turn, TurnRunner, has_words
from ledger_bot.state.base import MAX_QUESTION_ID, QuestionRecord

log = logging.getLogger(__name__)

HOME_SOURCES = 20
HOME_RECENT = 5
_VOTES = {"feedback_up": "up", "feedback_down": "down"}


def _question_id(action: Mapping[str, Any]) -> int | None:
    """The question id a button carries, if its value is one (values can be tampered with)."""
    value = str(action.get("value") or "")
    if not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number <= MAX_QUESTION_ID else None


class SlackListeners:
    """What the bot does for each Slack event, command and button."""

    def __init__(
        self, settings: Settings, service: LedgerBotService, api: SlackApi, owner: str
    ) -> None:
        self._settings = settings
        self._service = service
        self._api = api
        self._owner = owner
        self._turns = TurnRunner(settings, service, api)
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- registration ------------------------------------------------------------------

    def register(self, app: AsyncApp) -> None:
        assistant = AsyncAssistant()
        assistant.thread_started(self.on_assistant_thread_started)
        assistant.thread_context_changed(self.on_assistant_context_changed)
        assistant.user_message(self.on_assistant_message)
        app.assistant(assistant)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home_opened)
        app.command(self._settings.slack_command)(self.on_command)
        app.action("feedback_up")(self.on_feedback)
        app.action("feedback_down")(self.on_feedback)
        app.action("escalate")(self.on_escalate)
        app.action("share_answer")(self.on_share)
        # Last: any other event is acknowledged (so Slack does not redeliver it) and counted.
        app.event(re.compile(".*"))(self.on_other_event)

    # -- bookkeeping -------------------------------------------------------------------

    def _audience(self, context: AsyncBoltContext) -> Audience:
        return self._audience_of(context.bot_user_id, context.bot_id)

    def _audience_of(self, bot_user_id: str | None, bot_id: str | None) -> Audience:
        return Audience(
            bot_user_id=str(bot_user_id or ""),
            bot_id=bot_id,
            answer_bots=self._settings.slack_answer_bots,
            allowed_channels=frozenset(self._settings.slack_allowed_channels),
        )

    def ignore_chatter(self, body: Mapping[str, Any], identity: AuthorizeResult) -> bool:
        """Settle an Events API ``body`` that is chatter (:func:`route_chatter`) without Bolt,
        counted and logged as :meth:`on_message` would; whether it was (the adapter then
        acknowledges it). ``identity`` is the bot's, as Bolt's authorize step gives it."""
        event = body.get("event")
        if body.get("type") != "event_callback" or not isinstance(event, Mapping):
            return False
        route = route_chatter(event, self._audience_of(identity.bot_user_id, identity.bot_id))
        if route is None:
            return False
        self._ignored("message", route)
        return True

    def _count(self, kind: str, result: str) -> None:
        self._service.metrics.slack_events_total.labels(kind=kind, result=result).inc()

    async def _tracked(self, work: Awaitable[None]) -> None:
        """Run ``work`` counted as in flight, so a shutdown can wait for it."""
        self._active += 1
        self._idle.clear()
        try:
            await work
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for the requests being handled; how many were left."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            return self._active
        return 0

    async def _claim(self, kind: str, key: str) -> bool:
        if await self._service.claim(key, self._owner):
            return True
        self._count(kind, "duplicate")
        log.info("duplicate %s ignored", kind, extra={"key": key})
        return False

    # -- conversations -----------------------------------------------------------------

    async def on_mention(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        audience = self._audience(context)
        await self._converse(
            "app_mention", body, event, route_mention(event, audience), client, audience
        )

    async def on_message(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        audience = self._audience(context)
        route = route_message(event, audience)
        if route.kind == "thread_reply":
            channel, root = str(event["channel"]), str(event["thread_ts"])
            if not await self._service.answered_in_thread(channel, root):
                route = Route("ignore", "thread the bot has not answered in")
        await self._converse("message", body, event, route, client, audience)

    async def on_assistant_message(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        """A message in a DM thread: the assistant pane, or a follow-up in a DM thread."""
        audience = self._audience(context)
        route = route_message(event, audience)
        if route.kind != "ignore":
            route = Route("question", has_files=route.has_files)
        assistant = bool(event.get("assistant_thread"))
        await self._converse(
            "assistant_message" if assistant else "message",
            body,
            event,
            route,
            client,
            audience,
            assistant=assistant,
        )

    async def _converse(
        self,
        kind: str,
        body: Mapping[str, Any],
        event: Mapping[str, Any],
        route: Route,
        client: AsyncWebClient,
        audience: Audience,
        *,
        assistant: bool = False,
    ) -> None:
        if route.kind == "ignore":
            self._ignored(kind, route)
            return
        key = f"message:{body.get('team_id', '')}:{event['channel']}:{event['ts']}"
        if not await self._claim(kind, key):
            return
        turn = Turn.from_event(event, has_files=route.has_files, assistant=assistant)

        async def answer() -> None:
            result = await self._turns.run(turn, client, audience)
            self._count(kind, "failed" if result == "failed" else "handled")

        await self._tracked(answer())

    def _ignored(self, kind: str, route: Route) -> None:
        self._count(kind, "ignored")
        log.debug("slack %s ignored: %s", kind, route.reason)

    async def on_other_event(self, event: dict[str, Any]) -> None:
        log.debug("slack event %s ignored", event.get("type"))
        self._count("other", "ignored")

    # -- the slash command ---------------------------------------------------------------

    async def on_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        audience = self._audience(context)
        question = normalize_question(str(command.get("text") or ""), audience.bot_user_id)
        user = str(command.get("user_id") or "")
        languages = self._turns.languages
        if not has_words(question):
            tr = translator(await languages.of_user(client, user))
            await ack(text=tr(messages.SLACK_COMMAND_HELP, command=self._settings.slack_command))
            self._count("command", "ignored")
            return
        asked_in = await languages.of_question(client, user, question)
        language = asked_in or languages.default
        tr = translator(language)
        channel = str(command.get("channel_id") or "")
        if not audience.allows_channel(channel, None):
            await ack(text=tr(messages.SLACK_CHANNEL_NOT_ALLOWED))
            self._count("command", "ignored")
            return
        await ack(text=tr(messages.SLACK_THINKING))
        if not await self._claim("command", f"command:{command.get('trigger_id', '')}"):
            return

        async def answer() -> None:
            outcome = await self._service.handle(
                QuestionRequest(
                    text=question,
                    user=user,
                    channel=channel,
                    surface="slack",
                    language=LANGUAGES[asked_in] if asked_in is not None else None,
                )
            )
            message = render_outcome(
                outcome,
                escalation=self._turns.escalation,
                share=outcome.outcome == "answered",
                language=language,
            )
            sent = await self._api.respond(
                respond,
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=True,
            )
            self._count("command", "handled" if sent else "failed")

        await self._tracked(answer())

    # -- buttons -------------------------------------------------------------------------

    async def _on_button(
        self,
        kind: str,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        handler: Callable[[int, str, str], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any] | None:
        """Run ``handler(question_id, user, language)`` for a click; the reply to show the
        clicker (in ``language``, theirs), or None for a click to ignore."""
        await ack()
        question_id = _question_id(action)
        if question_id is None:
            self._count(kind, "ignored")
            log.warning("slack %s with a bad value ignored", kind)
            return None
        user = str((body.get("user") or {}).get("id") or "")
        language = await self._turns.languages.of_user(client, user)
        try:
            reply = await handler(question_id, user, language)
        except Exception:
            log.exception("slack %s failed", kind)
            self._count(kind, "failed")
            return render_text(translator(language)(messages.SLACK_BUTTON_FAILED)).as_dict()
        self._count(kind, "handled")
        return reply

    async def on_feedback(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        value = _VOTES[str(action["action_id"])]

        async def vote(question_id: int, user: str, language: str) -> dict[str, Any]:
            if await self._service.get_question(question_id) is None:
                return render_text(translator(language)(messages.SLACK_QUESTION_GONE)).as_dict()
            await self._service.record_feedback(question_id, user, value)
            return render_feedback_ack(
                value,
                question_id=question_id,
                escalation=self._turns.escalation,
                language=language,
            ).as_dict()

        reply = await self._on_button("feedback", ack, body, action, client, vote)
        if reply is not None:
            await self._api.respond(
                respond, response_type="ephemeral", replace_original=False, **reply
            )

    async def on_escalate(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        target = self._settings.slack_escalation_channel
        group = self._settings.slack_escalation_usergroup

        async def escalate(question_id: int, user: str, language: str) -> dict[str, Any]:
            tr = translator(language)
            if target is None:
                return render_text(tr(messages.SLACK_ESCALATION_OFF)).as_dict()
            record = await self._service.get_question(question_id)
            if record is None:
                return render_text(tr(messages.SLACK_QUESTION_GONE)).as_dict()
            if not await self._service.claim(f"escalate:{question_id}", self._owner):
                return render_text(tr(messages.SLACK_ALREADY_ESCALATED)).as_dict()
            permalink = await self._permalink(client, record)
            message = render_escalation(  # for the team: in the team's (the default) language
                question=record.question,
                answer_text=record.answer_text,
                asker=record.user,
                permalink=permalink,
                usergroup=group,
                language=self._settings.default_language,
            )
            posted = await self._api.call(
                client,
                "chat.postMessage",
                channel=target,
                text=message.text,
                blocks=message.blocks,
            )
            if posted is None:
                return render_text(tr(messages.SLACK_ESCALATION_FAILED)).as_dict()
            return render_escalation_done(target, language=language).as_dict()

        reply = await self._on_button("escalate", ack, body, action, client, escalate)
        if reply is not None:
            await self._api.respond(
                respond, response_type="ephemeral", replace_original=False, **reply
            )

    async def _permalink(self, client: AsyncWebClient, record: QuestionRecord) -> str | None:
        if not record.thread_ts or not record.channel:
            return None
        found = await self._api.call(
            client, "chat.getPermalink", channel=record.channel, message_ts=record.thread_ts
        )
        return str(found["permalink"]) if found and found.get("permalink") else None

    async def on_share(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        channel = str((body.get("channel") or {}).get("id") or "")
        shared = False

        async def share(question_id: int, user: str, language: str) -> dict[str, Any]:
            nonlocal shared
            record = await self._service.get_question(question_id)
            if record is None or record.user != user or not record.answer_text:
                return render_text(translator(language)(messages.SLACK_SHARE_NOT_YOURS)).as_dict()
            answer = await self._answer_from_log(record)
            message = render_shared_answer(  # in the asker's language, as the answer is
                question=record.question,
                answer=answer,
                asker=user,
                question_id=question_id,
                language=language,
            )
            posted = await self._api.call(
                client,
                "chat.postMessage",
                channel=channel or record.channel,
                text=message.text,
                blocks=message.blocks,
            )
            if posted is None:
                return render_text(translator(language)(messages.SLACK_SHARE_FAILED)).as_dict()
            shared = True
            return {}

        reply = await self._on_button("share", ack, body, action, client, share)
        if shared:
            await self._api.respond(respond, delete_original=True)
        elif reply is not None:
            await self._api.respond(
                respond, response_type="ephemeral", replace_original=False, **reply
            )

    async def _answer_from_log(self, record: QuestionRecord) -> Answer:
        """The answer of a logged question, its citations looked up again by source id."""
        knowledge_base = self._service.knowledge_base
        citations = []
        for source in record.sources:
            document = await asyncio.to_thread(knowledge_base.get_document, source)
            title = document.title if document is not None else source
            url = document.url if document is not None else None
            citations.append(Citation(source=source, title=title, url=url, score=0.0))
        return Answer(
            text=record.answer_text,
            answered=record.outcome == "answered",
            citations=tuple(citations),
            mode=record.mode or "extractive",
        )

    # -- App Home and the assistant pane ---------------------------------------------------

    async def on_home_opened(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") != "home":
            self._count("app_home_opened", "ignored")
            return
        user = str(event.get("user") or "")
        knowledge_base = self._service.knowledge_base
        stats = await asyncio.to_thread(knowledge_base.stats)
        sources = await asyncio.to_thread(knowledge_base.list_sources, None, None, HOME_SOURCES)
        recent = await self._service.recent_questions(user, HOME_RECENT)
        language = await self._turns.languages.of_user(client, user)
        view = render_home(
            documents=stats.documents,
            chunks=stats.chunks,
            last_indexed_at=stats.last_indexed_at,
            sources=[(s.source, s.title, s.url) for s in sources],
            more_sources=max(0, stats.documents - len(sources)),
            command=self._settings.slack_command,
            recent=[(q.question, q.outcome, q.asked_at) for q in recent],
            language=language,
        )
        published = await self._api.call(client, "views.publish", user_id=user, view=view)
        self._count("app_home_opened", "handled" if published is not None else "failed")

    async def on_assistant_thread_started(
        self, event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        thread = event.get("assistant_thread") or {}
        channel, thread_ts = str(thread.get("channel_id") or ""), str(thread.get("thread_ts") or "")
        if not channel or not thread_ts:
            self._count("assistant_thread_started", "ignored")
            return
        user = str(thread.get("user_id") or "")
        language = await self._turns.languages.of_user(client, user)
        greeting = render_text(translator(language)(messages.SLACK_ASSISTANT_GREETING))
        await self._api.call(
            client,
            "chat.postMessage",
            channel=channel,
            thread_ts=thread_ts,
            text=greeting.text,
            blocks=greeting.blocks,
        )
        prompts = [{"title": p, "message": p} for p in self._settings.slack_suggested_prompts]
        result = "handled"
        if prompts:
            done = await self._api.call(
                client,
                "assistant.threads.setSuggestedPrompts",
                channel_id=channel,
                thread_ts=thread_ts,
                prompts=prompts[:4],
            )
            result = "handled" if done is not None else "failed"
        self._count("assistant_thread_started", result)

    async def on_assistant_context_changed(self) -> None:
        """The asker looked at another channel; answers do not depend on it."""
        self._count("assistant_thread_context_changed", "ignored")
