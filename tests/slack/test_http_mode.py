"""The Slack adapter in HTTP mode: signed requests from the emulator to ``/slack/events``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.slack.conftest import ALICE, GENERAL, SIGNING_SECRET, RunningBot, StartBot
from tests.slack.test_robustness import REVERSALS_LINK, mention, wait_until
from tests.slack.test_surfaces import answer_in_thread, section_text
from tests.slack_emulator import SlackEmulator, encode_request, post_to_app

INVALID = '{"error":"invalid request"}'


async def test_signed_event_gets_200_within_half_a_second(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    _, app_mention = mention(slack)
    status, _, seconds = await post_to_app(bot.events_url, app_mention, SIGNING_SECRET)
    assert status == 200
    assert seconds < 0.5


async def test_signed_event_is_answered_in_a_thread(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    bodies = mention(slack)
    for body in bodies:
        await post_to_app(bot.events_url, body, SIGNING_SECRET)
    answer = await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    assert REVERSALS_LINK in section_text(answer)


async def test_channel_chatter_gets_200_and_is_counted_as_ignored(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    [chatter] = slack.user_posts(GENERAL, "lunch anyone?")
    status, text, _ = await post_to_app(bot.events_url, chatter, SIGNING_SECRET)
    assert (status, text) == (200, "")
    assert bot.counted("slack_events_total", kind="message", result="ignored") == 1
    assert slack.calls_to("chat.postMessage") == []


async def test_url_verification_challenge_is_answered(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    body = {
        "token": "legacy",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY",
        "type": "url_verification",
    }
    status, text, _ = await post_to_app(bot.events_url, body, SIGNING_SECRET)
    assert (status, json.loads(text)) == (200, {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY"})


async def test_bad_signature_is_refused_with_401(slack: SlackEmulator, start_bot: StartBot) -> None:
    bot = await start_bot(mode="http")
    _, app_mention = mention(slack)
    status, text, _ = await post_to_app(
        bot.events_url, app_mention, SIGNING_SECRET, bad_signature=True
    )
    assert (status, text) == (401, INVALID)


async def test_bad_signature_posts_nothing(slack: SlackEmulator, start_bot: StartBot) -> None:
    bot = await start_bot(mode="http")
    for body in mention(slack):
        await post_to_app(bot.events_url, body, SIGNING_SECRET, bad_signature=True)
    assert bot.counted("slack_events_total", kind="http", result="rejected") == 2
    assert slack.calls_to("chat.postMessage") == []


async def test_stale_timestamp_is_refused_with_401(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    _, app_mention = mention(slack)
    six_minutes_ago = int(time.time()) - 360
    status, text, _ = await post_to_app(
        bot.events_url, app_mention, SIGNING_SECRET, timestamp=six_minutes_ago
    )
    assert (status, text) == (401, INVALID)


async def test_request_without_signature_headers_is_refused_with_401(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    _, app_mention = mention(slack)
    data, content_type = encode_request(app_mention, "event")
    async with httpx.AsyncClient() as client:
        response = await client.post(
            bot.events_url, content=data, headers={"Content-Type": content_type}
        )
    assert (response.status_code, response.text) == (401, INVALID)


async def post_with_headers(
    slack: SlackEmulator, bot: RunningBot, timestamp: str | bytes, signature: str | bytes
) -> httpx.Response:
    """A mention posted to the bot with these signature headers (bytes are sent as they are)."""
    _, app_mention = mention(slack)
    data, content_type = encode_request(app_mention, "event")
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    async with httpx.AsyncClient() as client:
        return await client.post(bot.events_url, content=data, headers=headers)


async def test_request_with_a_timestamp_that_is_not_a_number_is_refused_with_401(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    response = await post_with_headers(slack, await start_bot(mode="http"), "yesterday", "v0=00")
    assert (response.status_code, response.text) == (401, INVALID)


async def test_retried_delivery_of_an_answered_event_gets_200_and_no_second_answer(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    _, app_mention = mention(slack)
    await post_to_app(bot.events_url, app_mention, SIGNING_SECRET)
    await answer_in_thread(slack, GENERAL, app_mention["event"]["ts"])
    status, _, _ = await post_to_app(
        bot.events_url, app_mention, SIGNING_SECRET, retry_num=1, retry_reason="http_timeout"
    )
    await wait_until(
        lambda: bot.counted("slack_events_total", kind="app_mention", result="duplicate") == 1
    )
    assert status == 200
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_unknown_event_type_gets_200(slack: SlackEmulator, start_bot: StartBot) -> None:
    bot = await start_bot(mode="http")
    [posted] = slack.user_posts(GENERAL, "hello")
    body = dict(posted)
    body["event"] = {
        "type": "reaction_added",
        "user": ALICE,
        "reaction": "thumbsup",
        "item": {"type": "message", "channel": GENERAL, "ts": posted["event"]["ts"]},
        "event_ts": posted["event"]["ts"],
    }
    status, _, _ = await post_to_app(bot.events_url, body, SIGNING_SECRET)
    assert status == 200


async def test_slash_command_gets_200_with_the_thinking_text(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    command = slack.slash_command("how do I reverse a posted journal entry?")
    status, text, _ = await post_to_app(bot.events_url, command, SIGNING_SECRET, kind="command")
    assert (status, text) == (200, "⏳ Looking through the knowledge base…")


async def test_slash_command_answer_arrives_at_the_response_url(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    command = slack.slash_command("how do I reverse a posted journal entry?")
    await post_to_app(bot.events_url, command, SIGNING_SECRET, kind="command")
    response = await slack.wait_for_response(lambda body: "blocks" in body)
    assert response.body["response_type"] == "ephemeral"
    assert REVERSALS_LINK in section_text(response.body)


async def test_feedback_click_gets_200_and_the_vote_is_stored(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    _, app_mention = mention(slack)
    await post_to_app(bot.events_url, app_mention, SIGNING_SECRET)
    answer = await answer_in_thread(slack, GENERAL, app_mention["event"]["ts"])
    click = slack.click(answer, "feedback_up")
    status, _, _ = await post_to_app(bot.events_url, click, SIGNING_SECRET, kind="interactive")
    await slack.wait_for_response()  # the private thanks: the vote is in
    assert bot.service.state is not None
    votes = await bot.service.state.feedback_since(datetime.now(UTC) - timedelta(minutes=5))
    assert status == 200
    assert [(vote.user, vote.value) for vote in votes] == [(ALICE, "up")]


async def test_ready_shows_the_slack_adapter_ok_in_http_mode(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    async with httpx.AsyncClient() as client:
        response = await client.get(bot.base_url + "/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["adapter_slack"] == {"state": "ok"}


async def test_request_with_a_superscript_digit_timestamp_is_refused_with_401(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    # "²": str.isdigit() says yes, int() no
    response = await post_with_headers(slack, await start_bot(mode="http"), b"\xb2", "v0=00")
    assert (response.status_code, response.text) == (401, INVALID)


async def test_request_with_a_signature_that_is_not_ascii_is_refused_with_401(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    timestamp = str(int(time.time()))
    response = await post_with_headers(slack, await start_bot(mode="http"), timestamp, b"v0=\xe9")
    assert (response.status_code, response.text) == (401, INVALID)


async def test_request_body_over_four_megabytes_is_refused_with_413(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(mode="http")
    headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"}
    async with httpx.AsyncClient() as client:
        response = await client.post(bot.events_url, content=b"x" * 5_000_000, headers=headers)
    assert (response.status_code, response.text) == (413, '{"error":"request too large"}')
    assert bot.counted("slack_events_total", kind="http", result="rejected") == 1
