"""The Grafana dashboard (deploy/grafana/ledger-bot.json) and the alert rules ask only for
metrics the bot really exports: every ``ledger_bot_*`` name in every PromQL expression is
checked against the families of :class:`ledger_bot.metrics.Metrics`."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ledger_bot.metrics import Metrics
from tests.deploy.conftest import DASHBOARD, RULES_FILE, load_yaml

NAME = re.compile(r"(?<![\w:])ledger_bot_[\w:]*")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
# Grafana's variables, replaced by plain values so that promtool can parse the queries.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1d",
    "$namespace": ".*",
}


def exported_names() -> set[str]:
    """The sample names ``/metrics`` can show: counters end in ``_total``, histograms are
    ``_bucket``, ``_sum`` and ``_count``, an info family is ``_info``, a gauge is its name."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        elif family.type == "info":
            names.add(f"{family.name}_info")
        else:
            names.add(family.name)
    return names


def metric_names(expression: str) -> set[str]:
    """The ``ledger_bot_*`` names an expression selects (not those inside label values)."""
    return set(NAME.findall(STRING.sub('""', expression)))


def expressions(node: Any) -> Iterator[str]:
    """Every ``expr`` of the dashboard's panels, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def variable_queries() -> list[str]:
    queries = []
    for variable in dashboard()["templating"]["list"]:
        query = variable.get("query")
        if variable["type"] == "query":
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def alert_expressions() -> list[str]:
    return [rule["expr"] for group in load_yaml(RULES_FILE)["groups"] for rule in group["rules"]]


def test_exported_names_carry_the_exposition_suffixes() -> None:
    names = exported_names()
    assert (
        "ledger_bot_questions_total" in names,
        "ledger_bot_questions" in names,
        "ledger_bot_answer_duration_seconds_bucket" in names,
        "ledger_bot_answer_duration_seconds" in names,
        "ledger_bot_questions_in_flight" in names,
        "ledger_bot_build_info" in names,
    ) == (True, False, True, False, True, True)


def test_metric_names_skip_label_values() -> None:
    expression = 'sum(rate(ledger_bot_feedback_total{job="ledger_bot_x"}[5m])) / ledger_bot_y'
    assert metric_names(expression) == {"ledger_bot_feedback_total", "ledger_bot_y"}


def test_dashboard_queries_use_only_exported_metrics() -> None:
    used = set().union(*map(metric_names, [*expressions(dashboard()), *variable_queries()]))
    assert sorted(used - exported_names()) == []


def test_alert_rules_use_only_exported_metrics() -> None:
    used = set().union(*map(metric_names, alert_expressions()))
    assert sorted(used - exported_names()) == []


def test_dashboard_shows_questions_latency_llm_feedback_limits_and_errors() -> None:
    queries = list(expressions(dashboard()))
    used = set().union(*map(metric_names, queries))
    required = {
        "ledger_bot_questions_total",
        "ledger_bot_answer_duration_seconds_bucket",
        "ledger_bot_llm_tokens_total",
        "ledger_bot_llm_cost_usd_total",
        "ledger_bot_feedback_total",
        "ledger_bot_slack_api_errors_total",
        "ledger_bot_state_store_errors_total",
    }
    shown = {
        "answered rate": any('outcome="answered"' in query for query in queries),
        "rate limited": any('outcome="rate_limited"' in query for query in queries),
        "errors": any('outcome="error"' in query for query in queries),
    }
    assert (sorted(required - used), shown) == (
        [],
        {"answered rate": True, "rate limited": True, "errors": True},
    )


def test_dashboard_panels_have_unique_ids_and_the_datasource_variable() -> None:
    panels = dashboard()["panels"]
    ids = [panel["id"] for panel in panels]
    sources = {panel["datasource"]["uid"] for panel in panels if panel["type"] != "row"}
    assert (len(ids) == len(set(ids)), sources) == (True, {"${datasource}"})


def test_every_dashboard_query_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    rules = []
    for number, query in enumerate(expressions(dashboard())):
        for variable, value in GRAFANA_VARIABLES.items():
            query = query.replace(variable, value)
        rules.append({"record": f"dashboard:query_{number}", "expr": query})
    rules_file = tmp_path / "dashboard.rules.yaml"
    rules_file.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8"
    )
    result = subprocess.run(
        [promtool, "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_has_a_stable_uid_for_links_and_provisioning() -> None:
    assert (dashboard()["uid"], dashboard()["title"]) == ("ledger-bot", "Ledger Bot")
