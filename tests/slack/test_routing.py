"""Which Slack messages are questions for the bot."""

from __future__ import annotations

from typing import Any

from ledger_bot.slack.routing import (
    Audience,
    route_chatter,
    route_mention,
    route_message,
    thread_root,
)

BOT = Audience(bot_user_id="U0BOT", bot_id="B0BOT")


def message(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "user": "U0ALICE",
        "text": "how do I reverse an entry?",
        "ts": "1700000000.000200",
        "channel": "C0GENERAL",
        "channel_type": "channel",
    }
    event.update(fields)
    return event


def test_a_direct_message_is_a_question() -> None:
    assert route_message(message(channel="D0ALICE", channel_type="im"), BOT).kind == "question"


def test_channel_chatter_is_ignored() -> None:
    assert route_message(message(), BOT).kind == "ignore"


def test_a_mention_in_a_channel_is_left_to_the_app_mention_event() -> None:
    route = route_message(message(text="<@U0BOT> how do I reverse an entry?"), BOT)
    assert (route.kind, route.reason) == ("ignore", "mention (answered from app_mention)")


def test_a_reply_in_a_thread_may_be_a_follow_up() -> None:
    route = route_message(message(thread_ts="1700000000.000100"), BOT)
    assert route.kind == "thread_reply"


def test_a_thread_parent_is_not_a_reply() -> None:
    ts = "1700000000.000100"
    assert route_message(message(ts=ts, thread_ts=ts), BOT).kind == "ignore"


def test_the_bots_own_messages_are_ignored() -> None:
    route = route_message(message(channel_type="im", user="U0BOT", bot_id="B0BOT"), BOT)
    assert (route.kind, route.reason) == ("ignore", "own message")


def test_other_bots_are_ignored_by_default() -> None:
    event = message(channel_type="im", subtype="bot_message", bot_id="B0OTHER", user=None)
    assert route_message(event, BOT).reason == "from a bot"


def test_other_bots_are_answered_when_allowed() -> None:
    audience = Audience(bot_user_id="U0BOT", bot_id="B0BOT", answer_bots=True)
    event = message(channel_type="im", subtype="bot_message", bot_id="B0OTHER", user=None)
    assert route_message(event, audience).kind == "question"


def test_edits_deletions_joins_and_topic_changes_are_ignored() -> None:
    for subtype in ("message_changed", "message_deleted", "channel_join", "channel_topic"):
        assert route_message(message(channel_type="im", subtype=subtype), BOT).kind == "ignore"


def test_a_shared_file_is_a_question_marked_as_having_files() -> None:
    event = message(channel_type="im", subtype="file_share", files=[{"id": "F1"}])
    route = route_message(event, BOT)
    assert (route.kind, route.has_files) == ("question", True)


def test_a_channel_outside_the_allowlist_is_ignored() -> None:
    audience = Audience(bot_user_id="U0BOT", bot_id="B0BOT", allowed_channels={"C0OTHER"})
    route = route_mention(message(type="app_mention", text="<@U0BOT> hi"), audience)
    assert (route.kind, route.reason) == ("ignore", "channel not allowed")


def test_direct_messages_are_answered_whatever_the_allowlist() -> None:
    audience = Audience(bot_user_id="U0BOT", bot_id="B0BOT", allowed_channels={"C0OTHER"})
    event = message(channel="D0ALICE", channel_type="im")
    assert route_message(event, audience).kind == "question"


def test_the_answer_goes_in_the_thread_or_starts_one_under_the_question() -> None:
    assert thread_root(message()) == "1700000000.000200"
    assert thread_root(message(thread_ts="1700000000.000100")) == "1700000000.000100"


# -- chatter: ignored on sight, before Bolt's dispatch ----------------------------------------


def test_the_message_twin_of_a_mention_is_chatter() -> None:
    route = route_chatter(message(text="<@U0BOT> how do I reverse an entry?"), BOT)
    assert route is not None
    assert (route.kind, route.reason) == ("ignore", "mention (answered from app_mention)")


def test_a_channel_message_not_addressed_to_the_bot_is_chatter() -> None:
    route = route_chatter(message(), BOT)
    assert route is not None
    assert route.reason == "not addressed to the bot"


def test_a_message_in_a_channel_outside_the_allowlist_is_chatter() -> None:
    audience = Audience(bot_user_id="U0BOT", bot_id="B0BOT", allowed_channels={"C0OTHER"})
    route = route_chatter(message(text="<@U0BOT> hi"), audience)
    assert route is not None
    assert route.reason == "channel not allowed"


def test_questions_thread_replies_and_direct_messages_are_not_chatter() -> None:
    assert route_chatter(message(channel="D0ALICE", channel_type="im"), BOT) is None
    assert route_chatter(message(thread_ts="1700000000.000100"), BOT) is None
    assert route_chatter(message(type="app_mention", text="<@U0BOT> hi"), BOT) is None


def test_the_bots_own_messages_edits_and_malformed_events_are_left_to_bolt() -> None:
    assert route_chatter(message(user="U0BOT", bot_id="B0BOT"), BOT) is None
    assert route_chatter(message(subtype="message_changed"), BOT) is None
    assert route_chatter(message(channel=None), BOT) is None
