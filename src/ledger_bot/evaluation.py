"""Measuring answer quality on a question set (the format of ``eval/README.md``).

Each line is a JSON object: single-turn ``{"id", "question", "answerable", "gold",
"must_include", "kind"}`` or multi-turn with ``"turns": [{"question": …}, …]``. The metrics:

* hit@3 — share of answerable items whose first gold file is among the first three citations;
* coverage — share of answerable items whose answer contains every ``must_include`` group;
* abstention — share of unanswerable items answered with ``answered: false``;
* false refusal — share of answerable items answered with ``answered: false``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ledger_bot.documents import Answer
from ledger_bot.errors import LedgerBotError


@dataclass(frozen=True, slots=True)
class EvalItem:
    id: str
    turns: tuple[str, ...]
    answerable: bool
    gold: tuple[str, ...]
    must_include: tuple[tuple[str, ...], ...]
    kind: str


@dataclass(frozen=True, slots=True)
class ItemResult:
    item: EvalItem
    answer: Answer

    @property
    def hit_at_3(self) -> bool:
        cited = [c.source for c in self.answer.citations[:3]]
        return bool(self.item.gold) and self.item.gold[0] in cited

    @property
    def covered(self) -> bool:
        text = self.answer.text.lower()
        return all(any(alt.lower() in text for alt in group) for group in self.item.must_include)


@dataclass(slots=True)
class EvalReport:
    results: list[ItemResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def _share(self, predicate: Callable[[ItemResult], bool], answerable: bool) -> float | None:
        pool = [r for r in self.results if r.item.answerable is answerable]
        return sum(predicate(r) for r in pool) / len(pool) if pool else None

    def metrics(self) -> dict[str, float | None]:
        return {
            "hit_at_3": self._share(lambda r: r.hit_at_3, True),
            "coverage": self._share(lambda r: r.covered, True),
            "abstention": self._share(lambda r: not r.answer.answered, False),
            "false_refusal": self._share(lambda r: not r.answer.answered, True),
        }

    def modes(self) -> dict[str, int]:
        """Answers by who wrote them: ``llm``, ``extractive``, or ``fallback:<reason>`` for an
        extractive answer given because the language model could not answer."""
        modes: dict[str, int] = {}
        for result in self.results:
            answer = result.answer
            key = f"fallback:{answer.fallback_reason}" if answer.fallback_reason else answer.mode
            modes[key] = modes.get(key, 0) + 1
        return dict(sorted(modes.items()))

    def cost_usd(self) -> float:
        return sum(r.answer.usage.cost_usd for r in self.results if r.answer.usage is not None)

    def counts(self) -> dict[str, int]:
        answerable = sum(r.item.answerable for r in self.results)
        return {
            "items": len(self.results),
            "answerable": answerable,
            "unanswerable": len(self.results) - answerable,
            "skipped": len(self.skipped),
        }


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(value)


def _is_question(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def parse_item(record: object) -> EvalItem:
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if "turns" in record:
        turns = record["turns"]
        if not isinstance(turns, list) or not turns:
            raise ValueError("turns must be a non-empty list")
        if not all(isinstance(turn, dict) and _is_question(turn.get("question")) for turn in turns):
            raise ValueError('each turn must be an object with a "question" that is not blank')
        questions = tuple(turn["question"] for turn in turns)
    elif _is_question(record.get("question")):
        questions = (record["question"],)
    else:
        raise ValueError("needs a question that is not blank, or turns")
    answerable = record.get("answerable", True)
    if not isinstance(answerable, bool):
        raise ValueError("answerable must be true or false")
    groups = record.get("must_include", [])
    if not isinstance(groups, list):
        raise ValueError("must_include must be a list of lists")
    return EvalItem(
        id=str(record.get("id", "")),
        turns=questions,
        answerable=answerable,
        gold=_strings(record.get("gold", []), "gold"),
        must_include=tuple(_strings(group, "must_include group") for group in groups),
        kind=str(record.get("kind", "")),
    )


def load_items(path: Path) -> tuple[list[EvalItem], list[str]]:
    """The items of a question set and a warning for each line that was skipped."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerBotError(f"cannot read question set {path}: {exc}") from None
    items, warnings = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(parse_item(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            warnings.append(f"line {number}: {exc}; skipped")
        except RecursionError:
            warnings.append(f"line {number}: JSON nested too deeply; skipped")
    return items, warnings


AskFn = Callable[[Sequence[str]], Awaitable[Answer]]


async def run_eval(items: Sequence[EvalItem], ask: AskFn, *, multi_turn: bool = True) -> EvalReport:
    """Ask every item through ``ask`` (given all turns so far, last one is the question)."""
    report = EvalReport()
    for item in items:
        if len(item.turns) > 1 and not multi_turn:
            report.skipped.append(item.id)
            continue
        answer = await ask(item.turns)
        report.results.append(ItemResult(item, answer))
    return report


def render_report(report: EvalReport, *, show_items: bool = False) -> str:
    lines = []
    if show_items:
        for result in report.results:
            item = result.item
            verdict = "answered" if result.answer.answered else "refused"
            cited = ", ".join(c.source for c in result.answer.citations[:3]) or "-"
            flags = []
            if item.answerable:
                flags.append("hit" if result.hit_at_3 else "miss")
                flags.append("covered" if result.covered else "uncovered")
            lines.append(
                f"{item.id:<12} {item.kind:<15} {verdict:<9} {' '.join(flags):<18} {cited}"
            )
        lines.append("")
    counts = report.counts()
    lines.append(
        f"{counts['items']} items ({counts['answerable']} answerable, "
        f"{counts['unanswerable']} unanswerable), {counts['skipped']} skipped"
    )
    modes = ", ".join(f"{mode} {count}" for mode, count in report.modes().items())
    lines.append(f"answers by mode: {modes or 'none'}")
    if report.cost_usd():
        lines.append(f"language model cost: ${report.cost_usd():.4f}")
    lines.append("| metric | value |")
    lines.append("|---|---|")
    for name, value in report.metrics().items():
        shown = "n/a" if value is None else f"{value:.1%}"
        lines.append(f"| {name} | {shown} |")
    return "\n".join(lines)
