"""How long an asker waits when the language model is healthy, slow, failing or shut off.

Usage: python bench/llm_fallback.py [--questions N]

Each scenario puts N questions about the sample knowledge base through the whole pipeline
(``LedgerBotService.handle``: validation, rate limits off, retrieval, the answerer, the question
log) with the default language-model settings (first-token timeout 4 s, total 20 s, two SDK
retries, breaker after 3 failures), against the fake OpenAI server of ``tests/fake_llm`` driven
by the real ``openai`` SDK. It prints, per scenario, how the answers were made and the p50, p95
and max time to the answer. The 5-second objective applies to every row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fake_llm import FakeOpenAI, Fault, RecordedRequest, Reply, Scripted, Stall  # noqa: E402

from ledger_bot.indexer import index_paths  # noqa: E402
from ledger_bot.knowledge_base import SqliteKnowledgeBase  # noqa: E402
from ledger_bot.metrics import Metrics  # noqa: E402
from ledger_bot.service import LedgerBotService, QuestionRequest, build_answerer  # noqa: E402
from ledger_bot.settings import load_settings  # noqa: E402
from ledger_bot.state import SqliteStateStore  # noqa: E402

TARGET_SECONDS = 5.0
ANSWER = "Post a reversing entry with the reversal endpoint [1]. Reuse the idempotency key [1]."
WORDS = "reversal reversing entry on-call escalation page local development"
# Questions in other words than the sample documents': their passages carry too little of
# them, so the model is first asked for the documents' words (LEDGER_BOT_LLM_REWRITE_BELOW).
OTHER_WORDS = [
    "How do I nuke a bogus booking?",
    "who do I ping when stuff is on fire at 3am?",
    "is there a sandbox to play with?",
]


def healthy(request: RecordedRequest) -> Scripted:
    if "search words" in json.dumps(request.json):  # asked for the documents' words first
        return Reply(WORDS, first_token_delay=0.3, input_tokens=120, output_tokens=12)
    return Reply(ANSWER, first_token_delay=0.3, chunk_delay=0.05, input_tokens=900)


def stalled(_: RecordedRequest) -> Scripted:
    return Stall(30)


def failing(_: RecordedRequest) -> Scripted:
    return Fault(503)


def rate_limited(_: RecordedRequest) -> Scripted:
    return Fault(429, retry_after=1)


def questions() -> list[str]:
    items = [json.loads(line) for line in (REPO / "tests/data/sample_eval.jsonl").open()]
    return [item["question"] for item in items if item.get("answerable") and "question" in item]


def other_words() -> list[str]:
    return OTHER_WORDS


SCENARIOS: list[tuple[str, Callable[[RecordedRequest], Scripted], Callable[[], list[str]]]] = [
    ("healthy model (first words after 0.3 s)", healthy, questions),
    ("healthy model, questions in other words (searched again)", healthy, other_words),
    ("model stalls (no first words)", stalled, questions),
    ("model answers 503 (retried, then breaker)", failing, questions),
    ("model answers 429 Retry-After 1 s", rate_limited, questions),
]


async def run(
    scenario: Callable[[RecordedRequest], Scripted], asked: list[str], n: int, db: Path
) -> list[tuple[float, str]]:
    async with FakeOpenAI() as server:
        server.responder = scenario
        settings = load_settings(
            db=db,
            llm_provider="openai",
            llm_model="gpt-bench",
            llm_base_url=server.base_url,
            llm_api_key="sk-bench",
            user_rate_per_minute=0,
            channel_rate_per_minute=0,
            global_rate_per_minute=0,
        )
        with tempfile.TemporaryDirectory() as state_dir:
            state = SqliteStateStore(Path(state_dir) / "state.db")
            await state.open()
            kb = SqliteKnowledgeBase.open(db)
            metrics = Metrics()
            answerer = build_answerer(settings, kb, metrics, state)
            service = LedgerBotService(settings, kb, answerer, state=state, metrics=metrics)
            results = []
            try:
                for question in (asked * n)[:n]:
                    started = time.perf_counter()
                    outcome = await service.handle(
                        QuestionRequest(
                            text=question, user="U0BENCH", channel="C0BENCH", surface="slack"
                        )
                    )
                    seconds = time.perf_counter() - started
                    answer = outcome.answer
                    how = (
                        "none"
                        if answer is None
                        else (
                            f"fallback:{answer.fallback_reason}"
                            if answer.fallback_reason
                            else answer.mode
                        )
                    )
                    results.append((seconds, how))
            finally:
                await service.close()
            return results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "OPENAI_API_KEY"):
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "knowledge.db"
        kb = SqliteKnowledgeBase.open(db, create=True)
        index_paths(kb, [REPO / "sample-kb"])
        kb.close()
        print(
            f"# LLM fallback latency — {date.today()}, {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}"
        )
        print()
        print(
            "| scenario | questions | answers | p50 s | p95 s | max s "
            f"| p95 ≤ {TARGET_SECONDS:g} s |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, scenario, asked in SCENARIOS:
            results = await run(scenario, asked(), args.questions, db)
            times = [seconds for seconds, _ in results]
            kinds = ", ".join(
                f"{kind} {count}" for kind, count in Counter(k for _, k in results).most_common()
            )
            p95 = percentile(times, 0.95)
            print(
                f"| {name} | {len(results)} | {kinds} | {statistics.median(times):.2f} | {p95:.2f} "
                f"| {max(times):.2f} | {'met' if p95 <= TARGET_SECONDS else 'NOT met'} |"
            )


if __name__ == "__main__":
    asyncio.run(main())
