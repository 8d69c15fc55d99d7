"""The message catalogs, the translator, language detection, and the service speaking the
asker's language."""

from __future__ import annotations

import json
import string
import unicodedata
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from ledger_bot import i18n, messages
from ledger_bot.i18n import (
    detect_language,
    format_wait,
    language_code,
    normalize_locale,
    translate,
    translator,
)
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.rendering import render_outcome_text
from ledger_bot.service import LedgerBotService, QuestionRequest, build_answerer
from ledger_bot.settings import load_settings
from ledger_bot.state import SqliteStateStore

CATALOG_LANGUAGES = ["es", "de", "fr", "ja"]
SAMPLE_EVAL = Path(__file__).parent / "data" / "sample_eval.jsonl"


@pytest.fixture(scope="module")
def babel() -> Any:
    return pytest.importorskip(
        "babel.messages.pofile", reason="the catalog checks need Babel (pip install -e '.[dev]')"
    )


def fields(text: str) -> set[tuple[str, str]]:
    """The {placeholders} of a format string, with their format specs."""
    return {
        (name, spec or "")
        for _, name, spec, _ in string.Formatter().parse(text)
        if name is not None
    }


def forms(message: Any) -> list[str]:
    return list(message.string) if message.pluralizable else [message.string]


def texts(catalog: Any) -> dict[Any, Any]:
    """A catalog's messages as {id: translation}, plurals as tuples."""

    def frozen(value: Any) -> Any:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {frozen(m.id): frozen(m.string) for m in catalog if m.id}


