"""The Slack adapter when Slack misbehaves: Web API faults, redeliveries, disconnects, bad input.

The real Bolt app over Socket Mode against the emulator, which injects the faults.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from ledger_bot.documents import Answer, SearchHit
from tests.slack.conftest import ALICE, GENERAL, StartBot
from tests.slack.test_surfaces import REVERSAL, answer_in_thread, deliver_all, section_text
from tests.slack_emulator import SlackEmulator

BOB = "U0BOB"
RANDOM = "C0RANDOM"
THINKING = "Looking through the knowledge base"
APOLOGY = "Sorry, something went wrong while I was answering."
REVERSALS_LINK = "<https://wiki.example.com/bor-write/api/reversals|"


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Until ``condition()`` holds (checked every 10 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"still not true after {timeout:g} s")
        await asyncio.sleep(0.01)


def mention(slack: SlackEmulator, text: str = REVERSAL, **kwargs: Any) -> list[dict[str, Any]]:
    """The message and app_mention bodies of ``@bot text`` (in #general unless told)."""
    channel = kwargs.pop("channel", GENERAL)
    return slack.user_posts(channel, f"<@{slack.bot_user_id}> {text}", **kwargs)


def bot_replies(slack: SlackEmulator, channel: str, root: str) -> list[dict[str, Any]]:
    return [m for m in slack.thread(channel, root) if m.get("bot_id")]


async def answer_posted_anew(slack: SlackEmulator, channel: str, root: str) -> dict[str, Any]:
    """The answer posted as a message of its own (no placeholder was updated)."""
    await slack.wait_for_call(
        "chat.postMessage",
        lambda call: call.ok and call.params.get("thread_ts") == root,
    )
    replies = bot_replies(slack, channel, root)
    assert len(replies) == 1, replies
    return replies[0]


class BrokenAnswerer:
    """An answerer whose backend is down."""

    mode = "broken"

    async def answer(
        self, question: str, passages: Sequence[SearchHit], history: Sequence[str] = ()
    ) -> Answer:
        raise RuntimeError("the answering backend is down")


@pytest.fixture
def no_retry_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk adds up to a second of random jitter to each retry; none makes retries take
    exactly Retry-After (429) or 0.5 s then 1 s (500)."""
    monkeypatch.setattr(random, "random", lambda: 0.0)


# -- Web API faults ------------------------------------------------------------------------


async def test_rate_limited_update_is_retried_after_retry_after(
    slack: SlackEmulator, start_bot: StartBot, no_retry_jitter: None
) -> None:
    await start_bot()
    slack.fail_next("chat.update", 429, retry_after=1)
    await deliver_all(slack, mention(slack))
    await slack.wait_for_call("chat.update", lambda call: call.ok, timeout=5)
    assert [call.http_status for call in slack.calls_to("chat.update")] == [429, 200]


async def test_rate_limited_update_still_shows_the_answer(
    slack: SlackEmulator, start_bot: StartBot, no_retry_jitter: None
) -> None:
    await start_bot()
    slack.fail_next("chat.update", 429, retry_after=1)
    bodies = mention(slack)
    await deliver_all(slack, bodies)
    await slack.wait_for_call("chat.update", lambda call: call.ok, timeout=5)
    [answer] = bot_replies(slack, GENERAL, bodies[0]["event"]["ts"])
    assert REVERSALS_LINK in section_text(answer)


async def test_server_error_on_the_placeholder_is_retried_and_it_still_posts(
    slack: SlackEmulator, start_bot: StartBot, no_retry_jitter: None
) -> None:
    await start_bot()
    slack.fail_next("chat.postMessage", 500)
    bodies = mention(slack)
    await deliver_all(slack, bodies)
    answer = await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    assert [call.http_status for call in slack.calls_to("chat.postMessage")] == [500, 200]
    assert THINKING in section_text(slack.message_versions(GENERAL, answer["ts"])[0])


async def test_answer_is_posted_anew_when_the_placeholder_cannot_be_updated(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    bodies = mention(slack)
    root = bodies[0]["event"]["ts"]
    # The placeholder goes (someone deleted it) while the bot is answering.
    slack.fail_next("chat.update", error="message_not_found", times=5)
    await deliver_all(slack, bodies)
    await slack.wait_for_call(
        "chat.postMessage", lambda call: call.ok and call.params.get("blocks") is not None, count=2
    )
    answer = slack.calls_to("chat.postMessage")[1]
    assert answer.params["thread_ts"] == root
    assert REVERSALS_LINK in section_text(answer.params)


async def test_failed_update_is_counted_by_method_and_error(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    bodies = mention(slack)
    slack.fail_next("chat.update", error="message_not_found", times=5)
    await deliver_all(slack, bodies)
    await slack.wait_for_call("chat.postMessage", lambda call: call.ok, count=2)
    assert (
        bot.counted("slack_api_errors_total", method="chat.update", error="message_not_found") == 1
    )


async def test_update_failing_with_server_errors_is_tried_three_times(
    slack: SlackEmulator, start_bot: StartBot, no_retry_jitter: None
) -> None:
    await start_bot()
    slack.fail_next("chat.update", 500, times=5)
    await deliver_all(slack, mention(slack))
    await slack.wait_for_call("chat.postMessage", lambda call: call.ok, count=2)
    assert [call.http_status for call in slack.calls_to("chat.update")] == [500, 500, 500]


async def test_update_failing_after_its_retries_is_counted_once(
    slack: SlackEmulator, start_bot: StartBot, no_retry_jitter: None
) -> None:
    bot = await start_bot()
    slack.fail_next("chat.update", 500, times=5)
    await deliver_all(slack, mention(slack))
    await slack.wait_for_call("chat.postMessage", lambda call: call.ok, count=2)
    assert bot.counted("slack_api_errors_total", method="chat.update", error="internal_error") == 1


async def test_reply_that_is_not_json_does_not_stop_the_answer(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    slack.malformed_next("chat.postMessage")
    bodies = mention(slack)
    await deliver_all(slack, bodies)
    answer = await answer_posted_anew(slack, GENERAL, bodies[0]["event"]["ts"])
    assert REVERSALS_LINK in section_text(answer)


async def test_update_reply_that_is_not_json_falls_back_to_posting_the_answer(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    slack.malformed_next("chat.update")
    bodies = mention(slack)
    await deliver_all(slack, bodies)
    await slack.wait_for_call("chat.postMessage", lambda call: call.ok, count=2)
    answer = slack.calls_to("chat.postMessage")[1]
    assert answer.params["thread_ts"] == bodies[0]["event"]["ts"]
    assert REVERSALS_LINK in section_text(answer.params)


async def test_slow_reply_to_one_asker_does_not_hold_up_another(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    slack.delay_next("chat.postMessage", 1.5)
    await deliver_all(slack, mention(slack))
    await slack.wait_for_call("chat.postMessage")  # the delayed placeholder, in #general
    other = mention(slack, "what does exceeds_credits mean?", user=BOB, channel=RANDOM)
    await deliver_all(slack, other)
    await slack.wait_for_call("chat.update", lambda call: call.params["channel"] == RANDOM)
    answered_first = [call.params["channel"] for call in slack.calls_to("chat.update")]
    await slack.wait_for_call("chat.update", count=2)  # the slow one lands too
    assert answered_first == [RANDOM]


# -- the same event more than once ---------------------------------------------------------


async def test_mention_delivered_twice_is_answered_once(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    message, app_mention = mention(slack)
    await deliver_all(slack, [message, app_mention, app_mention])
    await answer_in_thread(slack, GENERAL, message["event"]["ts"])
    await wait_until(
        lambda: bot.counted("slack_events_total", kind="app_mention", result="duplicate") == 1
    )
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_direct_message_delivered_twice_is_answered_once(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    [body] = slack.user_posts(slack.dm_channel(ALICE), "what does exceeds_credits mean?")
    await deliver_all(slack, [body, body])
    await wait_until(
        lambda: bot.counted("slack_events_total", kind="message", result="duplicate") == 1
    )
    await slack.wait_for_call("chat.update")
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_every_envelope_of_a_mention_is_acknowledged_within_a_second(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    envelope_ids = await deliver_all(slack, mention(slack))
    for envelope_id in envelope_ids:
        await slack.wait_for_ack(envelope_id, timeout=1.0)
    assert sorted(slack.acks) == sorted(envelope_ids)


async def test_mention_is_acknowledged_within_half_a_second(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    _, envelope_id = await deliver_all(slack, mention(slack))
    await slack.wait_for_ack(envelope_id, timeout=1.0)
    assert slack.ack_latency(envelope_id) < 0.5


# -- disconnects ---------------------------------------------------------------------------


async def cut(slack: SlackEmulator, how: str) -> None:
    if how == "drop":
        await slack.drop_connections()
    else:
        await slack.send_disconnect(how)


@pytest.mark.parametrize("how", ["warning", "refresh_requested", "drop"])
async def test_bot_reconnects_within_five_seconds_after_the_connection_goes(
    slack: SlackEmulator, start_bot: StartBot, how: str
) -> None:
    await start_bot()
    await cut(slack, how)
    await slack.wait_for_connection_total(2, timeout=5)
    await wait_until(lambda: slack.open_connections == 1)
    assert slack.open_connections == 1


@pytest.mark.parametrize("how", ["warning", "refresh_requested", "drop"])
async def test_question_after_a_reconnect_is_answered(
    slack: SlackEmulator, start_bot: StartBot, how: str
) -> None:
    await start_bot()
    await cut(slack, how)
    await slack.wait_for_connection_total(2, timeout=5)
    await wait_until(lambda: slack.open_connections == 1)
    bodies = mention(slack)
    await deliver_all(slack, bodies)
    answer = await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    assert REVERSALS_LINK in section_text(answer)


@pytest.mark.parametrize("how", ["warning", "refresh_requested", "drop"])
async def test_question_acknowledged_before_a_disconnect_is_still_answered(
    slack: SlackEmulator, start_bot: StartBot, how: str
) -> None:
    await start_bot()
    slack.delay_next("chat.postMessage", 0.3)  # still answering while the socket goes
    bodies = mention(slack)
    _, envelope_id = await deliver_all(slack, bodies)
    await slack.wait_for_ack(envelope_id, timeout=1.0)
    await cut(slack, how)
    answer = await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    assert REVERSALS_LINK in section_text(answer)


# -- when answering fails ------------------------------------------------------------------


async def test_answerer_failure_replaces_the_placeholder_with_an_apology(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    bot.service.answerer = BrokenAnswerer()
    bodies = mention(slack)
    await deliver_all(slack, bodies)
    answer = await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    shown = section_text(slack.message_versions(GENERAL, answer["ts"])[-1])
    assert APOLOGY in shown
    assert THINKING not in shown


async def test_answerer_failure_is_counted_as_an_error(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    bot.service.answerer = BrokenAnswerer()
    bodies = mention(slack)
    await deliver_all(slack, bodies)
    await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    assert bot.counted("questions_total", surface="slack", outcome="error") == 1


# -- rate limits ---------------------------------------------------------------------------


async def test_question_over_the_user_limit_gets_an_ephemeral_notice(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot(user_burst=1, user_rate_per_minute=0.001)
    first = mention(slack)
    await deliver_all(slack, first)
    await answer_in_thread(slack, GENERAL, first[0]["event"]["ts"])
    second = mention(slack, "how do I post a journal entry?")
    await deliver_all(slack, second)
    await slack.wait_for_call("chat.postEphemeral")
    [notice] = slack.ephemerals
    assert (notice.user, notice.channel, notice.thread_ts) == (
        ALICE,
        GENERAL,
        second[0]["event"]["ts"],
    )
    assert notice.text == (
        "You're asking faster than I can keep up with. Please try again in 17 hours."
    )


async def test_question_over_the_user_limit_leaves_no_public_message(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot(user_burst=1, user_rate_per_minute=0.001)
    first = mention(slack)
    await deliver_all(slack, first)
    await answer_in_thread(slack, GENERAL, first[0]["event"]["ts"])
    second = mention(slack, "how do I post a journal entry?")
    await deliver_all(slack, second)
    await slack.wait_for_call("chat.postEphemeral")
    placeholder = slack.calls_to("chat.postMessage")[1].response or {}
    assert [call.params["ts"] for call in slack.calls_to("chat.delete")] == [placeholder["ts"]]
    assert bot_replies(slack, GENERAL, second[0]["event"]["ts"]) == []


# -- bad input from Slack ------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["ts", "channel"])
async def test_mention_missing_a_field_does_not_stop_the_bot(
    slack: SlackEmulator, start_bot: StartBot, missing: str
) -> None:
    bot = await start_bot()
    _, broken = mention(slack, "how do I post a journal entry?")
    del broken["event"][missing]
    await slack.wait_for_ack(await slack.deliver("events_api", broken), timeout=1.0)
    bodies = mention(slack)
    await deliver_all(slack, bodies)
    await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    assert not bot.task.done()
    assert len(slack.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("missing", ["ts", "channel"])
async def test_mention_missing_a_field_is_counted_as_ignored(
    slack: SlackEmulator, start_bot: StartBot, missing: str
) -> None:
    bot = await start_bot()
    _, broken = mention(slack)
    del broken["event"][missing]
    await slack.deliver("events_api", broken)
    await wait_until(
        lambda: bot.counted("slack_events_total", kind="app_mention", result="ignored") == 1,
        timeout=1.0,
    )


async def test_unknown_event_type_is_acknowledged_and_nothing_is_posted(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    [posted] = slack.user_posts(GENERAL, "hello")
    body = dict(posted)
    body["event"] = {
        "type": "reaction_added",
        "user": ALICE,
        "reaction": "thumbsup",
        "item": {"type": "message", "channel": GENERAL, "ts": posted["event"]["ts"]},
        "event_ts": posted["event"]["ts"],
    }
    envelope_id = await slack.deliver("events_api", body)
    await slack.wait_for_ack(envelope_id, timeout=1.0)
    assert slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize("value", ["not-a-number", "99999999999999999999", "-1", ""])
async def test_feedback_click_with_a_bad_value_is_acknowledged_and_ignored(
    slack: SlackEmulator, start_bot: StartBot, value: str
) -> None:
    bot = await start_bot()
    [posted] = slack.user_posts(GENERAL, "hello")
    message = slack.thread(GENERAL, posted["event"]["ts"])[0]
    click = slack.click(message, "feedback_up", value=value, block_id="feedback")
    await slack.wait_for_ack(await slack.deliver("interactive", click), timeout=1.0)
    await wait_until(
        lambda: bot.counted("slack_events_total", kind="feedback", result="ignored") == 1
    )
    assert slack.responses == []


async def test_slash_command_without_a_question_acks_with_the_help(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    envelope_id = await slack.deliver("slash_commands", slack.slash_command("  "))
    assert await slack.wait_for_ack(envelope_id, timeout=1.0) == {
        "text": "Ask me a question after the command, for example: /ledger how do I reverse a "
        "posted journal entry? Only you will see the answer."
    }


async def test_message_of_a_hundred_thousand_characters_is_answered_with_a_note(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    text = (REVERSAL + " " + "Please explain each step in detail. " * 3000)[:100_000]
    assert len(text) == 100_000
    dm = slack.dm_channel(ALICE)
    bodies = slack.user_posts(dm, text)
    await deliver_all(slack, bodies)
    answer = await answer_in_thread(slack, dm, bodies[0]["event"]["ts"])
    assert "Your message was long, so I read only its first 4,000 characters." in section_text(
        answer
    )
