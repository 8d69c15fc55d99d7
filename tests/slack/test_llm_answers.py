"""Language-model answers in Slack: streamed into the placeholder, finished with citations and
buttons; a failing model degrades readiness but the answer still comes, extractively."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fake_llm import FakeOpenAI, Reply
from tests.slack.conftest import GENERAL, StartBot
from tests.slack.test_surfaces import REVERSAL, action_ids, deliver_all, section_text
from tests.slack_emulator import SlackEmulator


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def llm(server: FakeOpenAI, **overrides: object) -> dict[str, object]:
    return {
        "llm_provider": "openai",
        "llm_model": "gpt-test-mini",
        "llm_base_url": server.base_url,
        "llm_api_key": "sk-test",
        "llm_max_retries": 0,
        **overrides,
    }


async def test_model_answer_streams_into_the_placeholder_then_gets_sources_and_buttons(
    slack: SlackEmulator, start_bot: StartBot, model: FakeOpenAI
) -> None:
    text = "Post a reversing entry [1]. Reuse the same idempotency key when retrying [1]."
    chunks = ["Post a reversing entry [1].", " Reuse the same idempotency key when retrying [1]."]
    model.enqueue(Reply(text, chunks=chunks, chunk_delay=1.2))
    await start_bot(**llm(model))
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    await deliver_all(slack, bodies)
    final = await slack.wait_for_call(
        "chat.update", lambda call: "feedback" in str(call.params.get("blocks")), timeout=10
    )
    updates = slack.calls_to("chat.update")
    partial = [u for u in updates if "Still writing" in section_text(u.params)]
    assert partial and "Post a reversing entry [1]." in section_text(partial[0].params)
    assert partial[0].at < final.at
    assert "Reuse the same idempotency key" in section_text(final.params)
    assert "<https://wiki.example.com/bor-write/api/reversals|" in section_text(final.params)
    assert action_ids(final.params) == ["feedback_up", "feedback_down"]


async def test_unreachable_model_still_answers_and_readiness_reports_it_degraded(
    slack: SlackEmulator, start_bot: StartBot, model: FakeOpenAI
) -> None:
    bot = await start_bot(
        **llm(model, llm_base_url="http://127.0.0.1:9/v1", llm_breaker_failures=1)
    )
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    await deliver_all(slack, bodies)
    final = await slack.wait_for_call("chat.update", timeout=10)
    assert "quotes the documents directly" in section_text(final.params)
    async with httpx.AsyncClient() as client:
        ready = await client.get(bot.base_url + "/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["language_model"]["state"] == "degraded"
