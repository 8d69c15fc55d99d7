"""The Slack emulator answers the real slack_sdk and slack_bolt clients the way Slack does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.say.async_say import AsyncSay
from slack_bolt.context.set_status.async_set_status import AsyncSetStatus
from slack_bolt.context.set_suggested_prompts.async_set_suggested_prompts import (
    AsyncSetSuggestedPrompts,
)
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.slack_emulator import SlackEmulator, post_to_app, sign_request

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(redelivery_after=0.3) as emulator:
        yield emulator


@pytest.fixture
def client(slack: SlackEmulator) -> AsyncWebClient:
    return slack.web_client()


class SocketApp:
    """A real aiohttp ``SocketModeClient`` that records what it receives and acks on request."""

    def __init__(self, slack: SlackEmulator, *, auto_ack: bool = True) -> None:
        self.slack = slack
        self.auto_ack = auto_ack
        self.requests: asyncio.Queue[SocketModeRequest] = asyncio.Queue()
        self.hellos: list[dict[str, Any]] = []
        self.client: SocketModeClient | None = None

    async def __aenter__(self) -> Self:
        self.client = SocketModeClient(
            app_token=self.slack.app_token, web_client=self.slack.web_client(), ping_interval=0.2
        )
        self.client.message_listeners.append(self._on_message)
        self.client.socket_mode_request_listeners.append(self._on_request)
        opened_before = self.slack.connection_count_total
        try:
            await self.client.connect()
            await self.slack.wait_for_connection_total(opened_before + 1)
        except BaseException:
            await self.client.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.client is not None
        await self.client.close()

    async def next_request(self, timeout: float = 5.0) -> SocketModeRequest:
        return await asyncio.wait_for(self.requests.get(), timeout)

    async def _on_message(
        self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        if message.get("type") == "hello":
            self.hellos.append(message)

    async def _on_request(
        self, client: AsyncBaseSocketModeClient, request: SocketModeRequest
    ) -> None:
        await self.requests.put(request)
        if self.auto_ack:
            await client.send_socket_mode_response(
                SocketModeResponse(envelope_id=request.envelope_id)
            )


def button_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Was this helpful?"}},
        {
            "type": "actions",
            "block_id": "feedback",
            "elements": [
                {
                    "type": "button",
                    "action_id": "helpful",
                    "value": "yes",
                    "text": {"type": "plain_text", "text": "Yes"},
                }
            ],
        },
    ]


# tokens and methods


async def test_auth_test_names_the_bot(client: AsyncWebClient) -> None:
    reply = await client.auth_test()
    assert (reply["team_id"], reply["user_id"], reply["bot_id"]) == ("T0LEDGER", "U0BOT", "B0BOT")


async def test_missing_token_is_not_authed(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as raised:
        await AsyncWebClient(base_url=slack.api_url).auth_test()
    assert raised.value.response["error"] == "not_authed"


async def test_wrong_token_is_invalid_auth(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as raised:
        await slack.web_client("xoxb-wrong").auth_test()
    assert raised.value.response["error"] == "invalid_auth"


async def test_app_token_cannot_post_messages(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as raised:
        await slack.web_client(slack.app_token).chat_postMessage(channel="C1", text="hi")
    assert raised.value.response["error"] == "not_allowed_token_type"


async def test_unknown_method_is_reported(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.frobnicate", json={"channel": "C1"})
    assert raised.value.response["error"] == "unknown_method"


async def test_connections_open_gives_a_socket_url(slack: SlackEmulator) -> None:
    reply = await slack.web_client(slack.app_token).apps_connections_open(app_token=slack.app_token)
    assert reply["url"].startswith(
        f"ws://127.0.0.1:{slack.base_url.rsplit(':', 1)[1]}/link/?ticket="
    )


# posting and validation


async def test_posted_messages_get_increasing_timestamps(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="C1", text="one")
    second = await client.chat_postMessage(channel="C1", text="two")
    assert (first["ts"], second["ts"]) == ("1700000000.000100", "1700000000.000200")
    assert [m["text"] for m in slack.messages("C1")] == ["one", "two"]


async def test_posted_message_carries_bot_identity(client: AsyncWebClient) -> None:
    reply = await client.chat_postMessage(channel="C1", text="hello")
    message = reply["message"]
    assert (message["user"], message["bot_id"], message["blocks"][0]["type"]) == (
        "U0BOT",
        "B0BOT",
        "rich_text",
    )


async def test_post_without_channel_is_channel_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.postMessage", json={"text": "hi"})
    assert raised.value.response["error"] == "channel_not_found"


async def test_post_without_text_or_blocks_is_no_text(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.postMessage", json={"channel": "C1"})
    assert raised.value.response["error"] == "no_text"


async def test_more_than_50_blocks_is_invalid_blocks(client: AsyncWebClient) -> None:
    blocks = [{"type": "divider"} for _ in range(51)]
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="many", blocks=blocks)
    assert raised.value.response["error"] == "invalid_blocks"


async def test_section_text_over_3000_chars_is_invalid_blocks(client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="long", blocks=blocks)
    assert raised.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


async def test_block_id_over_255_chars_is_invalid_blocks(client: AsyncWebClient) -> None:
    blocks = [{"type": "divider", "block_id": "b" * 256}]
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="id", blocks=blocks)
    assert raised.value.response["error"] == "invalid_blocks"


async def test_text_over_40000_chars_is_truncated_with_a_warning(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    reply = await client.chat_postMessage(channel="C1", text="y" * 40_005)
    assert (reply["warning"], len(slack.messages("C1")[0]["text"])) == ("message_truncated", 40_000)


async def test_posting_to_an_archived_channel_is_is_archived(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    slack.archive("C0OLD")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C0OLD", text="hi")
    assert raised.value.response["error"] == "is_archived"


async def test_blocks_in_a_form_body_are_decoded(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    form = {"channel": "C1", "text": "form", "blocks": json.dumps(button_blocks())}
    await client.api_call("chat.postMessage", data=form)
    assert slack.messages("C1")[0]["blocks"][1]["block_id"] == "feedback"


async def test_update_keeps_every_version(slack: SlackEmulator, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="Thinking…")
    reply = await client.chat_update(channel="C1", ts=posted["ts"], text="The answer")
    assert reply["text"] == "The answer"
    versions = slack.message_versions("C1", posted["ts"])
    assert [v["text"] for v in versions] == ["Thinking…", "The answer"]


async def test_update_of_unknown_message_is_message_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="C1", ts="1.000001", text="x")
    assert raised.value.response["error"] == "message_not_found"


async def test_update_of_a_persons_message_is_cant_update_message(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    [body] = slack.user_posts("C1", "my question")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="C1", ts=body["event"]["ts"], text="edited by bot")
    assert raised.value.response["error"] == "cant_update_message"


async def test_delete_removes_the_message(slack: SlackEmulator, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="oops")
    await client.chat_delete(channel="C1", ts=posted["ts"])
    assert slack.messages("C1") == []


async def test_ephemeral_is_kept_out_of_the_history(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    reply = await client.chat_postEphemeral(channel="C1", user="U0ALICE", text="only you")
    [ephemeral] = slack.ephemerals
    assert (ephemeral.user, ephemeral.text, ephemeral.message_ts) == (
        "U0ALICE",
        "only you",
        reply["message_ts"],
    )
    assert slack.messages("C1") == []


async def test_permalink_points_at_the_message(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="link me")
    reply = await client.chat_getPermalink(channel="C1", message_ts=posted["ts"])
    assert reply["permalink"] == "https://emulator.slack.test/archives/C1/p1700000000000100"


async def test_repeated_reaction_is_already_reacted(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="react")
    await client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    with pytest.raises(SlackApiError) as raised:
        await client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    assert raised.value.response["error"] == "already_reacted"


# reading conversations


async def test_replies_page_by_limit_and_cursor(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    [root] = slack.user_posts("C1", "question")
    parent = root["event"]["ts"]
    for n in range(4):
        await client.chat_postMessage(channel="C1", thread_ts=parent, text=f"reply {n}")
    pages: list[list[str]] = []
    cursor = None
    while True:
        reply = await client.conversations_replies(channel="C1", ts=parent, limit=2, cursor=cursor)
        pages.append([m["text"] for m in reply["messages"]])
        cursor = reply["response_metadata"]["next_cursor"]
        if not reply["has_more"]:
            break
    assert pages == [["question", "reply 0"], ["reply 1", "reply 2"], ["reply 3"]]


async def test_replies_of_an_unknown_thread_is_thread_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.conversations_replies(channel="C1", ts="1700000000.999900")
    assert raised.value.response["error"] == "thread_not_found"


async def test_replies_show_metadata_only_when_asked(client: AsyncWebClient) -> None:
    metadata = {"event_type": "answer", "event_payload": {"id": "q1"}}
    posted = await client.chat_postMessage(channel="C1", text="answer", metadata=metadata)
    plain = await client.conversations_replies(channel="C1", ts=posted["ts"])
    full = await client.conversations_replies(
        channel="C1", ts=posted["ts"], include_all_metadata=True
    )
    assert ("metadata" in plain["messages"][0], full["messages"][0]["metadata"]) == (
        False,
        metadata,
    )


async def test_history_is_newest_first_without_replies(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="C1", text="first")
    await client.chat_postMessage(channel="C1", text="in thread", thread_ts=first["ts"])
    await client.chat_postMessage(channel="C1", text="second")
    reply = await client.conversations_history(channel="C1")
    assert [m["text"] for m in reply["messages"]] == ["second", "first"]


async def test_users_info_describes_a_seeded_user(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    slack.add_user("U0BOB", "bob")
    reply = await client.users_info(user="U0BOB")
    assert (reply["user"]["name"], reply["user"]["profile"]["display_name"]) == ("bob", "bob")


async def test_users_info_of_a_stranger_is_user_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.users_info(user="U0NOBODY")
    assert raised.value.response["error"] == "user_not_found"


# surfaces


async def test_published_home_view_is_stored_per_user(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
    }
    reply = await client.views_publish(user_id="U0ALICE", view=view)
    assert slack.home_views["U0ALICE"]["id"] == reply["view"]["id"]


async def test_home_view_over_100_blocks_is_invalid_blocks(client: AsyncWebClient) -> None:
    view = {"type": "home", "blocks": [{"type": "divider"} for _ in range(101)]}
    with pytest.raises(SlackApiError) as raised:
        await client.views_publish(user_id="U0ALICE", view=view)
    assert raised.value.response["error"] == "invalid_blocks"


async def test_assistant_thread_calls_are_recorded(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    await client.assistant_threads_setStatus(
        channel_id="D0ALICE", thread_ts="1.1", status="is thinking…"
    )
    await client.assistant_threads_setSuggestedPrompts(
        channel_id="D0ALICE", thread_ts="1.1", prompts=[{"title": "Hi", "message": "Hello"}]
    )
    await client.assistant_threads_setTitle(
        channel_id="D0ALICE", thread_ts="1.1", title="Onboarding"
    )
    assert (
        slack.statuses[0].status,
        slack.suggested_prompts[0].prompts[0]["message"],
        slack.thread_titles[0].title,
    ) == ("is thinking…", "Hello", "Onboarding")


async def test_streamed_message_grows_until_stopped(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    [root] = slack.user_posts("D0ALICE", "question")
    parent = root["event"]["ts"]
    started = await client.chat_startStream(
        channel="D0ALICE", thread_ts=parent, markdown_text="Part"
    )
    await client.chat_appendStream(channel="D0ALICE", ts=started["ts"], markdown_text=" one")
    await client.chat_stopStream(channel="D0ALICE", ts=started["ts"], markdown_text=".")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_appendStream(channel="D0ALICE", ts=started["ts"], markdown_text="late")
    assert raised.value.response["error"] == "message_not_in_streaming_state"
    assert slack.thread("D0ALICE", parent)[1]["text"] == "Part one."


# injected faults


async def test_rate_limited_call_is_retried_after_retry_after(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    await client.chat_postMessage(channel="C1", text="eventually")
    assert time.monotonic() - started >= 1.0
    assert [c.http_status for c in slack.calls_to("chat.postMessage")] == [429, 200]


async def test_server_errors_are_retried_by_the_server_error_handler(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    client.retry_handlers.append(
        AsyncServerErrorRetryHandler(
            max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
        )
    )
    slack.fail_next("chat.update", status=500, times=2)
    posted = await client.chat_postMessage(channel="C1", text="a")
    await client.chat_update(channel="C1", ts=posted["ts"], text="b")
    assert [c.http_status for c in slack.calls_to("chat.update")] == [500, 500, 200]


async def test_injected_error_is_an_ok_false_reply(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="hi")
    assert (raised.value.response.status_code, raised.value.response["error"]) == (
        200,
        "not_in_channel",
    )


async def test_malformed_body_raises(slack: SlackEmulator, client: AsyncWebClient) -> None:
    slack.malformed_next("auth.test")
    with pytest.raises(SlackApiError, match="non-JSON"):
        await client.auth_test()


async def test_delayed_reply_arrives_late(slack: SlackEmulator, client: AsyncWebClient) -> None:
    slack.delay_next("auth.test", 0.3)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.3


async def test_wait_for_call_wakes_when_the_call_arrives(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    waiting = asyncio.create_task(slack.wait_for_call("reactions.add"))
    posted = await client.chat_postMessage(channel="C1", text="x")
    await client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    call = await waiting
    assert call.params["name"] == "eyes"


async def test_wait_for_call_timeout_lists_the_calls_seen(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    await client.auth_test()
    with pytest.raises(TimeoutError, match=r"auth\.test\(200\)"):
        await slack.wait_for_call("chat.update", timeout=0.05)


# response URLs


async def test_respond_to_a_slash_command_is_an_ephemeral(slack: SlackEmulator) -> None:
    command = slack.slash_command("how do I deploy?")
    reply = await AsyncWebhookClient(command["response_url"]).send(text="Here is how")
    post = await slack.wait_for_response()
    assert (reply.status_code, reply.body, post.body["text"]) == (200, "ok", "Here is how")
    assert [(e.user, e.text) for e in slack.ephemerals] == [("U0ALICE", "Here is how")]


async def test_in_channel_response_is_posted_to_the_channel(slack: SlackEmulator) -> None:
    command = slack.slash_command("share", channel="C0GENERAL")
    await AsyncWebhookClient(command["response_url"]).send(
        text="For all", response_type="in_channel"
    )
    assert [m["text"] for m in slack.messages("C0GENERAL")] == ["For all"]


async def test_replace_original_after_a_click_updates_the_message(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="Helpful?", blocks=button_blocks())
    payload = slack.click(posted["message"], "helpful")
    await AsyncWebhookClient(payload["response_url"]).send(text="Thanks!", replace_original=True)
    assert slack.messages("C1")[0]["text"] == "Thanks!"


# Socket Mode


async def test_client_is_greeted_with_hello(slack: SlackEmulator) -> None:
    async with SocketApp(slack) as app:
        await asyncio.sleep(0.05)
        assert (app.hellos[0]["connection_info"]["app_id"], slack.open_connections) == ("A0APP", 1)


async def test_delivered_envelope_is_acked(slack: SlackEmulator) -> None:
    async with SocketApp(slack) as app:
        [body] = slack.user_posts("C1", "hello")
        envelope_id = await slack.deliver("events_api", body)
        request = await app.next_request()
        assert await slack.wait_for_ack(envelope_id) is None
        assert (request.payload["event"]["text"], slack.ack_latency(envelope_id) < 1.0) == (
            "hello",
            True,
        )


async def test_ack_payload_is_recorded(slack: SlackEmulator) -> None:
    async with SocketApp(slack, auto_ack=False) as app:
        envelope_id = await slack.deliver("slash_commands", slack.slash_command("hi"))
        request = await app.next_request()
        assert app.client is not None
        await app.client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "Working on it"})
        )
        assert await slack.wait_for_ack(envelope_id) == {"text": "Working on it"}
        assert request.accepts_response_payload is True


async def test_unacked_envelope_is_redelivered_with_retry_attempt_1(slack: SlackEmulator) -> None:
    async with SocketApp(slack, auto_ack=False) as app:
        envelope_id = await slack.deliver("events_api", slack.user_posts("C1", "anyone?")[0])
        first, second = await app.next_request(), await app.next_request()
        assert (first.retry_attempt, second.retry_attempt, second.retry_reason) == (0, 1, "timeout")
        assert second.envelope_id == envelope_id


async def test_redelivery_stops_after_three_retries() -> None:
    async with SlackEmulator(redelivery_after=0.05) as slack, SocketApp(slack, auto_ack=False):
        envelope_id = await slack.deliver("events_api", slack.user_posts("C1", "hello?")[0])
        await asyncio.sleep(0.4)
        assert [d.retry_attempt for d in slack.deliveries if d.envelope_id == envelope_id] == [
            0,
            1,
            2,
            3,
        ]


async def test_envelopes_alternate_between_two_connections(slack: SlackEmulator) -> None:
    async with SocketApp(slack) as one, SocketApp(slack) as two:
        for n in range(4):
            await slack.deliver("events_api", slack.user_posts("C1", f"m{n}")[0])
        for app in (one, two):
            for _ in range(2):
                await app.next_request()
        connections = [d.connection_id for d in slack.deliveries]
        assert connections[0::2] == [connections[0]] * 2
        assert connections[1::2] == [connections[1]] * 2
        assert connections[0] != connections[1]


async def test_client_reconnects_after_refresh_requested(slack: SlackEmulator) -> None:
    async with SocketApp(slack) as app:
        await slack.send_disconnect("refresh_requested")
        await slack.wait_for_connection_total(2, timeout=3.0)
        envelope_id = await slack.deliver("events_api", slack.user_posts("C1", "still there?")[0])
        await app.next_request()
        await slack.wait_for_ack(envelope_id)
        await slack.wait_for_connections(1)
        assert slack.open_connections == 1


async def test_client_reconnects_after_dropped_connections(slack: SlackEmulator) -> None:
    async with SocketApp(slack) as app:
        await slack.drop_connections()
        assert slack.open_connections == 0
        await slack.wait_for_connection_total(2, timeout=3.0)
        envelope_id = await slack.deliver("events_api", slack.user_posts("C1", "back?")[0])
        await app.next_request()
        assert await slack.wait_for_ack(envelope_id) is None


async def test_socket_without_an_issued_ticket_is_refused(slack: SlackEmulator) -> None:
    url = slack.base_url.replace("http", "ws") + "/link/?ticket=forged"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
            await session.ws_connect(url)
    assert raised.value.status == 403


async def test_bolt_app_answers_a_mention_in_its_thread(slack: SlackEmulator) -> None:
    app = AsyncApp(client=slack.web_client())

    @app.event("app_mention")
    async def answer(event: dict[str, Any], say: Any) -> None:
        await say(text="On it", thread_ts=event["ts"])

    @app.event("message")
    async def ignore(event: dict[str, Any]) -> None:
        pass

    handler = AsyncSocketModeHandler(app, slack.app_token, ping_interval=0.2)
    await handler.connect_async()
    try:
        for body in slack.user_posts("C1", "<@U0BOT> where is the runbook?"):
            await slack.deliver("events_api", body)
        call = await slack.wait_for_call("chat.postMessage")
    finally:
        await handler.close_async()
    question_ts = slack.messages("C1")[0]["ts"]
    assert (call.params["text"], call.params["thread_ts"]) == ("On it", question_ts)


async def test_bolt_assistant_greets_then_answers_in_the_assistant_thread(
    slack: SlackEmulator,
) -> None:
    app = AsyncApp(client=slack.web_client())
    assistant = AsyncAssistant()

    @assistant.thread_started
    async def greet(say: AsyncSay, set_suggested_prompts: AsyncSetSuggestedPrompts) -> None:
        await say("How can I help?")
        await set_suggested_prompts(prompts=["What is our deploy process?"])

    @assistant.user_message
    async def answer(say: AsyncSay, set_status: AsyncSetStatus) -> None:
        await set_status("is thinking…")
        await say("Here is the answer")

    app.use(assistant)
    handler = AsyncSocketModeHandler(app, slack.app_token, ping_interval=0.2)
    await handler.connect_async()
    try:
        started = slack.start_assistant_thread("U0ALICE", context_channel="C0GENERAL")
        thread_ts = started["event"]["assistant_thread"]["thread_ts"]
        await slack.deliver("events_api", started)
        await slack.wait_for_call("assistant.threads.setSuggestedPrompts")
        await slack.deliver(
            "events_api", slack.user_posts_in_assistant_thread(thread_ts, "How do I deploy?")
        )
        await slack.wait_for_call("chat.postMessage", count=2)
    finally:
        await handler.close_async()
    texts = [m["text"] for m in slack.thread("D0ALICE", thread_ts)]
    assert texts == ["New chat", "How can I help?", "How do I deploy?", "Here is the answer"]
    assert [s.status for s in slack.statuses] == ["is thinking…"]


async def test_token_may_arrive_as_a_form_param(slack: SlackEmulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{slack.api_url}auth.test", data={"token": slack.bot_token}) as response,
    ):
        body = await response.json()
    assert (response.status, body["ok"], slack.calls[0].token) == (200, True, slack.bot_token)


# people and events


async def test_mention_in_a_channel_is_a_message_and_an_app_mention(slack: SlackEmulator) -> None:
    message, mention = slack.user_posts("C1", "<@U0BOT> hi")
    assert (message["event"]["type"], mention["event"]["type"]) == ("message", "app_mention")
    assert message["event"]["ts"] == mention["event"]["ts"]
    assert message["event_id"] != mention["event_id"]


async def test_mention_in_a_dm_is_only_a_message(slack: SlackEmulator) -> None:
    bodies = slack.user_posts("D0ALICE", "<@U0BOT> hi")
    assert [b["event"]["channel_type"] for b in bodies] == ["im"]


async def test_posted_question_is_visible_to_conversations_replies(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    [body] = slack.user_posts("G0PRIVATE", "secret question")
    reply = await client.conversations_replies(channel="G0PRIVATE", ts=body["event"]["ts"])
    assert (body["event"]["channel_type"], reply["messages"][0]["text"]) == (
        "group",
        "secret question",
    )


async def test_thread_reply_names_its_parent(slack: SlackEmulator) -> None:
    [root] = slack.user_posts("C1", "question")
    [reply] = slack.user_posts("C1", "more detail", user="U0ALICE", thread_ts=root["event"]["ts"])
    assert (reply["event"]["thread_ts"], reply["event"]["parent_user_id"]) == (
        root["event"]["ts"],
        "U0ALICE",
    )


async def test_event_body_is_wrapped_like_the_events_api(slack: SlackEmulator) -> None:
    [body] = slack.user_posts("C1", "hi")
    assert (body["type"], body["api_app_id"], body["authorizations"][0]["user_id"]) == (
        "event_callback",
        "A0APP",
        "U0BOT",
    )


async def test_click_builds_block_actions_from_the_stored_buttons(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="Helpful?", blocks=button_blocks())
    payload = slack.click(posted["message"], "helpful")
    [action] = payload["actions"]
    assert (action["block_id"], action["value"], payload["container"]["is_ephemeral"]) == (
        "feedback",
        "yes",
        False,
    )


async def test_click_on_an_ephemeral_omits_the_message(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    await client.chat_postEphemeral(channel="C1", user="U0ALICE", text="?", blocks=button_blocks())
    payload = slack.click(slack.ephemerals[0], "helpful")
    assert ("message" in payload, payload["container"]["is_ephemeral"]) == (False, True)


async def test_user_edit_is_a_message_changed_event(slack: SlackEmulator) -> None:
    [body] = slack.user_posts("C1", "teh question")
    edited = slack.user_edits("C1", body["event"]["ts"], "the question")
    event = edited["event"]
    assert (event["subtype"], event["previous_message"]["text"], event["message"]["text"]) == (
        "message_changed",
        "teh question",
        "the question",
    )


async def test_assistant_thread_starts_in_the_dm_under_a_bot_root(slack: SlackEmulator) -> None:
    body = slack.start_assistant_thread("U0ALICE", context_channel="C0GENERAL")
    thread = body["event"]["assistant_thread"]
    [root] = slack.thread(thread["channel_id"], thread["thread_ts"])
    assert (thread["channel_id"], thread["context"]["channel_id"], root["user"]) == (
        "D0ALICE",
        "C0GENERAL",
        "U0BOT",
    )


async def test_home_opened_event_carries_the_published_view(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    view = {"type": "home", "blocks": [{"type": "divider"}]}
    published = await client.views_publish(user_id="U0ALICE", view=view)
    body = slack.open_home("U0ALICE")
    assert (body["event"]["tab"], body["event"]["view"]["id"]) == ("home", published["view"]["id"])


# HTTP mode


def test_signed_request_passes_slack_sdk_verification() -> None:
    body = b'{"type":"event_callback"}'
    headers = sign_request(SECRET, body, timestamp=int(time.time()))
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)


async def capture_server() -> tuple[web.AppRunner, str, list[tuple[bytes, dict[str, str]]]]:
    seen: list[tuple[bytes, dict[str, str]]] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append((await request.read(), dict(request.headers)))
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/slack/events", seen


async def test_post_to_app_sends_a_signed_form_command_with_retry_headers(
    slack: SlackEmulator,
) -> None:
    runner, url, seen = await capture_server()
    try:
        command = slack.slash_command("hi")
        status, _, _ = await post_to_app(
            url, command, SECRET, kind="command", retry_num=1, retry_reason="http_timeout"
        )
    finally:
        await runner.cleanup()
    [(body, headers)] = seen
    assert status == 200
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert (headers["X-Slack-Retry-Num"], b"command=%2Fledger" in body) == ("1", True)


async def test_bad_signature_fails_verification(slack: SlackEmulator) -> None:
    runner, url, seen = await capture_server()
    try:
        await post_to_app(url, slack.user_posts("C1", "hi")[0], SECRET, bad_signature=True)
    finally:
        await runner.cleanup()
    [(body, headers)] = seen
    assert not SignatureVerifier(SECRET).is_valid_request(body, headers)
