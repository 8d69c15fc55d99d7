"""Serving: questions per second, per-question latency and memory of a long-running `serve`.

Usage: python bench/serve.py [--questions 1000] [--soak 10000]

Runs the real bot (``python -m ledger_bot serve``) as a subprocess with its standard input and
output as pipes, so the console adapter reads one question per line and writes one JSON answer
per line; every question goes through the whole pipeline (validation, redaction, rate limits,
with the limits lifted, the question log in SQLite, metrics, the extractive answerer). The
knowledge base is a fresh one indexed from ``sample-kb/`` at start. The questions are those of
``tests/data/sample_eval.jsonl`` (the last turn of a multi-turn item), cycled.

In one process, in this order:

1. start-up: from process start to the answer of one warm-up question;
2. closed loop: ``--questions`` questions one at a time (write a line, read its answer), each
   timed from write to read; then VmRSS from ``/proc/<pid>/status``;
3. piped: ``--questions`` questions written at once by a writer thread while the answers are
   read, timed from the first question written to the last answer read;
4. soak: more piped batches until ``--soak`` questions are answered in all; VmRSS after each
   batch, and VmHWM (peak RSS) just before the end of input.

Memory growth is VmRSS after the soak against VmRSS after the closed loop. The children run in
an empty folder with ``LEDGER_BOT_*`` and ``SLACK_*`` variables removed, so only the settings
set here apply.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SAMPLE_KB = REPO / "sample-kb"
SAMPLE_EVAL = REPO / "tests" / "data" / "sample_eval.jsonl"
SERVE = [sys.executable, "-m", "ledger_bot", "serve"]

TARGET_MEMORY_GROWTH = 0.10  # VmRSS after the soak vs after the first batch: no leak
# Not service-level objectives: the brief's "a few ms per answer" (profile above this) and
# "10k questions well under a minute".
LATENCY_BUDGET_MS = 20.0
SOAK_BUDGET_SECONDS = 60.0


@dataclass
class Bot:
    """The running ``serve`` process and what it has answered so far."""

    process: subprocess.Popen[str]
    answered: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    request_ids: set[str] = field(default_factory=set)

    @property
    def stdin(self) -> IO[str]:
        assert self.process.stdin is not None
        return self.process.stdin

    def read_answer(self, question: str) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"serve stopped after {self.answered} answers (exit {self.process.wait()})")
        record = json.loads(line)
        if record.get("question") != question:
            sys.exit(f"answer {self.answered} is for {record.get('question')!r}, not {question!r}")
        self.answered += 1
        self.outcomes[str(record["outcome"])] += 1
        self.request_ids.add(str(record["request_id"]))

    def status_kib(self, key: str) -> int:
        """A ``VmRSS``/``VmHWM`` line of ``/proc/<pid>/status``, in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class SoakPoint:
    answered: int
    questions_per_second: float
    rss_kib: int


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with ``fraction`` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def load_questions() -> list[str]:
    questions = []
    with SAMPLE_EVAL.open(encoding="utf-8") as handle:
        for record in map(json.loads, filter(str.strip, handle)):
            if "turns" in record:
                questions.append(str(record["turns"][-1]["question"]))
            else:
                questions.append(str(record["question"]))
    return questions


def child_environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_BOT_", "SLACK_"))}
    env.update(
        LEDGER_BOT_DB=str(work / "kb.db"),
        LEDGER_BOT_SOURCES=str(SAMPLE_KB),
        LEDGER_BOT_HOST="127.0.0.1",
        LEDGER_BOT_PORT="0",
        LEDGER_BOT_LOG_FORMAT="json",
        LEDGER_BOT_USER_RATE_PER_MINUTE="0",
        LEDGER_BOT_CHANNEL_RATE_PER_MINUTE="0",
        LEDGER_BOT_GLOBAL_RATE_PER_MINUTE="0",
    )
    return env


def closed_loop(bot: Bot, questions: Sequence[str]) -> list[float]:
    """Ask one question at a time; each one's write-to-answer time in ms."""
    latencies = []
    for question in questions:
        started = time.perf_counter_ns()
        bot.stdin.write(question + "\n")
        bot.stdin.flush()
        bot.read_answer(question)
        latencies.append((time.perf_counter_ns() - started) / 1e6)
    return latencies


def piped(bot: Bot, questions: Sequence[str]) -> float:
    """Write all questions at once (from a thread) while reading the answers; wall seconds."""

    def write_all() -> None:
        bot.stdin.write("".join(question + "\n" for question in questions))
        bot.stdin.flush()

    writer = threading.Thread(target=write_all)
    started = time.perf_counter()
    writer.start()
    for question in questions:
        bot.read_answer(question)
    seconds = time.perf_counter() - started
    writer.join()
    return seconds