def msgid_text(message_id: str | tuple[str, str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


# -- the catalogs ----------------------------------------------------------------------------


def test_catalog_languages_are_every_language_but_english() -> None:
    assert i18n.catalog_languages() == CATALOG_LANGUAGES


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_every_text_is_translated(babel: Any, code: str) -> None:
    catalog = i18n.read_catalog(code)
    untranslated = [
        msgid_text(message_id)
        for message_id in i18n.catalog_messages()
        if (message := catalog.get(message_id)) is None
        or message.fuzzy
        or not all(form.strip() for form in forms(message))
    ]
    assert untranslated == []


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_catalog_holds_no_texts_that_are_gone(babel: Any, code: str) -> None:
    known = set(i18n.catalog_messages())
    assert [m.id for m in i18n.read_catalog(code) if m.id and m.id not in known] == []


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_translations_keep_the_placeholders(babel: Any, code: str) -> None:
    mismatched = [
        (msgid_text(message.id), form)
        for message in i18n.read_catalog(code)
        if message.id
        for form in forms(message)
        if fields(form) != fields(msgid_text(message.id))
    ]
    assert mismatched == []


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_translations_keep_the_leading_emoji(babel: Any, code: str) -> None:
    lost = [
        form
        for message in i18n.read_catalog(code)
        if message.id and unicodedata.category(msgid_text(message.id)[0]) == "So"
        for form in forms(message)
        if not form.startswith(msgid_text(message.id).split()[0])
    ]
    assert lost == []


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_compiled_catalog_is_up_to_date_with_its_po_file(babel: Any, code: str) -> None:
    from babel.messages.mofile import read_mo

    fresh = read_mo(BytesIO(i18n.compiled(i18n.read_catalog(code))))
    with i18n.mo_path(code).open("rb") as file:
        shipped = read_mo(file)
    assert texts(shipped) == texts(fresh)


def test_template_lists_every_text_of_the_messages_module(babel: Any) -> None:
    with (i18n.LOCALE_DIR / "ledger_bot.pot").open("rb") as file:
        template = babel.read_po(file)
    assert [m.id for m in template if m.id] == list(i18n.catalog_messages())


# -- the translator ----------------------------------------------------------------------------


def test_english_is_the_text_as_written() -> None:
    assert translate("en", messages.SLACK_THINKING) == "⏳ Looking through the knowledge base…"


def test_translation_comes_from_the_compiled_catalog() -> None:
    assert translate("es", messages.SLACK_THINKING) == "⏳ Buscando en la base de conocimiento…"


def test_translation_fills_in_the_placeholders() -> None:
    assert translate("de", messages.SLACK_ESCALATION_DONE, channel="#ops") == (
        "Ich habe das Team in #ops gefragt."
    )


def test_unknown_text_is_shown_as_it_is() -> None:
    assert translate("fr", "Not one of ours.") == "Not one of ours."


def test_unsupported_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported language 'it'"):
        translator("it")


@pytest.mark.parametrize(
    ("code", "count", "expected"),
    [
        ("en", 1, "1 document"),
        ("en", 2, "2 documents"),
        ("es", 1, "1 documento"),
        ("es", 24, "24 documentos"),
        ("es", 1_000_000, "1.000.000 de documentos"),
        ("fr", 0, "0 document"),
        ("fr", 12_345, "12\u202f345 documents"),
        ("de", 2, "2 Dokumente"),
        ("ja", 2, "ドキュメント 2 件"),
    ],
)
def test_plural_form_follows_the_count(code: str, count: int, expected: str) -> None:
    assert translator(code).plural(messages.SLACK_HOME_DOCUMENTS, count) == expected


@pytest.mark.parametrize(
    ("code", "number", "expected"),
    [
        ("en", 4000, "4,000"),
        ("de", 4000, "4.000"),
        ("es", 4000, "4000"),
        ("es", 40_000, "40.000"),
        ("fr", 4000, "4\u202f000"),
        ("ja", 999, "999"),
    ],
)
def test_numbers_are_grouped_as_the_language_writes_them(
    code: str, number: int, expected: str
) -> None:
    assert translator(code).number(number) == expected


@pytest.mark.parametrize(
    ("code", "seconds", "expected"),
    [
        ("en", 1, "1 second"),
        ("en", 45, "45 seconds"),
        ("en", 180, "3 minutes"),
        ("en", 7200, "2 hours"),
        ("de", 60, "60 Sekunden"),
        ("fr", 3600, "60 minutes"),
        ("ja", 180, "3分"),
    ],
)
def test_wait_is_a_friendly_duration(code: str, seconds: float, expected: str) -> None:
    assert format_wait(seconds, code) == expected


# -- locales and detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("es-ES", "es"),
        ("es_ES", "es"),
        ("ES", "es"),
        ("ja-JP", "ja"),
        ("fr-CA", "fr"),
        ("en-GB", "en"),
        ("de_DE.UTF-8", "de"),
        ("pt-BR", None),
        ("", None),
        (None, None),
    ],
)
def test_locale_is_reduced_to_a_supported_language(value: str | None, expected: str) -> None:
    assert normalize_locale(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Spanish", "es"), ("japanese", "ja"), ("de-AT", "de"), ("Italian", None), (None, None)],
)
def test_language_code_accepts_names_codes_and_locales(
    value: str | None, expected: str | None
) -> None:
    assert language_code(value) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("¿Cómo revierto un asiento contable ya publicado?", "es"),
        ("¿Qué significa exceeds_credits?", "es"),
        ("¿Dónde está el runbook de guardia?", "es"),
        ("Wie storniere ich eine gebuchte Buchung?", "de"),
        ("Wo finde ich das Runbook für den Bereitschaftsdienst?", "de"),
        ("Wie lange werden die Idempotenzschlüssel aufbewahrt?", "de"),
        ("Comment annuler une écriture comptable déjà publiée ?", "fr"),
        ("Combien de temps les clés d'idempotence sont-elles conservées ?", "fr"),
        ("Où est le runbook d'astreinte ?", "fr"),
        ("投稿済みの仕訳を取り消すにはどうすればいいですか？", "ja"),
        ("exceeds_credits とは何ですか？", "ja"),
        ("How do I reverse a posted journal entry?", "en"),
    ],
)
def test_language_of_a_question_is_detected(question: str, expected: str) -> None:
    assert detect_language(question) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hola",
        "exceeds_credits?",
        "`SELECT * FROM la_table WHERE de = 1`",
        "POST /v1/journal-entries/{id}/reversal",
        "la de en que",
        "账本条目",  # Chinese: kanji without kana
    ],
)
def test_short_mixed_or_code_only_text_has_no_language(text: str) -> None:
    assert detect_language(text) is None


