"""PRODUCTION_READINESS.md and the operations docs point only at things that exist.

Every path and every ``tests/…::test`` the checklist names exists; the deployment guide, the
runbook, the SLOs and the security notes name only real files, settings, metrics and alerts;
their links resolve; their PromQL is valid; and the runbook has a section for every alert.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from ledger_bot.metrics import Metrics
from tests.conftest import REPO

CHECKLIST = REPO / "PRODUCTION_READINESS.md"
DOCS = REPO / "docs"
OPS_DOCS = tuple(DOCS / name for name in ("deployment.md", "runbook.md", "slo.md", "security.md"))
DOCUMENTS = (CHECKLIST, *OPS_DOCS)
RUNBOOK = DOCS / "runbook.md"
SLO = DOCS / "slo.md"
RULES_FILE = REPO / "deploy" / "prometheus" / "ledger-bot.rules.yaml"

# Backticked text that names a file of the repository.
PATH_ROOTS = (
    ".ci/",
    ".github/",
    "bench/",
    "deploy/",
    "docs/",
    "sample-kb/",
    "scripts/",
    "slack/",
    "src/",
    "tests/",
)
TOP_FILES = {"Dockerfile", ".dockerignore", "pyproject.toml", "README.md", "CHANGELOG.md"}
BACKTICKED = re.compile(r"`([^`\s]+)`")
TEST_REFERENCE = re.compile(r"^(tests/[\w/]+\.py)((?:::\w+)+)(?:\[[^\]]*\])?$")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def is_repo_path(token: str) -> bool:
    if any(mark in token for mark in "<>*…$"):
        return False
    return token in TOP_FILES or token.startswith(PATH_ROOTS)


def backticked_paths(path: Path) -> list[str]:
    return [
        token.split("#", 1)[0]
        for token in BACKTICKED.findall(text(path))
        if "::" not in token and is_repo_path(token)
    ]


def cited_tests(path: Path) -> list[str]:
    return [token for token in BACKTICKED.findall(text(path)) if "::" in token and "<" not in token]


@cache
def defined_names(module: Path) -> frozenset[str]:
    """``name`` and ``Class::name`` for every function and class of a test module."""
    tree = ast.parse(text(module))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return frozenset(names)


def checklist_items() -> list[tuple[bool, str]]:
    """Each item of the checklist, ticked or not, with its text (continuation lines joined)."""
    items: list[tuple[bool, str]] = []
    for line in text(CHECKLIST).splitlines():
        started = re.match(r"- \[([ x])\] (.*)", line)
        if started:
            items.append((started[1] == "x", started[2]))
        elif items and line.startswith("  "):
            ticked, body = items[-1]
            items[-1] = (ticked, f"{body} {line.strip()}")
    return items


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors for the Markdown headings of ``path`` (fenced code left out)."""
    anchors = set()
    in_fence = False
    for line in text(path).splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and (heading := re.match(r"#{1,6} (.*)", line)):
            slug = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def alert_names() -> list[str]:
    rules = yaml.safe_load(text(RULES_FILE))
    return [
        rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule
    ]


