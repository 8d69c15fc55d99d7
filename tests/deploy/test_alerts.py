"""The alert rules: one plain rules file (deploy/prometheus) and the same groups in the
PrometheusRule of the Kubernetes base, checked and unit-tested with the real ``promtool``."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.deploy.conftest import (
    BASE,
    OVERLAYS,
    RULES_FILE,
    RULES_TESTS,
    K8sObject,
    load_yaml,
    only,
)


def alert_names(groups: list[dict[str, Any]]) -> list[str]:
    return [rule["alert"] for group in groups for rule in group["rules"]]


def test_prometheus_rule_holds_the_rules_file() -> None:
    rule = load_yaml(BASE / "prometheusrule.yaml")
    assert rule["spec"] == load_yaml(RULES_FILE)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_prometheus_rule_holds_the_rules_file(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    assert only(rendered[overlay], "PrometheusRule")["spec"] == load_yaml(RULES_FILE)


def test_rules_alert_on_each_failure_the_bot_can_show() -> None:
    assert alert_names(load_yaml(RULES_FILE)["groups"]) == [
        "LedgerBotAnswerErrorsHigh",
        "LedgerBotAnswersSlow",
        "LedgerBotNoAnswers",
        "LedgerBotLLMFallbacksHigh",
        "LedgerBotKnowledgeBaseStale",
        "LedgerBotCanaryFailing",
        "LedgerBotReadinessFlapping",
        "LedgerBotSlackAPIErrors",
        "LedgerBotStateStoreErrors",
    ]


def test_promtool_accepts_the_rules(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES_FILE)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stdout


def test_rules_pass_their_promtool_unit_tests(promtool: str) -> None:
    # rule_files in the test file are relative to it: run from its folder.
    result = subprocess.run(
        [promtool, "test", "rules", RULES_TESTS.name],
        cwd=RULES_TESTS.parent,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