def service_latencies(log_path: Path) -> list[float]:
    """The ``latency_ms`` the service itself logged for each question (JSON logs on stderr)."""
    latencies = []
    with log_path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "latency_ms" in record:
                latencies.append(float(record["latency_ms"]))
    return latencies


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def verdict(measured: float, target: float) -> str:
    if measured <= target:
        return f"met ({measured / target:.0%} of target)"
    return f"NOT met ({measured / target:.1f}× target)"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1000, help="closed-loop and piped batch")
    parser.add_argument("--soak", type=int, default=10_000, help="questions answered in all")
    args = parser.parse_args()
    if args.questions < 1 or args.soak < 2 * args.questions:
        sys.exit("need --questions ≥ 1 and --soak ≥ 2 × --questions")
    if not sys.platform.startswith("linux"):
        sys.exit("reads /proc/<pid>/status: Linux only")
    pool = load_questions()
    asked = 0

    def next_questions(count: int) -> list[str]:
        nonlocal asked
        batch = [pool[(asked + i) % len(pool)] for i in range(count)]
        asked += count
        return batch

    with tempfile.TemporaryDirectory(prefix="ledger-bot-serve-") as tmp:
        work = Path(tmp)
        cwd = work / "cwd"
        cwd.mkdir()
        log_path = work / "serve.log"
        with log_path.open("w", encoding="utf-8") as log:
            started = time.perf_counter()
            process = subprocess.Popen(
                SERVE,
                cwd=cwd,
                env=child_environment(work),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                encoding="utf-8",
            )
            bot = Bot(process)
            try:
                warm_up = pool[-1]
                bot.stdin.write(warm_up + "\n")
                bot.stdin.flush()
                bot.read_answer(warm_up)
                startup_seconds = time.perf_counter() - started
                rss_warm = bot.status_kib("VmRSS")

                latencies = closed_loop(bot, next_questions(args.questions))
                closed_answered = bot.answered
                rss_first = bot.status_kib("VmRSS")

                piped_seconds = piped(bot, next_questions(args.questions))
                piped_total = (args.questions, piped_seconds)
                soak = [
                    SoakPoint(bot.answered, args.questions / piped_seconds, bot.status_kib("VmRSS"))
                ]
                while bot.answered - 1 < args.soak:
                    count = min(args.questions, args.soak - (bot.answered - 1))
                    seconds = piped(bot, next_questions(count))
                    soak.append(SoakPoint(bot.answered, count / seconds, bot.status_kib("VmRSS")))
                    piped_total = (piped_total[0] + count, piped_total[1] + seconds)
                peak = bot.status_kib("VmHWM")

                bot.stdin.close()
                exit_code = process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if exit_code != 0:
            sys.exit(f"serve exited {exit_code}: {log_path.read_text()[-2000:]}")
        logged = service_latencies(log_path)

    rss_last = soak[-1].rss_kib
    growth = (rss_last - rss_first) / rss_first
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    closed_seconds = sum(latencies) / 1000
    piped_qps = args.questions / piped_seconds
    soak_qps = piped_total[0] / piped_total[1]
    cpus = len(os.sched_getaffinity(0))

    print(
        f"Ledger Bot `serve` (console adapter, stdin mode), {datetime.now():%Y-%m-%d %H:%M}, "
        f"{cpu_model()}, nproc {cpus}, {platform.machine()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    print()
    print(
        f"Knowledge base: `sample-kb/` indexed at start; {len(pool)} questions from "
        f"`tests/data/sample_eval.jsonl` cycled; rate limits off; question log in SQLite."
    )
    print()
    print("| measure | questions | wall (s) | questions/s | p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| start-up to first answer | 1 | {startup_seconds:.2f} | | | | |")
    print(
        f"| closed loop (one at a time, write → answer) | {len(latencies):,} | "
        f"{closed_seconds:.2f} | {len(latencies) / closed_seconds:,.0f} | {p50:.2f} | "
        f"{p95:.2f} | {max(latencies):.2f} |"
    )
    print(
        f"| piped (all written at once) | {args.questions:,} | {piped_seconds:.2f} | "
        f"{piped_qps:,.0f} | | | |"
    )
    if logged:
        print(
            f"| service-side `latency_ms` (from the logs, all questions) | {len(logged):,} | | | "
            f"{percentile(logged, 0.5):.2f} | {percentile(logged, 0.95):.2f} | "
            f"{max(logged):.2f} |"
        )
    print()
    print(
        f"Soak: piped batches of {args.questions:,} in the same process "
        f"({piped_total[0]:,} questions in {piped_total[1]:.1f} s, {soak_qps:,.0f} questions/s)"
    )
    print()
    print("| questions answered | batch questions/s | VmRSS (MiB) |")
    print("|---|---|---|")
    print(f"| 1 (warm-up) | | {mib(rss_warm)} |")
    print(f"| {closed_answered:,} (after the closed loop) | | {mib(rss_first)} |")
    for point in soak:
        print(f"| {point.answered:,} | {point.questions_per_second:,.0f} | {mib(point.rss_kib)} |")
    print()
    outcomes = ", ".join(f"{name} {count:,}" for name, count in bot.outcomes.most_common())
    print(
        f"Peak RSS (VmHWM before end of input): {mib(peak)} MiB. Exit code {exit_code}. "
        f"Outcomes: {outcomes}; {len(bot.request_ids):,} distinct request ids."
    )
    print()
    print("| target | measured | verdict |")
    print("|---|---|---|")
    print(
        f"| memory growth {closed_answered:,} → {soak[-1].answered:,} questions "
        f"< {TARGET_MEMORY_GROWTH:.0%} | {mib(rss_first)} → {mib(rss_last)} MiB ({growth:+.1%}) | "
        f"{verdict(max(growth, 0.0), TARGET_MEMORY_GROWTH)} |"
    )
    print(
        f"| closed-loop p95 ≤ {LATENCY_BUDGET_MS:.0f} ms (budget, not an SLO) | {p95:.2f} ms | "
        f"{verdict(p95, LATENCY_BUDGET_MS)} |"
    )
    print(
        f"| {args.soak:,} questions piped in ≤ {SOAK_BUDGET_SECONDS:.0f} s (budget, not an SLO) | "
        f"{args.soak / soak_qps:.1f} s at the soak's piped rate | "
        f"{verdict(args.soak / soak_qps, SOAK_BUDGET_SECONDS)} |"
    )


if __name__ == "__main__":
    main()
