"""Speed and scale: indexing throughput, search latency, `ask` start-to-answer time, peak memory.

Usage: python bench/speed.py [--quick] [--shared ../shared]

Scale tiers are built by replicating real corpora into a temporary folder: N copies of the
TigerBeetle docs (``tigerbeetle_copy_017/docs/…``) and M copies of the SciFact corpus
(``scifact_copy_003.jsonl``, every ``_id`` suffixed with the copy number). Each copy gets a
copy-specific token appended to every document (``rc017``), so no two copies are identical.
Every tier is indexed in-process with ``index_paths`` into a fresh knowledge base, then searched
with ``kb.search(q, 5)`` for every SciFact test query and every TigerBeetle eval question, once
untimed (warm-up) and once timed: first by FTS5 alone (the in-memory index not built), then
after ``kb.build_search_index()`` (timed, with the index's size and the growth of this
process's resident memory), as a long-running process searches once it has built the index.
The two rankings are compared query by query.

The command line is timed as a user meets it: the real ``ledger-bot`` console script run as a
subprocess, from process start to exit. Each command is started by a small launcher process that
times it and reads its peak memory with ``getrusage(RUSAGE_CHILDREN).ru_maxrss``: a child's
``ru_maxrss`` starts from the RSS of the process that spawned it, so measured from this (large)
process every child would look as big as the benchmark itself (the launcher's own ~10 MiB is
the floor). ``LEDGER_BOT_*`` variables are removed from the children's environment and they run
in an empty folder (no ``.env``), so the defaults are what is measured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ledger_bot.indexer import index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_SHARED = REPO.parent / "shared"
SAMPLE_KB = REPO / "sample-kb"
SAMPLE_EVAL = REPO / "tests" / "data" / "sample_eval.jsonl"

TARGET_SEARCH_P95_MS = 20.0  # at about 100k chunks
TARGET_ASK_SECONDS = 1.0  # `ledger-bot ask` start to answer on the sample KB
ASK_RUNS = 20
SEARCH_LIMIT = 5
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})

# Runs argv[2:], then writes its exit code, wall time and peak RSS (KiB) as JSON to argv[1].
LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[2:])
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "seconds": seconds, "max_rss_kib": peak}, out)
"""


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    tigerbeetle_copies: int
    scifact_copies: int
    scifact_docs: int | None  # documents taken from each SciFact copy; None for all 5,183


# About 40 % TigerBeetle chunks and 60 % SciFact chunks in both tiers.
TIERS = (
    Tier("~5k chunks", tigerbeetle_copies=2, scifact_copies=1, scifact_docs=1800),
    Tier("~100k chunks", tigerbeetle_copies=40, scifact_copies=7, scifact_docs=None),
)


@dataclass(frozen=True, slots=True)
class TierResult:
    tier: Tier
    files: int
    documents: int
    chunks: int
    index_seconds: float
    fts_latencies_ms: list[float]
    latencies_ms: list[float]  # with the in-memory search index
    same_rankings: int  # queries whose hits (ids and scores) are the same both ways
    build_seconds: float
    index_mib: float  # the in-memory index's arrays
    rss_growth_mib: float  # resident memory of this process, after the build minus before
    max_rss_mib: float


@dataclass(frozen=True, slots=True)
class ChildRun:
    stdout: str
    seconds: float
    max_rss_mib: float


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with ``fraction`` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def child_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_BOT_")}


def run_child(command: Sequence[str], cwd: Path) -> ChildRun:
    """Run ``command`` to its end through the launcher: its output, wall time and peak RSS."""
    with tempfile.NamedTemporaryFile(suffix=".json") as figures:
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, figures.name, *command],
            cwd=cwd,
            env=child_environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        measured = json.loads(Path(figures.name).read_text() or "{}")
    if done.returncode != 0 or measured.get("code") != 0:
        sys.exit(f"{' '.join(command)} exited {done.returncode}: {done.stderr}")
    return ChildRun(done.stdout, measured["seconds"], measured["max_rss_kib"] / 1024)


