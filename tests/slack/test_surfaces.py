"""Every Slack surface end to end: the real Bolt app over Socket Mode against the emulator."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
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


async def test_the_message_twin_of_a_mention_is_acknowledged_and_counted_as_ignored(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    message, _ = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    envelope = await slack.deliver("events_api", message)
    assert await slack.wait_for_ack(envelope) is None
    assert bot.counted("slack_events_total", kind="message", result="ignored") == 1
    assert slack.calls_to("chat.postMessage") == []


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


# -- the slash command ---------------------------------------------------------------------


async def test_slash_command_answers_only_the_asker_with_a_post_button(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    envelope = await slack.deliver("slash_commands", slack.slash_command(REVERSAL))
    ack = await slack.wait_for_ack(envelope)
    assert ack is not None and "Looking through the knowledge base" in ack["text"]
    response = await slack.wait_for_response()
    assert response.body["response_type"] == "ephemeral"
    assert "share_answer" in action_ids(response.body)
    assert slack.calls_to("chat.postMessage") == []


async def test_post_to_channel_shares_the_private_answer(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    await slack.deliver("slash_commands", slack.slash_command(REVERSAL))
    await slack.wait_for_response()
    [private] = [e for e in slack.ephemerals if "share_answer" in action_ids({"blocks": e.blocks})]
    click = slack.click(private, "share_answer")
    await slack.deliver("interactive", click)
    posted = await slack.wait_for_call("chat.postMessage")
    assert posted.params["channel"] == GENERAL
    shared = slack.messages(GENERAL)[-1]
    assert f"<@{ALICE}> asked" in section_text(shared)
    assert "<https://wiki.example.com/bor-write/api/reversals|" in section_text(shared)


async def test_someone_else_cannot_post_an_askers_private_answer(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    slack.add_user("U0BOB", "bob")
    await slack.deliver("slash_commands", slack.slash_command(REVERSAL))
    await slack.wait_for_response()
    [private] = [e for e in slack.ephemerals if "share_answer" in action_ids({"blocks": e.blocks})]
    await slack.deliver("interactive", slack.click(private, "share_answer", user="U0BOB"))
    reply = await slack.wait_for_response(lambda body: "Only the person who asked" in str(body))
    assert reply.body["response_type"] == "ephemeral"
    assert slack.calls_to("chat.postMessage") == []


# -- feedback and hand-off to a human ------------------------------------------------------


async def mention_and_answer(slack: SlackEmulator, text: str) -> dict[str, Any]:
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {text}")
    await deliver_all(slack, bodies)
    return await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])


async def test_thumbs_up_is_stored_with_the_question(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    answer = await mention_and_answer(slack, REVERSAL)
    await slack.deliver("interactive", slack.click(answer, "feedback_up"))
    await slack.wait_for_response(lambda body: "Thanks" in str(body))
    assert bot.service.state is not None
    [vote] = await bot.service.state.feedback_since(datetime.now(UTC) - timedelta(hours=1))
    [question] = await bot.service.recent_questions(ALICE)
    assert (vote.question_id, vote.user, vote.value) == (question.id, ALICE, "up")
    assert bot.counted("feedback_total", value="up") == 1


async def test_thumbs_down_offers_a_human_who_gets_the_question_in_the_team_channel(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot(slack_escalation_channel="C0ONCALL", slack_escalation_usergroup="S0ONCALL")
    answer = await mention_and_answer(slack, REVERSAL)
    await slack.deliver("interactive", slack.click(answer, "feedback_down"))
    offer = await slack.wait_for_response(lambda body: "escalate" in str(body))
    [ephemeral] = [e for e in slack.ephemerals if "escalate" in action_ids({"blocks": e.blocks})]
    assert offer.body["response_type"] == "ephemeral"
    await slack.deliver("interactive", slack.click(ephemeral, "escalate"))
    posted = await slack.wait_for_call(
        "chat.postMessage", lambda call: call.params.get("channel") == "C0ONCALL"
    )
    shown = section_text(posted.params)
    assert "<!subteam^S0ONCALL>" in shown
    assert f"<@{ALICE}>" in shown
    assert "https://emulator.slack.test/archives/C0GENERAL/p" in shown


async def test_unanswered_question_offers_the_hand_off_directly(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot(slack_escalation_channel="C0ONCALL")
    answer = await mention_and_answer(slack, "what is the vacation policy?")
    assert "escalate" in action_ids(answer)


async def test_a_question_is_handed_off_once_however_often_it_is_clicked(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot(slack_escalation_channel="C0ONCALL")
    answer = await mention_and_answer(slack, "what is the vacation policy?")
    for _ in range(2):
        await slack.deliver("interactive", slack.click(answer, "escalate"))
    await slack.wait_for_response(lambda body: "already been passed" in str(body))
    await slack.wait_for_response(lambda body: "asked the team" in str(body))
    posts = slack.calls_to("chat.postMessage")
    handed_off = [call for call in posts if call.params["channel"] == "C0ONCALL"]
    assert len(handed_off) == 1


# -- App Home and the assistant pane -------------------------------------------------------


async def test_app_home_shows_what_the_bot_knows_and_the_askers_recent_questions(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    await mention_and_answer(slack, REVERSAL)
    await slack.deliver("events_api", slack.open_home(ALICE))
    await slack.wait_for_call("views.publish")
    shown = "\n".join(section_text(block) for block in slack.home_views[ALICE]["blocks"])
    assert "24 documents" in shown
    assert "Reversing a posted journal entry" in shown
    assert REVERSAL in shown
    assert "/ledger" in shown


async def test_assistant_thread_gets_a_greeting_and_the_suggested_prompts(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot(slack_suggested_prompts="Where is the runbook?|How do I deploy?")
    await slack.deliver("events_api", slack.start_assistant_thread(ALICE))
    await slack.wait_for_call("assistant.threads.setSuggestedPrompts")
    [prompts] = slack.suggested_prompts
    assert [p["message"] for p in prompts.prompts] == ["Where is the runbook?", "How do I deploy?"]


async def test_assistant_shows_a_status_then_answers_in_the_thread(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    started = slack.start_assistant_thread(ALICE)
    thread_ts = started["event"]["assistant_thread"]["thread_ts"]
    await slack.deliver("events_api", started)
    await slack.wait_for_call("assistant.threads.setSuggestedPrompts")
    await slack.deliver("events_api", slack.user_posts_in_assistant_thread(thread_ts, REVERSAL))
    answer_call = await slack.wait_for_call(
        "chat.postMessage", lambda call: "feedback" in str(call.params.get("blocks"))
    )
    [status] = slack.statuses
    assert status.status == "is looking through the knowledge base…"
    assert status_before(slack, "assistant.threads.setStatus", answer_call.at)
    assert answer_call.params["thread_ts"] == thread_ts
    assert slack.calls_to("chat.update") == []


def status_before(slack: SlackEmulator, method: str, at: float) -> bool:
    return any(call.at < at for call in slack.calls_to(method))