def exported_metric_names() -> set[str]:
    """Every metric family Ledger Bot exposes, and each of its samples' names."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "info": ("_info",),
    }
    return {
        family.name + suffix
        for family in Metrics().registry.collect()
        for suffix in ("", *suffixes[family.type])
    }


def promql_expressions(path: Path) -> list[str]:
    """The expressions of the ```promql blocks of ``path``: comment and blank lines divide."""
    expressions = []
    for block in re.findall(r"```promql\n(.*?)```", text(path), re.DOTALL):
        current: list[str] = []
        for line in [*block.splitlines(), ""]:
            if line.strip() and not line.lstrip().startswith("#"):
                current.append(line)
            elif current:
                expressions.append("\n".join(current))
                current = []
    return expressions


# -- the checklist -------------------------------------------------------------------------


def test_checklist_has_ticked_and_unticked_items() -> None:
    ticks = [ticked for ticked, _ in checklist_items()]
    assert ticks.count(True) >= 20
    assert ticks.count(False) >= 1


def test_every_path_in_the_checklist_exists() -> None:
    paths = backticked_paths(CHECKLIST)
    assert paths
    missing = [path for path in paths if not (REPO / path).exists()]
    assert missing == []


def test_every_test_in_the_checklist_exists() -> None:
    references = cited_tests(CHECKLIST)
    assert len(references) >= 40
    missing = []
    for reference in references:
        found = TEST_REFERENCE.match(reference)
        assert found, f"not a tests/<file>.py::<name> reference: {reference}"
        module, name = REPO / found[1], found[2].removeprefix("::")
        if not module.is_file() or name not in defined_names(module):
            missing.append(reference)
    assert missing == []


def test_every_ticked_item_names_a_file_that_proves_it() -> None:
    for ticked, body in checklist_items():
        if ticked:
            named = [token for token in BACKTICKED.findall(body) if is_repo_path(token)]
            assert named, f"ticked without a file or test: {body[:60]}"


def test_every_unticked_item_says_why_it_is_not_done() -> None:
    for ticked, body in checklist_items():
        if not ticked:
            assert "Not done" in body, f"unticked without a reason: {body[:60]}"


# -- the operations docs -------------------------------------------------------------------


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda path: path.name)
def test_docs_name_only_files_that_exist(doc: Path) -> None:
    missing = [path for path in backticked_paths(doc) if not (REPO / path).exists()]
    assert missing == []


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda path: path.name)
def test_docs_link_only_to_files_and_headings_that_exist(doc: Path) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text(doc)):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists() or (anchor and anchor not in heading_anchors(linked)):
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("doc", OPS_DOCS, ids=lambda path: path.name)
def test_ops_docs_name_only_real_settings(doc: Path) -> None:
    settings = set(re.findall(r"^\| `(\w+)` \|", text(DOCS / "configuration.md"), re.MULTILINE))
    named = {
        name
        for name in re.findall(r"\bLEDGER_BOT_[A-Z0-9_]+", text(doc))
        if not name.endswith("_")  # a prefix, as in LEDGER_BOT_LLM_*
    }
    assert named - settings == set()


@pytest.mark.parametrize("doc", OPS_DOCS, ids=lambda path: path.name)
def test_ops_docs_name_only_exported_metrics(doc: Path) -> None:
    named = set(re.findall(r"\bledger_bot_[a-z0-9_]*[a-z0-9]", text(doc)))
    assert named - exported_metric_names() == set()


def test_runbook_has_a_section_for_every_alert() -> None:
    anchors = heading_anchors(RUNBOOK)
    rows = dict(re.findall(r"^\| `(LedgerBot\w+)` \|[^\n]*?\]\(#([\w-]+)\)", text(RUNBOOK), re.M))
    assert sorted(rows) == sorted(alert_names())
    assert {alert: anchor for alert, anchor in rows.items() if anchor not in anchors} == {}


def test_slo_doc_relates_every_alert() -> None:
    related = re.findall(r"^\| `(LedgerBot\w+)` \|", text(SLO), re.MULTILINE)
    assert sorted(related) == sorted(alert_names())


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda path: path.name)
def test_docs_name_only_real_alerts(doc: Path) -> None:
    assert set(re.findall(r"\bLedgerBot[A-Z]\w+", text(doc))) - set(alert_names()) == set()


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is not None:
        return found
    if os.environ.get("CI") or (hasattr(os, "geteuid") and os.geteuid() == 0):
        pytest.fail("promtool is required: apt-get install prometheus (scripts/test does it)")
    pytest.skip("promtool not installed (apt-get install prometheus, as root)")


@pytest.mark.parametrize("doc", [SLO, RUNBOOK], ids=lambda path: path.name)
def test_promql_in_the_ops_docs_is_valid(doc: Path, promtool: str, tmp_path: Path) -> None:
    expressions = promql_expressions(doc)
    assert len(expressions) >= 5
    rules = {
        "groups": [
            {
                "name": doc.stem,
                "rules": [
                    {"record": f"doc:expression_{number}", "expr": expression}
                    for number, expression in enumerate(expressions)
                ],
            }
        ]
    }
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