def console_script() -> Path:
    script = Path(sys.executable).with_name("ledger-bot")
    if not script.exists():
        sys.exit(f"{script} not found: install the project (pip install -e .) into this venv")
    return script


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_queries(shared: Path) -> list[str]:
    """SciFact queries, then TigerBeetle eval questions (the last turn of a multi-turn item)."""
    queries = [str(record["text"]) for record in read_jsonl(shared / "bench/scifact/queries.jsonl")]
    for record in read_jsonl(shared / "eval/tigerbeetle-dev.jsonl"):
        if "turns" in record:
            turns = record["turns"]
            assert isinstance(turns, list)
            queries.append(str(turns[-1]["question"]))
        else:
            queries.append(str(record["question"]))
    return queries


def replicate(
    tier: Tier,
    tigerbeetle: Sequence[tuple[Path, bytes]],
    scifact: Sequence[dict[str, object]],
    dest: Path,
) -> int:
    """Write the tier's copies of both corpora under ``dest``; the number of files written."""
    files = 0
    for copy in range(tier.tigerbeetle_copies):
        token = f"rc{copy:03d}"
        for relpath, data in tigerbeetle:
            target = dest / f"tigerbeetle_copy_{copy:03d}" / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            if relpath.suffix in TEXT_SUFFIXES:
                data = data.rstrip(b"\n") + f"\n\n{token}\n".encode()
            target.write_bytes(data)
            files += 1
    records = scifact[: tier.scifact_docs] if tier.scifact_docs else scifact
    for copy in range(tier.scifact_copies):
        token = f"rc{copy:03d}"
        with (dest / f"scifact_copy_{copy:03d}.jsonl").open("w", encoding="utf-8") as out:
            for record in records:
                varied = {
                    "_id": f"{record['_id']}-{token}",
                    "title": record["title"],
                    "text": f"{record['text']} {token}",
                }
                out.write(json.dumps(varied, ensure_ascii=False) + "\n")
        files += 1
    return files


def time_searches(
    kb: SqliteKnowledgeBase, queries: Iterable[str]
) -> tuple[list[float], list[list[tuple[int, float]]]]:
    latencies = []
    rankings = []
    for query in queries:
        started = time.perf_counter_ns()
        hits = kb.search(query, SEARCH_LIMIT)
        latencies.append((time.perf_counter_ns() - started) / 1e6)
        rankings.append([(hit.chunk_id, hit.score) for hit in hits])
    return latencies, rankings


