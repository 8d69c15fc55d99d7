"""Retrieval quality on BEIR SciFact: nDCG@10 and Recall@100 of `ledger-bot search --batch`.

Usage: python bench/scifact.py [--data ../shared/bench/scifact]

Indexes the corpus into a fresh knowledge base, runs the test queries through the real CLI
(`ledger-bot search --batch`), and scores the ranked lists against the qrels with the standard
definitions (binary-graded here, as SciFact's qrels are all 1; gain = relevance).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "bench" / "scifact"
CLI = [sys.executable, "-m", "ledger_bot"]


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with path.open() as handle:
        next(handle)
        for line in handle:
            query_id, doc_id, score = line.split("\t")
            qrels[query_id][doc_id] = int(score)
    return qrels


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    hits = sum(1 for doc in ranked[:k] if relevant.get(doc, 0) > 0)
    return hits / sum(1 for v in relevant.values() if v > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not (args.data / "corpus.jsonl").exists():
        sys.exit(f"SciFact not found at {args.data}")
    qrels = load_qrels(args.data / "qrels" / "test.tsv")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "scifact.db"
        queries = Path(tmp) / "queries.jsonl"
        with queries.open("w") as out:
            for line in (args.data / "queries.jsonl").open():
                if json.loads(line)["_id"] in qrels:
                    out.write(line)
        started = time.perf_counter()
        subprocess.run(
            [*CLI, "index", str(args.data / "corpus.jsonl"), "--db", str(db), "--json"],
            check=True,
            capture_output=True,
        )
        index_seconds = time.perf_counter() - started
        started = time.perf_counter()
        output = subprocess.run(
            [*CLI, "search", "--batch", str(queries), "--db", str(db), "--limit", "100"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        search_seconds = time.perf_counter() - started
    runs = {
        row["id"]: [hit["source"] for hit in row["hits"]]
        for row in map(json.loads, output.splitlines())
    }
    ndcg = sum(ndcg_at(runs.get(q, []), rel, 10) for q, rel in qrels.items()) / len(qrels)
    recall = sum(recall_at(runs.get(q, []), rel, 100) for q, rel in qrels.items()) / len(qrels)
    print(f"BEIR SciFact test ({len(qrels)} queries), {date.today()}, {platform.machine()}")
    print()
    print("| system | nDCG@10 | Recall@100 | index (s) | batch search (s) |")
    print("|---|---|---|---|---|")
    print(
        f"| ledger-bot search --batch | {ndcg:.4f} | {recall:.4f} | "
        f"{index_seconds:.2f} | {search_seconds:.2f} |"
    )
    print("| Pyserini BM25 flat (published) | 0.6789 | 0.9253 | | |")


if __name__ == "__main__":
    main()
