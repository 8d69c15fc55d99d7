"""Success metrics from the question log: ``ledger-bot stats``."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from ledger_bot.state import FeedbackRecord, QuestionRecord
from ledger_bot.terms import STOP_WORDS, stem, tokenize

TOP_GAPS = 10
TOP_UNKNOWN_WORDS = 15
# What redaction left in a logged question ("[redacted:slack-token]"): not the asker's words.
_REDACTED = re.compile(r"\[redacted:[^\]]*\]")
# Given stems, those the knowledge base knows no word for (no chunk holds them, and no group
# of the synonyms file names them).
UnknownTerms = Callable[[Sequence[str]], set[str]]


@dataclass(frozen=True, slots=True)
class Stats:
    since: str
    questions: int
    questions_per_day: dict[str, int]
    unique_askers_per_week: dict[str, int]
    repeat_asker_rate: float | None  # share of askers who asked on more than one day
    answered_rate: float | None  # answered / (answered + not_found)
    error_rate: float | None  # errors / all questions that reached the answerer
    rate_limited: int
    rejected: int
    thumbs_up: int
    thumbs_down: int
    thumbs_up_ratio: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_usd: float
    cost_per_question_usd: float | None
    top_unanswered: list[tuple[str, int]]
    # Words of unanswered questions that no document holds: a document or a synonyms group
    # to add. Empty when the knowledge base could not be read.
    unknown_words: list[tuple[str, int]]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``7d``, ``12h``, ``30m`` or an ISO date/time, as an aware UTC datetime."""
    now = now or datetime.now(UTC)
    units = {"d": "days", "h": "hours", "m": "minutes", "w": "weeks"}
    text = value.strip().lower()
    if text[:-1].isdecimal() and text[-1:] in units:
        try:
            return now - timedelta(**{units[text[-1]]: int(text[:-1])})
        except OverflowError:
            raise ValueError(f"{value!r} reaches back before the year 1: use a date") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a duration like 7d, 12h or 30m, nor an ISO date"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _normalise(question: str) -> str:
    return " ".join(question.lower().split()).rstrip("?!. ")


def unknown_words(questions: Sequence[str], unknown: UnknownTerms) -> list[tuple[str, int]]:
    """The words of ``questions`` that ``unknown`` says the knowledge base lacks, each with the
    number of questions using it, most used first; a word as askers wrote it most often
    ("freezing" and "freeze" count together, shown as the commoner)."""
    spellings: dict[str, Counter[str]] = {}
    asked_in: Counter[str] = Counter()
    for question in questions:
        stems: set[str] = set()
        for word in tokenize(_REDACTED.sub(" ", question)):
            if word in STOP_WORDS or not any(ch.isalpha() for ch in word) or len(word) < 3:
                continue
            term = stem(word)
            spellings.setdefault(term, Counter())[word] += 1
            stems.add(term)
        asked_in.update(stems)
    missing = unknown(sorted(asked_in)) if asked_in else set()
    ranked = sorted(missing, key=lambda term: (-asked_in[term], term))
    return [(spellings[t].most_common(1)[0][0], asked_in[t]) for t in ranked][:TOP_UNKNOWN_WORDS]


def compute_stats(
    questions: list[QuestionRecord],
    feedback: list[FeedbackRecord],
    since: datetime,
    unknown: UnknownTerms | None = None,
) -> Stats:
    outcomes = Counter(q.outcome for q in questions)
    per_day = Counter(q.asked_at.date().isoformat() for q in questions)
    askers_per_week: dict[str, set[str]] = {}
    days_per_asker: dict[str, set[str]] = {}
    for q in questions:
        year, week, _ = q.asked_at.isocalendar()
        askers_per_week.setdefault(f"{year}-W{week:02d}", set()).add(q.user)
        days_per_asker.setdefault(q.user, set()).add(q.asked_at.date().isoformat())
    repeaters = sum(1 for days in days_per_asker.values() if len(days) > 1)
    latencies = sorted(
        q.latency_ms
        for q in questions
        if q.latency_ms is not None and q.outcome in {"answered", "not_found"}
    )
    up = sum(1 for f in feedback if f.value == "up")
    down = sum(1 for f in feedback if f.value == "down")
    unanswered = [q.question for q in questions if q.outcome == "not_found"]
    gaps = Counter(_normalise(question) for question in unanswered)
    answered, not_found, errors = outcomes["answered"], outcomes["not_found"], outcomes["error"]
    cost = sum(q.cost_usd for q in questions)
    return Stats(
        since=since.isoformat(timespec="seconds"),
        questions=len(questions),
        questions_per_day=dict(sorted(per_day.items())),
        unique_askers_per_week={
            week: len(users) for week, users in sorted(askers_per_week.items())
        },
        repeat_asker_rate=_share(repeaters, len(days_per_asker)),
        answered_rate=_share(answered, answered + not_found),
        error_rate=_share(errors, answered + not_found + errors),
        rate_limited=outcomes["rate_limited"],
        rejected=outcomes["rejected"],
        thumbs_up=up,
        thumbs_down=down,
        thumbs_up_ratio=_share(up, up + down),
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
        cost_usd=round(cost, 6),
        cost_per_question_usd=_share_float(cost, answered + not_found),
        top_unanswered=gaps.most_common(TOP_GAPS),
        unknown_words=unknown_words(unanswered, unknown) if unknown is not None else [],
    )


def _share_float(part: float, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def render_stats(stats: Stats) -> str:
    lines = [
        f"Since {stats.since}: {stats.questions} questions",
        "",
        "| metric | value |",
        "|---|---|",
        f"| answered rate | {_pct(stats.answered_rate)} |",
        f"| error rate | {_pct(stats.error_rate)} |",
        f"| repeat-asker rate | {_pct(stats.repeat_asker_rate)} |",
        f"| 👍 / 👎 | {stats.thumbs_up} / {stats.thumbs_down} ({_pct(stats.thumbs_up_ratio)} 👍) |",
        f"| answer time p50 / p95 | {_ms(stats.latency_p50_ms)} / {_ms(stats.latency_p95_ms)} |",
        f"| rate-limited / rejected | {stats.rate_limited} / {stats.rejected} |",
        f"| LLM cost (per question) | ${stats.cost_usd:.4f}"
        f" (${stats.cost_per_question_usd or 0:.4f}) |",
        "",
        "Questions per day: "
        + (", ".join(f"{day} {n}" for day, n in stats.questions_per_day.items()) or "none"),
        "Unique askers per week: "
        + (", ".join(f"{week} {n}" for week, n in stats.unique_askers_per_week.items()) or "none"),
    ]
    if stats.top_unanswered:
        lines += ["", "Most frequent unanswered questions (gaps in the knowledge base):"]
        lines += [f"  {count:>3} × {question}" for question, count in stats.top_unanswered]
    if stats.unknown_words:
        lines += [
            "",
            "Words of unanswered questions that no document holds (write it up, or add a "
            "synonyms group):",
            "  " + ", ".join(f"{word} ({count})" for word, count in stats.unknown_words),
        ]
    return "\n".join(lines)
