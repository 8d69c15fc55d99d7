"""The bot speaks the asker's language in Slack: their Slack locale, else the question's.

The emulator's ``users.info`` carries a user's ``locale`` when asked with ``include_locale``, as
Slack's does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fake_llm import FakeOpenAI
from tests.slack.conftest import ALICE, GENERAL, StartBot
from tests.slack.test_surfaces import (
    REVERSAL,
    action_ids,
    answer_in_thread,
    deliver_all,
    section_text,
)
from tests.slack_emulator import SlackEmulator

ELENA = "U0ELENA"  # Slack locale es-ES
VACATION = "what is the vacation policy?"
GERMAN_QUESTION = "Wie storniere ich eine gebuchte Journalbuchung?"


def add_user_with_locale(slack: SlackEmulator, user_id: str, name: str, locale: str) -> None:
    slack.add_user(user_id, name, locale=locale)


async def mention_and_answer(slack: SlackEmulator, text: str, user: str) -> dict[str, Any]:
    bodies = slack.user_posts(GENERAL, f"<@{slack.bot_user_id}> {text}", user=user)
    await deliver_all(slack, bodies)
    return await answer_in_thread(slack, GENERAL, bodies[0]["event"]["ts"])


def button_texts(message: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


async def test_asker_with_a_spanish_locale_gets_the_placeholder_and_not_found_in_spanish(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    add_user_with_locale(slack, ELENA, "elena", "es-ES")
    answer = await mention_and_answer(slack, VACATION, ELENA)
    versions = slack.message_versions(GENERAL, answer["ts"])
    assert section_text(versions[0]).startswith("⏳ Buscando en la base de conocimiento…")
    assert "No encontré una respuesta a eso en la base de conocimiento." in section_text(answer)


async def test_german_question_from_an_asker_without_a_locale_gets_german_buttons(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot(slack_escalation_channel="C0ONCALL")
    answer = await mention_and_answer(slack, GERMAN_QUESTION, ALICE)
    assert button_texts(answer) == ["🙋 Einen Menschen fragen"]
    assert "Dazu habe ich in der Wissensdatenbank keine Antwort gefunden." in section_text(answer)


async def test_extractive_answer_localises_its_own_words_and_quotes_the_docs_in_english(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    add_user_with_locale(slack, ELENA, "elena", "es-ES")
    answer = await mention_and_answer(slack, REVERSAL, ELENA)
    shown = section_text(answer)
    assert "Esto es lo que dice la base de conocimiento:" in shown
    assert "post a reversing entry with `POST /v1/journal-entries/{id}/reversal`" in shown
    assert "— de Reversing a posted journal entry" in shown
    assert "*Fuentes:*" in shown
    assert button_texts(answer) == ["👍 Útil", "👎 No es útil"]


async def test_locale_is_looked_up_once_for_two_questions(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    add_user_with_locale(slack, ELENA, "elena", "es-ES")
    dm = slack.dm_channel(ELENA)
    for asked, question in enumerate((REVERSAL, VACATION), start=1):
        await deliver_all(slack, slack.user_posts(dm, question, user=ELENA))
        await slack.wait_for_call("chat.update", count=asked, timeout=10)
    [lookup] = slack.calls_to("users.info")
    assert (lookup.params["user"], lookup.params["include_locale"]) == (ELENA, "1")


async def test_failed_locale_lookup_falls_back_to_the_language_of_the_question(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    slack.fail_next("users.info", error="missing_scope")
    answer = await mention_and_answer(slack, GERMAN_QUESTION, ALICE)
    assert "Dazu habe ich in der Wissensdatenbank keine Antwort gefunden." in section_text(answer)
    assert bot.counted("slack_api_errors_total", method="users.info", error="missing_scope") == 1


async def test_feedback_thanks_come_in_the_askers_language(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    add_user_with_locale(slack, ELENA, "elena", "es-ES")
    answer = await mention_and_answer(slack, REVERSAL, ELENA)
    await slack.deliver("interactive", slack.click(answer, "feedback_up", user=ELENA))
    thanks = await slack.wait_for_response(lambda body: "Gracias" in str(body))
    assert thanks.body["text"] == "¡Gracias por tu opinión, me alegra haber ayudado!"


async def test_app_home_is_shown_in_the_users_language(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    add_user_with_locale(slack, ELENA, "elena", "es-ES")
    await slack.deliver("events_api", slack.open_home(ELENA))
    await slack.wait_for_call("views.publish")
    shown = "\n".join(section_text(block) for block in slack.home_views[ELENA]["blocks"])
    assert "*Lo que sé*" in shown
    assert "24 documentos" in shown
    assert "*Cómo preguntar*" in shown


async def test_assistant_greets_in_the_users_language(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    add_user_with_locale(slack, "U0JUN", "jun", "ja-JP")
    await slack.deliver("events_api", slack.start_assistant_thread("U0JUN"))
    greeting = await slack.wait_for_call("chat.postMessage")
    assert greeting.params["text"].startswith("こんにちは！")


async def test_slash_command_answers_in_the_askers_language(
    slack: SlackEmulator, start_bot: StartBot
) -> None:
    await start_bot()
    add_user_with_locale(slack, ELENA, "elena", "es-ES")
    envelope = await slack.deliver("slash_commands", slack.slash_command(REVERSAL, user=ELENA))
    ack = await slack.wait_for_ack(envelope)
    assert ack is not None and ack["text"] == "⏳ Buscando en la base de conocimiento…"
    response = await slack.wait_for_response()
    assert "Publicar en el canal" in button_texts(response.body)
    assert "share_answer" in action_ids(response.body)


async def test_language_model_is_told_to_answer_in_the_askers_language(
    slack: SlackEmulator, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    async with FakeOpenAI() as model:
        await start_bot(
            llm_provider="openai",
            llm_model="gpt-test-mini",
            llm_base_url=model.base_url,
            llm_api_key="sk-test-key",
            llm_max_retries=0,
        )
        add_user_with_locale(slack, ELENA, "elena", "es-ES")
        await mention_and_answer(slack, REVERSAL, ELENA)
        [request] = await model.wait_for_requests(1)
    assert "Answer in Spanish." in json.dumps(request.json, ensure_ascii=False)
