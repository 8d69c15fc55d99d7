"""Answer quality: hit@3, coverage, abstention and false refusal of `ledger-bot eval`.

Usage: python bench/answers.py [--shared ../shared] [--show-items]

Two question sets, each against the knowledge base it was written for, indexed into a fresh
temporary database through the real console script:

* ``shared/eval/tigerbeetle-dev.jsonl`` over ``shared/corpora/tigerbeetle-docs`` (real docs);
* ``tests/data/sample_eval.jsonl`` over the bundled ``sample-kb/`` (the fictional ledger team).

The metrics are the ones ``ledger-bot eval --json`` reports (see ``shared/eval/README.md``).
``LEDGER_BOT_*`` variables are removed from the children's environment and they run in an
empty folder (no ``.env``), so the default settings are what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_SHARED = REPO.parent / "shared"

# metric name in `ledger-bot eval --json`, label, target, whether higher is better
TARGETS = (
    ("hit_at_3", "hit@3", 0.90, True),
    ("coverage", "coverage", 0.70, True),
    ("abstention", "abstention", 0.80, True),
    ("false_refusal", "false refusal", 0.10, False),
)


@dataclass(frozen=True, slots=True)
class QuestionSet:
    name: str
    questions: Path
    corpus: Path


@dataclass(frozen=True, slots=True)
class EvalResult:
    question_set: QuestionSet
    counts: dict[str, int]
    metrics: dict[str, float | None]
    items: str


def console_script() -> Path:
    script = Path(sys.executable).with_name("ledger-bot")
    if not script.exists():
        sys.exit(f"{script} not found: install the project (pip install -e .) into this venv")
    return script


def run(command: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_BOT_")}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def evaluate(question_set: QuestionSet, work: Path, *, show_items: bool) -> EvalResult:
    script = str(console_script())
    db = work / f"{question_set.name}.db"
    run([script, "index", str(question_set.corpus), "--db", str(db), "--json"], work)
    output = json.loads(
        run([script, "eval", str(question_set.questions), "--db", str(db), "--json"], work)
    )
    items = ""
    if show_items:
        items = run(
            [script, "eval", str(question_set.questions), "--db", str(db), "--show-items"], work
        )
    return EvalResult(question_set, output["counts"], output["metrics"], items)


def shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def verdict(value: float | None, target: float, higher_is_better: bool) -> str:
    if value is None:
        return "n/a"
    gap = (value - target) * 100
    if (value >= target) if higher_is_better else (value <= target):
        return "met"
    return f"NOT met ({abs(gap):.1f} points {'short' if higher_is_better else 'over'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument(
        "--show-items", action="store_true", help="also print one line per question"
    )
    args = parser.parse_args()
    question_sets = (
        QuestionSet(
            "tigerbeetle-dev",
            args.shared / "eval" / "tigerbeetle-dev.jsonl",
            args.shared / "corpora" / "tigerbeetle-docs",
        ),
        QuestionSet(
            "sample_eval", REPO / "tests" / "data" / "sample_eval.jsonl", REPO / "sample-kb"
        ),
    )
    for question_set in question_sets:
        if not question_set.questions.exists() or not question_set.corpus.exists():
            sys.exit(f"{question_set.questions} or {question_set.corpus} not found")
    with tempfile.TemporaryDirectory(prefix="ledger-bot-answers-") as tmp:
        results = [evaluate(qs, Path(tmp), show_items=args.show_items) for qs in question_sets]

    print(
        f"Ledger Bot answer quality (extractive, default settings), {date.today()}, "
        f"Python {platform.python_version()}"
    )
    print()
    labels = " | ".join(label for _, label, _, _ in TARGETS)
    print(f"| question set | items (answerable / unanswerable) | {labels} |")
    print("|---|---|" + "---|" * len(TARGETS))
    for r in results:
        values = " | ".join(shown(r.metrics[key]) for key, _, _, _ in TARGETS)
        print(
            f"| {r.question_set.name} | {r.counts['items']} ({r.counts['answerable']} / "
            f"{r.counts['unanswerable']}) | {values} |"
        )
    targets = " | ".join(
        f"{'≥' if higher else '≤'} {target:.0%}" for _, _, target, higher in TARGETS
    )
    print(f"| target | | {targets} |")
    print()
    print("| question set | " + " | ".join(label for _, label, _, _ in TARGETS) + " |")
    print("|---|" + "---|" * len(TARGETS))
    for r in results:
        verdicts = " | ".join(
            verdict(r.metrics[key], target, higher) for key, _, target, higher in TARGETS
        )
        print(f"| {r.question_set.name} | {verdicts} |")
    for r in results:
        if r.items:
            print()
            print(f"Items of {r.question_set.name}:")
            print()
            print(r.items.rstrip())


if __name__ == "__main__":
    main()