def current_rss_mib() -> float:
    """Resident memory of this process now (not the peak), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def bench_tier(
    tier: Tier,
    tigerbeetle: Sequence[tuple[Path, bytes]],
    scifact: Sequence[dict[str, object]],
    queries: Sequence[str],
    work: Path,
) -> TierResult:
    corpus = work / "corpus"
    files = replicate(tier, tigerbeetle, scifact, corpus)
    kb = SqliteKnowledgeBase.open(work / "kb.db", create=True)
    report = index_paths(kb, [corpus], chunk_chars=1200)
    if report.failed:
        sys.exit(f"indexing {tier.name} failed: {report.failed[:3]}")
    kb.close()
    # A fresh handle, as a restarted bot would have; the warm-up pass fills the page cache.
    # FTS5 alone first: the in-memory index is built only when asked for below.
    kb = SqliteKnowledgeBase.open(work / "kb.db", build_search_index_after=None)
    documents = kb.stats().documents
    time_searches(kb, queries)
    fts_latencies, fts_rankings = time_searches(kb, queries)
    rss_before = current_rss_mib()
    started = time.perf_counter()
    index = kb.build_search_index()
    build_seconds = time.perf_counter() - started
    rss_growth = current_rss_mib() - rss_before
    time_searches(kb, queries)
    latencies, rankings = time_searches(kb, queries)
    kb.close()
    return TierResult(
        tier=tier,
        files=files,
        documents=documents,
        chunks=report.chunks_written,
        index_seconds=report.seconds,
        fts_latencies_ms=fts_latencies,
        latencies_ms=latencies,
        same_rankings=sum(a == b for a, b in zip(fts_rankings, rankings, strict=True)),
        build_seconds=build_seconds,
        index_mib=index.nbytes / 2**20,
        rss_growth_mib=rss_growth,
        max_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def sample_questions() -> list[str]:
    questions = []
    for record in read_jsonl(SAMPLE_EVAL):
        if isinstance(record.get("question"), str):
            questions.append(str(record["question"]))
    return questions


def verdict(measured: float, target: float) -> str:
    if measured <= target:
        return f"met ({measured / target:.0%} of target)"
    return f"NOT met ({measured / target:.1f}× target)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--quick", action="store_true", help="skip the ~100k-chunk tier")
    args = parser.parse_args()
    tigerbeetle_root = args.shared / "corpora" / "tigerbeetle-docs"
    scifact_path = args.shared / "bench" / "scifact" / "corpus.jsonl"
    if not tigerbeetle_root.is_dir() or not scifact_path.exists():
        sys.exit(f"corpora not found under {args.shared}")
    tigerbeetle = [
        (path.relative_to(tigerbeetle_root), path.read_bytes())
        for path in sorted(tigerbeetle_root.rglob("*"))
        if path.is_file()
    ]
    scifact = read_jsonl(scifact_path)
    queries = load_queries(args.shared)
    tiers = TIERS[:1] if args.quick else TIERS
    script = str(console_script())

    with tempfile.TemporaryDirectory(prefix="ledger-bot-speed-") as tmp:
        work = Path(tmp)
        results = []
        for number, tier in enumerate(tiers):
            tier_dir = work / f"tier{number}"
            tier_dir.mkdir()
            results.append(bench_tier(tier, tigerbeetle, scifact, queries, tier_dir))

        # The command line, as a subprocess: index the first tier's folder and the sample KB.
        cwd = work / "cwd"
        cwd.mkdir()
        tier_index = run_child(
            [script, "index", str(work / "tier0" / "corpus"), "--db", str(work / "cli.db")], cwd
        )
        sample_db = work / "sample.db"
        sample_index = run_child(
            [script, "index", str(SAMPLE_KB), "--db", str(sample_db), "--json"], cwd
        )
        sample_chunks = json.loads(sample_index.stdout)["chunks_written"]
        questions = sample_questions()
        cold = run_child([script, "ask", questions[0], "--db", str(sample_db)], cwd)
        asks = [
            run_child([script, "ask", questions[i % len(questions)], "--db", str(sample_db)], cwd)
            for i in range(ASK_RUNS)
        ]

    ask_seconds = [run.seconds for run in asks]
    ask_p95 = percentile(ask_seconds, 0.95)
    largest = results[-1]
    search_p95 = percentile(largest.latencies_ms, 0.95)

    print(
        f"Ledger Bot speed and scale, {date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    print()
    print("Indexing (in-process `index_paths`, chunk_chars=1200, one transaction)")
    print()
    print("| tier | files | documents | chunks | index (s) | chunks/s | docs/s |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.tier.name} ({r.tier.tigerbeetle_copies}× TigerBeetle docs + "
            f"{r.tier.scifact_copies}× SciFact"
            f"{f' first {r.tier.scifact_docs:,} docs' if r.tier.scifact_docs else ''}) | "
            f"{r.files:,} | {r.documents:,} | {r.chunks:,} | {r.index_seconds:.2f} | "
            f"{r.chunks / r.index_seconds:,.0f} | {r.documents / r.index_seconds:,.0f} |"
        )
    print()
    print(
        f"Search latency (in-process `kb.search(q, {SEARCH_LIMIT})`, {len(queries)} queries: "
        "SciFact test queries + TigerBeetle eval questions, after one warm-up pass; FTS5 "
        "alone, then with the in-memory index)"
    )
    print()
    print(
        "| tier | chunks | ranking by | p50 (ms) | p95 (ms) | max (ms) | mean (ms) "
        "| same hits as FTS5 | target p95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        target = f"≤ {TARGET_SEARCH_P95_MS:.0f} ms" if r is largest and not args.quick else ""
        for label, values, same in (
            ("FTS5 bm25()", r.fts_latencies_ms, ""),
            ("in-memory index", r.latencies_ms, f"{r.same_rankings} / {len(queries)}"),
        ):
            print(
                f"| {r.tier.name} | {r.chunks:,} | {label} | {percentile(values, 0.5):.2f} | "
                f"{percentile(values, 0.95):.2f} | {max(values):.2f} | "
                f"{sum(values) / len(values):.2f} | {same} | {target} |"
            )
    print()
    print("Building the in-memory index (`kb.build_search_index()`, in-process)")
    print()
    print("| tier | chunks | build (s) | index arrays (MiB) | resident memory growth (MiB) |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.tier.name} | {r.chunks:,} | {r.build_seconds:.2f} | {r.index_mib:.1f} | "
            f"{r.rss_growth_mib:.1f} |"
        )
    print()
    print(
        f"`ledger-bot ask` start to answer (console script subprocess, sample KB of "
        f"{sample_chunks} chunks, {ASK_RUNS} runs after one cold run, {len(questions)} "
        "questions in turn)"
    )
    print()
    print("| cold run (s) | p50 (s) | p95 (s) | max (s) | target |")
    print("|---|---|---|---|---|")
    print(
        f"| {cold.seconds:.3f} | {percentile(ask_seconds, 0.5):.3f} | {ask_p95:.3f} | "
        f"{max(ask_seconds):.3f} | ≤ {TARGET_ASK_SECONDS:.0f} s |"
    )
    print()
    print("Peak memory (max RSS)")
    print()
    print("| process | wall (s) | max RSS (MiB) |")
    print("|---|---|---|")
    print(
        f"| `ledger-bot index` {results[0].tier.name} folder ({results[0].chunks:,} chunks) | "
        f"{tier_index.seconds:.2f} | {tier_index.max_rss_mib:.1f} |"
    )
    print(
        f"| `ledger-bot index sample-kb` ({sample_chunks} chunks) | {sample_index.seconds:.2f} | "
        f"{sample_index.max_rss_mib:.1f} |"
    )
    print(
        f"| `ledger-bot ask` (largest of {ASK_RUNS + 1} runs) | "
        f"{max(run.seconds for run in [cold, *asks]):.2f} | "
        f"{max(run.max_rss_mib for run in [cold, *asks]):.1f} |"
    )
    print(
        f"| this benchmark process, after the {largest.tier.name} tier (in-process) | | "
        f"{largest.max_rss_mib:.1f} |"
    )
    print()
    print("Targets")
    print()
    print("| target | measured | verdict |")
    print("|---|---|---|")
    if args.quick:
        print(
            f"| search p95 ≤ {TARGET_SEARCH_P95_MS:.0f} ms at ~100k chunks | "
            "not run (--quick) | – |"
        )
    else:
        print(
            f"| search p95 ≤ {TARGET_SEARCH_P95_MS:.0f} ms at ~100k chunks | "
            f"{search_p95:.2f} ms at {largest.chunks:,} chunks | "
            f"{verdict(search_p95, TARGET_SEARCH_P95_MS)} |"
        )
    print(
        f"| `ask` end to end ≤ {TARGET_ASK_SECONDS:.0f} s on the sample KB (p95) | "
        f"{ask_p95:.3f} s | {verdict(ask_p95, TARGET_ASK_SECONDS)} |"
    )


if __name__ == "__main__":
    main()
