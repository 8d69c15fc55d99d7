"""Every Slack surface end to end: the real Bolt app over Socket Mode against the emulator."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.slack.conftest import ALICE, GENERAL, StartBot
from tests.slack_emulator import SlackEmulator

REVERSAL = "How do I reverse a posted journal entry?"


def section_text(message: dict[str, Any]) -> str:
    """All the text a message shows, blocks and fallback."""
    parts = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
        for element in block.get("elements") or []:
            if isinstance(element, dict) and isinstance(element.get("text"), (str, dict)):
                inner = element["text"]
                parts.append(inner if isinstance(inner, str) else str(inner.get("text", "")))
    return "\n".join(parts)


def first_link(message: dict[str, Any]) -> str:
    match = re.search(r"<(https?://[^|>]+)\|", section_text(message))
    assert match is not None, section_text(message)
    return match.group(1)


def action_ids(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


async def deliver_all(slack: SlackEmulator, bodies: list[dict[str, Any]]) -> list[str]:
    return [await slack.deliver("events_api", body) for body in bodies]


async def answer_in_thread(slack: SlackEmulator, channel: str, root: str) -> dict[str, Any]:
    """The bot's final answer in a thread: its placeholder once updated."""
    await slack.wait_for_call(
        "chat.update", lambda call: call.params.get("channel") == channel, timeout=10
    )
    replies = [m for m in slack.thread(channel, root) if m.get("bot_id")]
    assert len(replies) == 1, replies
    return replies[0]


# -- mentions ------------------------------------------------------------------------------


async def test_mention_is_answered_in_a_thread_under_the_question(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    await deliver_all(slack, bodies)
    root = bodies[0]["event"]["ts"]
    answer = await answer_in_thread(slack, GENERAL, root)
    assert answer["thread_ts"] == root
    assert "api/reversals" in section_text(answer) or "Reversing a posted" in section_text(answer)


async def test_mention_shows_thinking_before_the_answer_replaces_it(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    await deliver_all(slack, bodies)
    answer = await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    versions = slack.message_versions(GENERAL, answer["ts"])
    assert "Looking through the knowledge base" in section_text(versions[0])
    assert "Looking through the knowledge base" not in section_text(versions[-1])


async def test_mention_and_its_message_event_produce_one_answer(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    assert len(bodies) == 2  # message and app_mention, as Slack sends them
    await deliver_all(slack, bodies)
    await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    await asyncio.sleep(0.2)
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert bot.counted("questions_total", surface="slack", outcome="answered") == 1


async def test_answer_carries_feedback_buttons_and_source_links(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    await deliver_all(slack, bodies)
    answer = await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    assert action_ids(answer) == ["feedback_up", "feedback_down"]
    assert "<https://wiki.example.com/bor-write/api/reversals|" in section_text(answer)


async def test_unanswerable_mention_says_so_and_suggests_documents(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> what is the vacation policy?")
    await deliver_all(slack, bodies)
    answer = await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    assert "couldn't find an answer" in section_text(answer)


# -- direct messages and follow-ups --------------------------------------------------------


async def test_direct_message_is_answered(slack: SlackEmulator, start_bot: StartBot) -> None:
    await start_bot()
    dm = slack.dm_channel(ALICE)
    bodies = slack.user_posts(dm, "what does exceeds_credits mean?")
    await deliver_all(slack, bodies)
    answer = await answer_in_thread(slack, dm, bodies[0]["event"]["ts"])
    assert "exceeds_credits" in section_text(answer)


async def test_follow_up_in_the_thread_is_answered_without_a_mention(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> How do I post a journal entry?")
    await deliver_all(slack, bodies)
    root = bodies[0]["event"]["ts"]
    await answer_in_thread(slack, GENERAL, root)
    follow_up = slack.user_posts(GENERAL, "and how do I undo it?", thread_ts=root)
    await deliver_all(slack, follow_up)
    await slack.wait_for_call("chat.update", lambda c: len(slack.calls_to("chat.update")) == 2)
    replies = [m for m in slack.thread(GENERAL, root) if m.get("bot_id")]
    assert len(replies) == 2
    # Alone, "undo" is about feature flags; after the first turn it is about journal entries.
    assert first_link(replies[1]) == "https://wiki.example.com/bor-write/api/reversals"
    assert bot.counted("questions_total", surface="slack", outcome="answered") == 2


async def test_thread_reply_where_the_bot_has_not_answered_is_ignored(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    [root] = slack.user_posts(GENERAL, "lunch anyone?")
    await slack.deliver("events_api", root)
    reply = slack.user_posts(GENERAL, "How do I reverse it?", thread_ts=root["event"]["ts"])
    await deliver_all(slack, reply)
    await asyncio.sleep(0.3)
    assert slack.calls_to("chat.postMessage") == []
    assert bot.counted("slack_events_total", kind="message", result="ignored") == 2


# -- what the bot ignores ------------------------------------------------------------------


async def test_edits_deletions_joins_and_own_messages_are_ignored(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    [posted] = slack.user_posts(GENERAL, "hello")
    ts = posted["event"]["ts"]
    for body in (
        slack.user_edits(GENERAL, ts, "hello again"),
        slack.user_deletes(GENERAL, ts),
        slack.user_joins(GENERAL),
    ):
        await slack.deliver("events_api", body)
    await asyncio.sleep(0.3)
    assert slack.calls_to("chat.postMessage") == []


async def test_channel_outside_the_allowlist_gets_no_answer(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot(slack_allowed_channels="C0OTHER")
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    await deliver_all(slack, bodies)
    await asyncio.sleep(0.3)
    assert slack.calls_to("chat.postMessage") == []


async def test_file_upload_gets_a_reply_that_files_are_not_read(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    dm = slack.dm_channel(ALICE)
    body = slack.user_shares_file(dm, "ledger.csv", "text/csv")
    await slack.deliver("events_api", body)
    answer = await answer_in_thread(slack, dm, body["event"]["ts"])
    assert "can't read attached files" in section_text(answer)
