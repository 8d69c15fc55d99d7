"""The fake LLM servers answer the real openai and anthropic SDKs the way the real APIs do."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from anthropic import AsyncAnthropic
from anthropic.types import MessageParam
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.fake_llm import (
    DEFAULT_TEXT,
    Disconnect,
    FakeAnthropic,
    FakeOpenAI,
    Fault,
    MalformedStream,
    RecordedRequest,
    Reply,
    Stall,
    split_into_chunks,
)

GPT = "gpt-5-mini"
CLAUDE = "claude-haiku-4-5"
QUESTION_TEXT = "How do I rotate the signing key?"
GPT_QUESTION: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION_TEXT}]
CLAUDE_QUESTION: list[MessageParam] = [{"role": "user", "content": QUESTION_TEXT}]
ANSWER = "Rotate it with `ledger keys rotate` and redeploy [1]."
SHORT_READ = httpx2.Timeout(5.0, read=0.2)
TLS = ssl.create_default_context()
"""One TLS context for every client: the SDKs build one per client (~0.1 s) though the fake
servers speak plain HTTP."""
ENVIRONMENT = ("OPENAI_CUSTOM_HEADERS", "ANTHROPIC_CUSTOM_HEADERS")


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs add headers from the environment (proxies: tests/conftest.py)."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def gpt() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as server:
        yield server


def openai_client(server: FakeOpenAI, **options: Any) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url=server.base_url,
        http_client=openai.DefaultAsyncHttpxClient(verify=TLS),
        **{"api_key": "sk-test", "max_retries": 0, **options},
    )


def anthropic_client(server: FakeAnthropic, **options: Any) -> AsyncAnthropic:
    return AsyncAnthropic(
        base_url=server.base_url,
        http_client=anthropic.DefaultAsyncHttpxClient(verify=TLS),
        **{"api_key": "sk-ant-test", "max_retries": 0, **options},
    )


async def ask_gpt(server: FakeOpenAI, **options: Any) -> openai.types.chat.ChatCompletion:
    async with openai_client(server, **options) as client:
        return await client.chat.completions.create(model=GPT, messages=GPT_QUESTION)


async def stream_gpt(
    server: FakeOpenAI, include_usage: bool = True, **options: Any
) -> list[openai.types.chat.ChatCompletionChunk]:
    async with openai_client(server, **options) as client:
        stream = await client.chat.completions.create(
            model=GPT,
            messages=GPT_QUESTION,
            stream=True,
            stream_options={"include_usage": include_usage},
        )
        return [chunk async for chunk in stream]


async def ask_claude(server: FakeAnthropic, **options: Any) -> anthropic.types.Message:
    async with anthropic_client(server, **options) as client:
        return await client.messages.create(model=CLAUDE, max_tokens=512, messages=CLAUDE_QUESTION)


async def stream_claude(
    server: FakeAnthropic, **options: Any
) -> tuple[str, anthropic.types.Message]:
    async with (
        anthropic_client(server, **options) as client,
        client.messages.stream(model=CLAUDE, max_tokens=512, messages=CLAUDE_QUESTION) as stream,
    ):
        text = "".join([piece async for piece in stream.text_stream])
        return text, await stream.get_final_message()


async def claude_raw_events(
    server: FakeAnthropic, **options: Any
) -> list[anthropic.types.RawMessageStreamEvent]:
    async with anthropic_client(server, **options) as client:
        stream = await client.messages.create(
            model=CLAUDE, max_tokens=512, messages=CLAUDE_QUESTION, stream=True
        )
        return [event async for event in stream]


def text_of(chunks: list[openai.types.chat.ChatCompletionChunk]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


# the script and the records


def test_text_splits_into_four_word_chunks_that_join_back() -> None:
    assert split_into_chunks("one two three four five six") == ["one two three four ", "five six"]


def test_reply_refuses_chunks_that_do_not_join_to_its_text() -> None:
    with pytest.raises(ValueError, match="do not join"):
        Reply(text="Hello there", chunks=["Hello", "there"])


async def test_empty_script_answers_i_dont_know(gpt: FakeOpenAI) -> None:
    completion = await ask_gpt(gpt)
    assert completion.choices[0].message.content == DEFAULT_TEXT


async def test_responder_answers_when_the_script_is_empty(gpt: FakeOpenAI) -> None:
    gpt.responder = lambda request: Reply(
        text=f"You asked {request.json['messages'][0]['content']}"
    )
    completion = await ask_gpt(gpt)
    assert completion.choices[0].message.content == f"You asked {QUESTION_TEXT}"


async def test_scripted_replies_come_in_order(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Reply(text="first"), Reply(text="second"))
    answers = [(await ask_gpt(gpt)).choices[0].message.content for _ in range(3)]
    assert answers == ["first", "second", DEFAULT_TEXT]


async def test_requests_are_recorded_with_path_headers_and_body(gpt: FakeOpenAI) -> None:
    await ask_gpt(gpt)
    [request] = await gpt.wait_for_requests(1, timeout=1.0)
    assert (request.path, request.headers["authorization"], request.json["messages"]) == (
        "/v1/chat/completions",
        "Bearer sk-test",
        GPT_QUESTION,
    )


async def test_waiting_for_requests_that_never_come_times_out(gpt: FakeOpenAI) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 requests arrived"):
        await gpt.wait_for_requests(1, timeout=0.05)


async def test_first_token_delay_holds_back_the_first_text(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Reply(text=ANSWER, first_token_delay=0.2))
    async with openai_client(gpt) as client:
        stream = await client.chat.completions.create(model=GPT, messages=GPT_QUESTION, stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first_text_at = time.monotonic()
                break
        await stream.close()
    assert first_text_at - gpt.requests[0].at >= 0.2


async def test_closing_the_server_ends_a_stall_at_once() -> None:
    async with FakeOpenAI() as server:
        server.enqueue(Stall(seconds=30))
        with pytest.raises(openai.APITimeoutError):
            await ask_gpt(server, timeout=SHORT_READ)
        closing_at = time.monotonic()
    assert time.monotonic() - closing_at < 1.0


# OpenAI Chat Completions


async def test_openai_reply_text_usage_and_model_are_parsed(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Reply(text=ANSWER, input_tokens=120, output_tokens=15))
    completion = await ask_gpt(gpt)
    assert completion.model == GPT
    assert completion.choices[0].message.content == ANSWER
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (120, 15, 135)


async def test_openai_truncated_reply_finishes_for_length(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Reply(text=ANSWER, truncated=True))
    completion = await ask_gpt(gpt)
    assert completion.choices[0].finish_reason == "length"


async def test_openai_stream_deltas_join_to_the_text(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Reply(text=ANSWER))
    chunks = await stream_gpt(gpt)
    assert text_of(chunks) == ANSWER


async def test_openai_stream_ends_with_finish_reason_then_a_usage_chunk(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Reply(text=ANSWER, input_tokens=120, output_tokens=15))
    *_, last_text, usage = await stream_gpt(gpt)
    assert last_text.choices[0].finish_reason == "stop"
    assert (usage.choices, usage.usage and usage.usage.total_tokens) == ([], 135)


async def test_openai_stream_without_include_usage_has_no_usage(gpt: FakeOpenAI) -> None:
    chunks = await stream_gpt(gpt, include_usage=False)
    assert [chunk.usage for chunk in chunks] == [None, None, None]


async def test_openai_request_without_a_key_is_refused(gpt: FakeOpenAI) -> None:
    async with openai_client(gpt) as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.chat.completions.create(
                model=GPT, messages=GPT_QUESTION, extra_headers={"Authorization": openai.omit}
            )
    assert (caught.value.type, caught.value.code) == ("invalid_request_error", None)
    assert "You didn't provide an API key" in caught.value.message


async def test_openai_wrong_key_is_refused_with_invalid_api_key() -> None:
    async with FakeOpenAI(api_key="sk-right") as server:
        with pytest.raises(openai.AuthenticationError) as caught:
            await ask_gpt(server, api_key="sk-wrong-key")
    assert caught.value.code == "invalid_api_key"


async def test_openai_429_is_retried_after_retry_after(gpt: FakeOpenAI) -> None:
    # Without the header the SDK's first backoff is 0.375-0.5 s.
    gpt.enqueue(Fault(status=429, retry_after=0.6), Reply(text=ANSWER))
    completion = await ask_gpt(gpt, max_retries=1)
    first, second = gpt.requests
    assert completion.choices[0].message.content == ANSWER
    assert second.at - first.at >= 0.6


async def test_openai_retry_after_over_two_minutes_is_not_retried(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Fault(status=429, retry_after=121))
    with pytest.raises(openai.RateLimitError):
        await ask_gpt(gpt, max_retries=1)
    assert len(gpt.requests) == 1


async def test_openai_500_raises_internal_server_error(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Fault(status=500))
    with pytest.raises(openai.InternalServerError) as caught:
        await ask_gpt(gpt)
    assert (caught.value.status_code, caught.value.type) == (500, "server_error")


async def test_openai_stall_past_the_read_timeout_raises_api_timeout_error(
    gpt: FakeOpenAI,
) -> None:
    gpt.enqueue(Stall(seconds=5))
    with pytest.raises(openai.APITimeoutError):
        await ask_gpt(gpt, timeout=SHORT_READ)


async def test_openai_accepts_an_httpx_timeout(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Stall(seconds=5))
    with pytest.raises(openai.APITimeoutError):
        await ask_gpt(gpt, timeout=httpx.Timeout(5.0, read=0.2))


async def test_openai_stream_stall_raises_api_timeout_error(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Stall(seconds=5))
    with pytest.raises(openai.APITimeoutError):
        await stream_gpt(gpt, timeout=SHORT_READ)


async def test_openai_malformed_stream_raises_json_decode_error(gpt: FakeOpenAI) -> None:
    gpt.enqueue(MalformedStream("bad_json"))
    with pytest.raises(json.JSONDecodeError):
        await stream_gpt(gpt)


async def test_openai_cut_off_json_reply_raises_json_decode_error(gpt: FakeOpenAI) -> None:
    gpt.enqueue(MalformedStream("bad_json"))
    with pytest.raises(json.JSONDecodeError):
        await ask_gpt(gpt)


async def test_openai_stream_without_done_ends_quietly_with_no_finish_reason(
    gpt: FakeOpenAI,
) -> None:
    gpt.enqueue(MalformedStream("no_terminal_event", Reply(text=ANSWER)))
    chunks = await stream_gpt(gpt)
    assert text_of(chunks) == ANSWER
    assert [chunk.choices[0].finish_reason for chunk in chunks] == [None, None, None, None]


async def test_openai_disconnect_mid_stream_raises_api_connection_error(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Disconnect(after_chunks=1, reply=Reply(text=ANSWER)))
    with pytest.raises(openai.APIConnectionError):
        await stream_gpt(gpt)


async def test_openai_error_event_mid_stream_raises_api_error(gpt: FakeOpenAI) -> None:
    gpt.enqueue(Fault(status=500, after_chunks=1))
    with pytest.raises(openai.APIError, match="The server had an error"):
        await stream_gpt(gpt)


# Anthropic Messages


async def test_anthropic_reply_text_usage_and_model_are_parsed(claude: FakeAnthropic) -> None:
    claude.enqueue(Reply(text=ANSWER, input_tokens=120, output_tokens=15))
    message = await ask_claude(claude)
    assert (message.model, message.content[0].type, message.stop_reason) == (
        CLAUDE,
        "text",
        "end_turn",
    )
    assert message.content[0].text == ANSWER  # type: ignore[union-attr]
    assert (message.usage.input_tokens, message.usage.output_tokens) == (120, 15)


async def test_anthropic_truncated_reply_stops_for_max_tokens(claude: FakeAnthropic) -> None:
    claude.enqueue(Reply(text=ANSWER, truncated=True))
    message = await ask_claude(claude)
    assert message.stop_reason == "max_tokens"


async def test_anthropic_stream_text_joins_and_final_message_has_usage(
    claude: FakeAnthropic,
) -> None:
    claude.enqueue(Reply(text=ANSWER, input_tokens=120, output_tokens=15))
    text, message = await stream_claude(claude)
    assert text == ANSWER
    assert (message.usage.input_tokens, message.usage.output_tokens) == (120, 15)


async def test_anthropic_raw_stream_sends_the_real_event_sequence(claude: FakeAnthropic) -> None:
    claude.enqueue(Reply(text=ANSWER, chunks=[ANSWER[:20], ANSWER[20:]]))
    events = await claude_raw_events(claude)
    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


async def test_anthropic_raw_stream_has_input_tokens_first_and_output_tokens_last(
    claude: FakeAnthropic,
) -> None:
    claude.enqueue(Reply(text=ANSWER, input_tokens=120, output_tokens=15))
    events = await claude_raw_events(claude)
    start, delta = events[0], events[-2]
    assert isinstance(start, anthropic.types.RawMessageStartEvent)
    assert isinstance(delta, anthropic.types.RawMessageDeltaEvent)
    assert (start.message.usage.input_tokens, delta.usage.output_tokens) == (120, 15)


async def test_anthropic_stream_frames_are_named_sse_events(claude: FakeAnthropic) -> None:
    async with anthropic_client(claude) as client:
        response = await client.messages.with_raw_response.create(
            model=CLAUDE, max_tokens=512, messages=CLAUDE_QUESTION, stream=True
        )
        body = (await response.http_response.aread()).decode()
    names = [line.removeprefix("event: ") for line in body.splitlines() if line.startswith("event")]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


async def test_anthropic_sdk_sends_its_key_as_bearer_and_a_version(claude: FakeAnthropic) -> None:
    await ask_claude(claude)
    [request] = await claude.wait_for_requests(1, timeout=1.0)
    assert request.headers["authorization"] == "Bearer sk-ant-test"
    assert request.headers["anthropic-version"]


async def test_anthropic_request_without_a_key_is_refused(claude: FakeAnthropic) -> None:
    async with anthropic_client(claude) as client:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await client.messages.create(
                model=CLAUDE,
                max_tokens=512,
                messages=CLAUDE_QUESTION,
                extra_headers={"Authorization": anthropic.omit},
            )
    assert (caught.value.type, caught.value.api_message) == (
        "authentication_error",
        "x-api-key header is required",
    )


async def test_anthropic_x_api_key_header_is_accepted() -> None:
    async with FakeAnthropic(api_key="sk-ant-right") as server:
        message = await ask_claude(
            server,
            default_headers={"x-api-key": "sk-ant-right", "Authorization": anthropic.omit},
        )
    assert message.content[0].text == DEFAULT_TEXT  # type: ignore[union-attr]


async def test_anthropic_wrong_key_is_refused() -> None:
    async with FakeAnthropic(api_key="sk-ant-right") as server:
        with pytest.raises(anthropic.AuthenticationError, match="invalid x-api-key"):
            await ask_claude(server, api_key="sk-ant-wrong")


async def test_anthropic_429_is_retried_after_retry_after(claude: FakeAnthropic) -> None:
    # Without the header the SDK's first backoff is 0.375-0.5 s.
    claude.enqueue(Fault(status=429, retry_after=0.6), Reply(text=ANSWER))
    message = await ask_claude(claude, max_retries=1)
    first, second = claude.requests
    assert message.content[0].text == ANSWER  # type: ignore[union-attr]
    assert second.at - first.at >= 0.6


async def test_anthropic_429_carries_the_rate_limit_error_body(claude: FakeAnthropic) -> None:
    claude.enqueue(Fault(status=429, retry_after=1))
    with pytest.raises(anthropic.RateLimitError) as caught:
        await ask_claude(claude)
    assert (caught.value.type, caught.value.response.headers["retry-after"]) == (
        "rate_limit_error",
        "1",
    )


async def test_anthropic_529_raises_overloaded_error(claude: FakeAnthropic) -> None:
    claude.enqueue(Fault(status=529))
    with pytest.raises(anthropic.OverloadedError) as caught:
        await ask_claude(claude)
    assert caught.value.type == "overloaded_error"


async def test_anthropic_500_raises_internal_server_error(claude: FakeAnthropic) -> None:
    claude.enqueue(Fault(status=500))
    with pytest.raises(anthropic.InternalServerError) as caught:
        await ask_claude(claude)
    assert (caught.value.status_code, caught.value.type) == (500, "api_error")


async def test_anthropic_stall_past_the_read_timeout_raises_api_timeout_error(
    claude: FakeAnthropic,
) -> None:
    claude.enqueue(Stall(seconds=5))
    with pytest.raises(anthropic.APITimeoutError):
        await ask_claude(claude, timeout=SHORT_READ)


async def test_anthropic_refuses_an_httpx_timeout(claude: FakeAnthropic) -> None:
    with pytest.raises(TypeError, match=r"Use `httpx2\.Timeout` instead"):
        await ask_claude(claude, timeout=httpx.Timeout(5.0, read=0.2))


async def test_anthropic_stream_stall_raises_httpx2_read_timeout(claude: FakeAnthropic) -> None:
    # Unlike openai, the anthropic stream does not wrap errors raised while reading it.
    claude.enqueue(Stall(seconds=5))
    with pytest.raises(httpx2.ReadTimeout):
        await stream_claude(claude, timeout=SHORT_READ)


async def test_anthropic_disconnect_before_a_json_reply_raises_api_connection_error(
    claude: FakeAnthropic,
) -> None:
    claude.enqueue(Disconnect())
    with pytest.raises(anthropic.APIConnectionError):
        await ask_claude(claude)


async def test_anthropic_malformed_stream_raises_json_decode_error(claude: FakeAnthropic) -> None:
    claude.enqueue(MalformedStream("bad_json"))
    with pytest.raises(json.JSONDecodeError):
        await stream_claude(claude)


async def test_anthropic_stream_without_message_stop_ends_with_no_stop_reason(
    claude: FakeAnthropic,
) -> None:
    claude.enqueue(MalformedStream("no_terminal_event", Reply(text=ANSWER)))
    text, message = await stream_claude(claude)
    assert (text, message.stop_reason) == (ANSWER, None)


async def test_anthropic_disconnect_mid_stream_raises_httpx2_remote_protocol_error(
    claude: FakeAnthropic,
) -> None:
    claude.enqueue(Disconnect(after_chunks=1, reply=Reply(text=ANSWER)))
    with pytest.raises(httpx2.RemoteProtocolError):
        await stream_claude(claude)


async def test_anthropic_error_event_mid_stream_raises_api_status_error(
    claude: FakeAnthropic,
) -> None:
    claude.enqueue(Fault(status=529, after_chunks=1))
    with pytest.raises(anthropic.APIStatusError) as caught:
        await stream_claude(claude)
    assert (caught.value.status_code, caught.value.type) == (200, "overloaded_error")


def test_recorded_request_knows_its_model_and_whether_it_streams() -> None:
    request = RecordedRequest(
        path="/v1/messages", headers={}, json={"model": CLAUDE, "stream": True}, at=0.0
    )
    assert (request.model, request.stream) == (CLAUDE, True)
