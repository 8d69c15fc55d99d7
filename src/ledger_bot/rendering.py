"""Plain-text and JSON renderings of answers, shared by the CLI and the console adapter.

Their few words of their own are in the language they are given: the console and the CLI have
no asker's locale, so they pass the default language (an outcome carries the one it was
answered in).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger_bot import messages
from ledger_bot.documents import Answer
from ledger_bot.i18n import SOURCE_LANGUAGE, translate

if TYPE_CHECKING:
    from ledger_bot.service import QuestionOutcome


def render_answer_text(
    answer: Answer, notes: tuple[str, ...] = (), *, language: str = SOURCE_LANGUAGE
) -> str:
    """The answer, its notes above it and a numbered source list below it."""
    lines = [*notes, answer.text]
    if answer.citations:
        lines.append("")
        lines.append(translate(language, messages.SOURCES_HEADING))
        for number, citation in enumerate(answer.citations, start=1):
            lines.append(f"[{number}] {citation.title} — {citation.url or citation.source}")
    return "\n".join(lines)


def render_outcome_text(outcome: QuestionOutcome) -> str:
    if outcome.answer is None:
        return outcome.message
    return render_answer_text(outcome.answer, outcome.notes, language=outcome.language)


def outcome_to_dict(question: str, outcome: QuestionOutcome) -> dict[str, object]:
    """One question's result as the console adapter prints it in JSON Lines mode."""
    result: dict[str, object] = {
        "question": question,
        "outcome": outcome.outcome,
        "request_id": outcome.request_id,
    }
    if outcome.answer is not None:
        result.update(outcome.answer.to_dict())
        if outcome.notes:
            result["notes"] = list(outcome.notes)
    else:
        result["message"] = outcome.message
        if outcome.retry_after:
            result["retry_after"] = outcome.retry_after
    return result