def test_sample_questions_are_never_taken_for_another_language() -> None:
    questions = [json.loads(line) for line in SAMPLE_EVAL.read_text(encoding="utf-8").splitlines()]
    detected = {detect_language(q["question"]) for q in questions if "question" in q}
    assert detected <= {"en", None}


# -- the service speaks the asker's language -----------------------------------------------


def ask(text: str, language: str | None = None, user: str = "U1") -> QuestionRequest:
    return QuestionRequest(text=text, user=user, channel="C1", surface="console", language=language)


async def make_service(sample_db: Path, tmp_path: Path, **overrides: Any) -> LedgerBotService:
    settings = load_settings(db=sample_db, **overrides)
    kb = SqliteKnowledgeBase.open(sample_db)
    state = SqliteStateStore(tmp_path / "state.db")
    await state.open()
    return LedgerBotService(settings, kb, build_answerer(settings, kb), state=state)


@pytest.fixture
async def service(sample_db: Path, tmp_path: Path) -> AsyncIterator[LedgerBotService]:
    service = await make_service(sample_db, tmp_path)
    yield service
    await service.close()


async def test_empty_question_is_rejected_in_the_askers_language(
    service: LedgerBotService,
) -> None:
    outcome = await service.handle(ask("?!", language="German"))
    assert outcome.message == (
        "Bitte stelle eine Frage: Die Nachricht enthielt keinen Text, nach dem ich suchen könnte."
    )


async def test_truncation_note_is_in_the_askers_language(service: LedgerBotService) -> None:
    outcome = await service.handle(
        ask("why exceeds_credits? " + "ERROR stack frame\n" * 2000, language="French")
    )
    assert outcome.notes == (
        "Votre message était long, je n’en ai donc lu que les 4\u202f000 premiers caractères.",
    )


async def test_extractive_answer_introduces_its_quotes_in_the_askers_language(
    service: LedgerBotService,
) -> None:
    question = "How do I reverse a posted journal entry?"
    japanese = await service.handle(ask(question, "Japanese", user="U1"))
    english = await service.handle(ask(question, "English", user="U2"))
    assert japanese.answer is not None and english.answer is not None
    assert japanese.answer.text.startswith("ナレッジベースには次のように書かれています：\n\n> ")
    assert japanese.answer.quotes == english.answer.quotes
    assert japanese.language == "ja"


async def test_rate_limit_notice_is_in_the_askers_language(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, user_burst=1, user_rate_per_minute=1.0)
    outcomes = [await service.handle(ask("idempotency key retention", "es")) for _ in range(2)]
    await service.close()
    assert outcomes[1].message == (
        "Estás preguntando más rápido de lo que puedo responder. "
        "Vuelve a intentarlo en 60 segundos."
    )


async def test_console_speaks_the_default_language(sample_db: Path, tmp_path: Path) -> None:
    service = await make_service(sample_db, tmp_path, default_language="de")
    outcome = await service.handle(ask("How do I reverse a posted journal entry?"))
    await service.close()
    shown = render_outcome_text(outcome)
    assert shown.startswith("Das steht in der Wissensdatenbank:\n\n> ")
    assert "\nQuellen:\n[1] " in shown


async def test_without_a_language_the_answer_follows_the_default(
    service: LedgerBotService,
) -> None:
    outcome = await service.handle(ask("what is the vacation policy?"))
    assert outcome.answer is not None
    assert outcome.answer.text.startswith(
        "I couldn't find an answer to that in the knowledge base."
    )
    assert outcome.language == "en"
