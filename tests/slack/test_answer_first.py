"""An answer that is ready at once is posted directly; "Thinking…" shows only for a slower one
(LEDGER_BOT_SLACK_PLACEHOLDER_AFTER)."""

from __future__ import annotations

import asyncio

from ledger_bot.documents import Answer, Citation
from tests.conftest import SlowAnswerer
from tests.slack.conftest import GENERAL, StartBot
from tests.slack.test_surfaces import REVERSAL, answer_in_thread, deliver_all, section_text
from tests.slack_emulator import SlackEmulator

CITED = Answer(
    "Post a reversing entry [1].",
    answered=True,
    citations=(Citation("api/reversals.md", "Reversing a posted journal entry", None, 1.0),),
)


async def test_a_quick_answer_is_posted_without_a_placeholder(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot(slack_placeholder_after=0.5)
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    await deliver_all(slack, bodies)
    posted = await slack.wait_for_call(
        "chat.postMessage", lambda call: "feedback" in str(call.params.get("blocks"))
    )
    await asyncio.sleep(0.2)
    assert posted.params["thread_ts"] == bodies[0]["event"]["ts"]
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert slack.calls_to("chat.update") == []


async def test_a_slow_answer_shows_thinking_first_then_replaces_it(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot(slack_placeholder_after=0.2)
    bot.service.answerer = SlowAnswerer(0.8, CITED)
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {REVERSAL}")
    await deliver_all(slack, bodies)
    answer = await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])
    [placeholder] = slack.calls_to("chat.postMessage")
    first_shown = placeholder.at - slack.calls_to("users.info")[0].at
    assert first_shown < 0.6
    assert "Looking through the knowledge base" in section_text(placeholder.params)
    assert "Post a reversing entry [1]." in section_text(answer)
