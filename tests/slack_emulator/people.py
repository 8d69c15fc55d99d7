""" "A person does something": store what they did and build the payloads Slack would send.

Nothing here delivers; a test picks Socket Mode (``await slack.deliver("events_api", body)``)
or HTTP (``post_to_app(url, body, secret)``).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.slack_emulator import events
from tests.slack_emulator.events import AppIdentity, event_callback
from tests.slack_emulator.response_urls import ResponseTarget, ResponseUrls
from tests.slack_emulator.store import Channel, Ephemeral, Workspace, interactive_elements

ALICE = "U0ALICE"
GENERAL = "C0GENERAL"


class PeopleActions:
    """Mixed into ``SlackEmulator``; needs its workspace and response URLs."""

    identity: AppIdentity
    workspace: Workspace
    _response_urls: ResponseUrls

    # messages

    def user_posts(
        self,
        channel: str,
        text: str,
        user: str = ALICE,
        thread_ts: str | None = None,
        channel_type: str | None = None,
    ) -> list[dict[str, Any]]:
        """The message event, plus an ``app_mention`` (own event_id, same ts) outside DMs when
        the text mentions the bot."""
        conversation = self._conversation(channel)
        message = self.workspace.person_message(user, text)
        if thread_ts:
            message["thread_ts"] = thread_ts
        stored = self.workspace.store(conversation.id, message)
        kind = channel_type or conversation.channel_type
        bodies = [
            self._wrap(
                events.message_event(channel=conversation.id, channel_type=kind, message=stored)
            )
        ]
        if f"<@{self.identity.bot_user_id}>" in text and kind != "im":
            bodies.append(
                self._wrap(events.app_mention_event(channel=conversation.id, message=stored))
            )
        return bodies

    def user_edits(self, channel: str, ts: str, text: str) -> dict[str, Any]:
        """``message_changed`` for a person editing their stored message."""
        conversation = self._conversation(channel)
        current = self._stored(conversation.id, ts)
        updated = copy.deepcopy(current)
        edit_ts = self.workspace.next_ts()
        updated.update(
            text=text,
            blocks=self.workspace.message_blocks(text, None),
            edited={"user": current.get("user", ""), "ts": edit_ts},
        )
        self.workspace.replace(conversation.id, ts, updated)
        event = events.message_changed_event(
            channel=conversation.id,
            channel_type=conversation.channel_type,
            ts=edit_ts,
            message=updated,
            previous_message=current,
        )
        return self._wrap(event)

    def user_deletes(self, channel: str, ts: str) -> dict[str, Any]:
        """``message_deleted`` for a stored message (removed from the store)."""
        conversation = self._conversation(channel)
        previous = copy.deepcopy(self._stored(conversation.id, ts))
        self.workspace.delete(conversation.id, ts)
        event = events.message_deleted_event(
            channel=conversation.id,
            channel_type=conversation.channel_type,
            ts=self.workspace.next_ts(),
            previous_message=previous,
        )
        return self._wrap(event)

    def user_joins(self, channel: str, user: str = ALICE) -> dict[str, Any]:
        """``channel_join``; the join message stays in the channel history as in Slack."""
        conversation = self._conversation(channel)
        event = events.channel_join_event(
            channel=conversation.id,
            channel_type=conversation.channel_type,
            user=user,
            ts=self.workspace.next_ts(),
        )
        stored = {
            k: v for k, v in event.items() if k not in ("channel", "event_ts", "channel_type")
        }
        self.workspace.store(conversation.id, stored)
        return self._wrap(event)

    def user_shares_file(
        self, channel: str, name: str, mimetype: str, text: str = "", user: str = ALICE
    ) -> dict[str, Any]:
        """``file_share``: a message carrying ``files:[{id, name, mimetype, ...}]``."""
        conversation = self._conversation(channel)
        message = self.workspace.person_message(user, text)
        message["subtype"] = "file_share"
        message["files"] = [
            {
                "id": self.workspace.next_id("F0"),
                "name": name,
                "title": name,
                "mimetype": mimetype,
                "user": user,
                "url_private": f"https://files.emulator.slack.test/{name}",
            }
        ]
        stored = self.workspace.store(conversation.id, message)
        kind = conversation.channel_type
        return self._wrap(
            events.message_event(channel=conversation.id, channel_type=kind, message=stored)
        )

    def echo_event(self, channel: str, ts: str) -> dict[str, Any]:
        """The message event Slack sends for any stored message, the app's own posts included."""
        conversation = self._conversation(channel)
        stored = copy.deepcopy(self._stored(conversation.id, ts))
        kind = conversation.channel_type
        return self._wrap(
            events.message_event(channel=conversation.id, channel_type=kind, message=stored)
        )

    # commands and buttons

    def slash_command(
        self, text: str, user: str = ALICE, channel: str = GENERAL, command: str = "/ledger"
    ) -> dict[str, str]:
        """The slash command's form fields; its response_url is served by the emulator."""
        conversation = self._conversation(channel)
        return events.slash_command_payload(
            self.identity,
            command=command,
            text=text,
            user_id=user,
            user_name=self.workspace.user_name(user),
            channel_id=conversation.id,
            channel_name=conversation.name,
            response_url=self._response_urls.issue(ResponseTarget(conversation.id, user)),
            trigger_id=self._trigger_id(),
        )

    def click(
        self,
        message: dict[str, Any] | Ephemeral,
        action_id: str,
        value: str | None = None,
        user: str = ALICE,
        *,
        block_id: str | None = None,
    ) -> dict[str, Any]:
        """``block_actions`` for clicking the element ``action_id`` of a stored message or an
        ephemeral; with ``block_id`` the element need not exist in the blocks."""
        if isinstance(message, Ephemeral):
            channel_id, ts, blocks = message.channel, message.message_ts, message.blocks
            shown: dict[str, Any] | None = None
        else:
            ts = message["ts"]
            located = self.workspace.locate(ts)
            if located is None:
                raise LookupError(f"no stored message with ts {ts}")
            channel_id, shown = located, copy.deepcopy(self._stored(located, ts))
            blocks = shown.get("blocks", [])
        found = _find_element(blocks, action_id)
        if found is None and block_id is None:
            raise LookupError(
                f"no element {action_id!r} in the message; it has {_action_ids(blocks)}"
            )
        if found is None:
            found = (block_id or "", {"type": "button", "action_id": action_id})
        conversation = self._conversation(channel_id)
        target = ResponseTarget(conversation.id, user, ts, is_ephemeral=shown is None)
        action = events.button_action(
            found[1], block_id=block_id or found[0], action_ts=self.workspace.next_ts(), value=value
        )
        return events.block_actions_payload(
            self.identity,
            user_id=user,
            user_name=self.workspace.user_name(user),
            channel_id=conversation.id,
            channel_name=conversation.name,
            message_ts=ts,
            message=shown,
            response_url=self._response_urls.issue(target),
            trigger_id=self._trigger_id(),
            actions=[action],
        )

    # Home tab and assistant threads

    def open_home(self, user: str = ALICE) -> dict[str, Any]:
        """``app_home_opened`` (tab ``home``) in the person's DM with the app."""
        event = events.app_home_opened_event(
            user=user,
            channel=self.workspace.dm_channel(user).id,
            event_ts=self.workspace.next_ts(),
            view=copy.deepcopy(self.workspace.home_views.get(user)),
        )
        return self._wrap(event)

    def start_assistant_thread(
        self, user: str = ALICE, context_channel: str | None = None
    ) -> dict[str, Any]:
        """Open the assistant container: a DM thread whose root ("New chat") the app owns."""
        channel = self.workspace.dm_channel(user)
        ts = self.workspace.next_ts()
        root: dict[str, Any] = {
            "user": self.identity.bot_user_id,
            "type": "message",
            "subtype": "assistant_app_thread",
            "ts": ts,
            "text": "New chat",
            "team": self.identity.team_id,
            "assistant_app_thread": {"title": "", "title_blocks": [], "artifacts": []},
        }
        self.workspace.store(channel.id, root)
        return self._assistant_event("assistant_thread_started", user, ts, context_channel)

    def change_assistant_context(
        self, thread_ts: str, context_channel: str, user: str = ALICE
    ) -> dict[str, Any]:
        """``assistant_thread_context_changed``: the person moved to another channel."""
        return self._assistant_event(
            "assistant_thread_context_changed", user, thread_ts, context_channel
        )

    def user_posts_in_assistant_thread(
        self, thread_ts: str, text: str, user: str = ALICE
    ) -> dict[str, Any]:
        """A DM reply in an assistant thread (what Bolt's ``Assistant`` calls a user message)."""
        channel = self.workspace.dm_channel(user)
        message = self.workspace.person_message(user, text)
        message["thread_ts"] = thread_ts
        stored = self.workspace.store(channel.id, message)
        event = events.message_event(channel=channel.id, channel_type="im", message=stored)
        event["assistant_thread"] = {"action_token": self.workspace.next_id("at.")}
        return self._wrap(event)

    # helpers

    def _assistant_event(
        self, kind: str, user: str, thread_ts: str, context_channel: str | None
    ) -> dict[str, Any]:
        event = events.assistant_thread_event(
            kind,
            identity=self.identity,
            user=user,
            channel=self.workspace.dm_channel(user).id,
            thread_ts=thread_ts,
            context_channel=context_channel,
            event_ts=self.workspace.next_ts(),
        )
        return self._wrap(event)

    def _wrap(self, event: dict[str, Any]) -> dict[str, Any]:
        return event_callback(self.identity, event)

    def _conversation(self, channel: str) -> Channel:
        conversation = self.workspace.channel(channel)
        if conversation is None:
            raise LookupError(f"unknown channel {channel!r}; ids starting C, G or D auto-create")
        return conversation

    def _stored(self, channel: str, ts: str) -> dict[str, Any]:
        message = self.workspace.get(channel, ts)
        if message is None:
            raise LookupError(f"no message {ts} in {channel}")
        return message

    def _trigger_id(self) -> str:
        return f"{self.workspace.next_id()}.{self.identity.team_id}.emulator"


def _find_element(
    blocks: list[dict[str, Any]], action_id: str
) -> tuple[str, dict[str, Any]] | None:
    return next(
        (
            (block_id, e)
            for block_id, e in interactive_elements(blocks)
            if e.get("action_id") == action_id
        ),
        None,
    )


def _action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [str(e.get("action_id")) for _, e in interactive_elements(blocks)]
