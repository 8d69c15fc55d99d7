"""The GitHub Actions workflows check, build and deploy what the docs say they do.

The workflows are parsed with PyYAML and their jobs and steps checked by what they run: CI
(lint, tests against PostgreSQL with coverage, scanning, container and manifest checks, the
image pushed only for tags) and the manual deploy (staging, then production, with a rollback).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
DEPLOYMENT_GUIDE = REPO / "docs" / "deployment.md"

Job = dict[str, Any]
Step = dict[str, Any]


def load(path: Path) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return workflow


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The ``on:`` section; YAML 1.1 reads the bare key ``on`` as the boolean True."""
    found: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]
    return found


def steps(job: Job) -> list[Step]:
    found: list[Step] = job["steps"]
    return found


def script(job: Job) -> str:
    """Every ``run:`` of a job, joined."""
    return "\n".join(step.get("run", "") for step in steps(job))


def uses(job: Job) -> list[str]:
    return [step["uses"] for step in steps(job) if "uses" in step]


def step_using(job: Job, action: str) -> Step:
    (found,) = [step for step in steps(job) if step.get("uses", "").startswith(f"{action}@")]
    return found


def index_of(job: Job, text: str) -> int:
    """The position of the first step whose ``run`` contains ``text``."""
    for position, step in enumerate(steps(job)):
        if text in step.get("run", ""):
            return position
    raise AssertionError(f"no step runs {text!r}")


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load(CI)


@pytest.fixture(scope="module")
def ci_jobs(ci: dict[str, Any]) -> dict[str, Job]:
    jobs: dict[str, Job] = ci["jobs"]
    return jobs


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return load(DEPLOY)


@pytest.fixture(scope="module")
def deploy_jobs(deploy: dict[str, Any]) -> dict[str, Job]:
    jobs: dict[str, Job] = deploy["jobs"]
    return jobs


# -- CI ------------------------------------------------------------------------------------


def test_ci_runs_on_pushes_to_main_pull_requests_and_version_tags(ci: dict[str, Any]) -> None:
    on = triggers(ci)
    assert on["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert "pull_request" in on


def test_ci_token_can_only_read_by_default(ci: dict[str, Any]) -> None:
    assert ci["permissions"] == {"contents": "read"}


def test_lint_job_runs_ruff_check_ruff_format_and_mypy(ci_jobs: dict[str, Job]) -> None:
    commands = script(ci_jobs["lint"])
    assert "ruff check" in commands
    assert "ruff format --check" in commands
    assert re.search(r"^mypy\b", commands, re.MULTILINE)


def test_test_job_has_a_postgres_service_the_tests_point_at(ci_jobs: dict[str, Job]) -> None:
    job = ci_jobs["test"]
    postgres = job["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "5432:5432" in postgres["ports"]
    assert "pg_isready" in postgres["options"]
    url = job["env"]["LEDGER_BOT_TEST_POSTGRES_URL"]
    assert url.startswith("postgresql://") and "127.0.0.1:5432" in url


def test_test_job_runs_scripts_test_the_command_of_ci_run(ci_jobs: dict[str, Job]) -> None:
    assert "exec bash scripts/test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^bash scripts/test\b", script(ci_jobs["test"]), re.MULTILINE)


def test_test_job_measures_coverage_with_pytest_cov_installed_first(
    ci_jobs: dict[str, Job],
) -> None:
    job = ci_jobs["test"]
    assert index_of(job, "pip install --quiet pytest-cov") < index_of(job, "bash scripts/test")
    assert "--cov=ledger_bot" in script(job)
    assert step_using(job, "actions/upload-artifact")["with"]["path"] == "coverage.xml"


def test_test_job_sets_up_node_for_the_mcp_clients(ci_jobs: dict[str, Job]) -> None:
    job = ci_jobs["test"]
    assert step_using(job, "actions/setup-node")["with"]["node-version"]
    assert steps(job).index(step_using(job, "actions/setup-node")) < index_of(
        job, "bash scripts/test"
    )


def test_test_job_installs_promtool_for_the_metrics_and_rules_tests(
    ci_jobs: dict[str, Job],
) -> None:
    job = ci_jobs["test"]
    assert index_of(job, "prometheus") < index_of(job, "bash scripts/test")


def test_security_job_runs_pip_audit_and_bandit(ci_jobs: dict[str, Job]) -> None:
    commands = script(ci_jobs["security"])
    assert "pip install --quiet pip-audit bandit" in commands
    assert re.search(r"^pip-audit .*--requirement", commands, re.MULTILINE)
    assert re.search(r"^bandit -r src\b", commands, re.MULTILINE)


def test_pip_audit_checks_every_extra_production_installs(ci_jobs: dict[str, Job]) -> None:
    assert "pip install --quiet -e '.[all]'" in script(ci_jobs["security"])


def test_container_job_runs_hadolint_on_the_dockerfile(ci_jobs: dict[str, Job]) -> None:
    assert re.search(r"^hadolint .*Dockerfile$", script(ci_jobs["container"]), re.MULTILINE)


def test_container_job_validates_every_overlay_with_kustomize_and_kubernetes_validate(
    ci_jobs: dict[str, Job],
) -> None:
    commands = script(ci_jobs["container"])
    assert "for overlay in deploy/kubernetes/overlays/*/" in commands
    assert 'kubectl kustomize "$overlay"' in commands
    assert "kubernetes-validate --strict" in commands
    assert sorted(path.name for path in (REPO / "deploy/kubernetes/overlays").iterdir()) == [
        "production",
        "staging",
    ]


def test_container_job_checks_and_unit_tests_the_alert_rules(ci_jobs: dict[str, Job]) -> None:
    commands = script(ci_jobs["container"])
    for path in re.findall(r"promtool (?:check|test) rules (\S+)", commands):
        assert (REPO / path).is_file(), path
    assert "promtool check rules deploy/prometheus/ledger-bot.rules.yaml" in commands
    assert "promtool test rules deploy/prometheus/tests/ledger-bot.rules.test.yaml" in commands


def test_container_job_builds_the_image_without_pushing_it(ci_jobs: dict[str, Job]) -> None:
    build = step_using(ci_jobs["container"], "docker/build-push-action")
    assert build["with"]["push"] is False
    assert "curl -fsS http://127.0.0.1:18080/health" in script(ci_jobs["container"])


def test_image_is_built_and_pushed_to_ghcr_only_for_version_tags(ci_jobs: dict[str, Job]) -> None:
    job = ci_jobs["image"]
    assert job["if"] == "github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')"
    assert step_using(job, "docker/build-push-action")["with"]["push"] is True
    assert step_using(job, "docker/login-action")["with"]["registry"] == "ghcr.io"
    assert "ghcr.io/${GITHUB_REPOSITORY,,}" in script(job)
    assert step_using(job, "docker/metadata-action")["with"]["images"] == (
        "${{ steps.name.outputs.image }}"
    )


def test_only_the_image_job_may_write_packages(ci_jobs: dict[str, Job]) -> None:
    writers = [name for name, job in ci_jobs.items() if "packages" in job.get("permissions", {})]
    assert writers == ["image"]
    assert ci_jobs["image"]["permissions"]["packages"] == "write"


def test_image_job_waits_for_every_check(ci_jobs: dict[str, Job]) -> None:
    assert sorted(ci_jobs["image"]["needs"]) == sorted(set(ci_jobs) - {"image"})


def test_image_is_tagged_with_the_version_the_deploy_workflow_deploys(
    ci_jobs: dict[str, Job],
) -> None:
    tags = step_using(ci_jobs["image"], "docker/metadata-action")["with"]["tags"]
    assert "type=semver,pattern={{version}}" in tags.splitlines()


# -- every workflow ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [CI, DEPLOY], ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_major_version(path: Path) -> None:
    for job in load(path)["jobs"].values():
        for action in uses(job):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", action), action


@pytest.mark.parametrize("path", [CI, DEPLOY], ids=lambda path: path.name)
def test_no_script_interpolates_inputs_or_event_data(path: Path) -> None:
    for job in load(path)["jobs"].values():
        for step in steps(job):
            assert not re.search(r"\$\{\{\s*(inputs|github\.event)\.", step.get("run", ""))


@pytest.mark.parametrize("path", [CI, DEPLOY], ids=lambda path: path.name)
def test_every_job_has_a_timeout(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        assert job["timeout-minutes"] > 0, name


# -- deploy --------------------------------------------------------------------------------


def test_deploy_runs_only_by_hand_with_a_tag_input(deploy: dict[str, Any]) -> None:
    on = triggers(deploy)
    assert set(on) == {"workflow_dispatch"}
    tag = on["workflow_dispatch"]["inputs"]["tag"]
    assert (tag["required"], tag["type"]) == (True, "string")


def test_deploys_never_run_at_the_same_time(deploy: dict[str, Any]) -> None:
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_staging_is_deployed_before_production(deploy_jobs: dict[str, Job]) -> None:
    assert sorted(deploy_jobs) == ["production", "staging"]
    assert "needs" not in deploy_jobs["staging"]
    assert deploy_jobs["production"]["needs"] == "staging"


@pytest.mark.parametrize(
    ("environment", "namespace"), [("staging", "ledger-bot-staging"), ("production", "ledger-bot")]
)
def test_each_deploy_runs_in_its_environment_on_its_overlay_and_namespace(
    deploy_jobs: dict[str, Job], environment: str, namespace: str
) -> None:
    job = deploy_jobs[environment]
    assert job["environment"]["name"] == environment
    overlay = f"deploy/kubernetes/overlays/{environment}"
    assert job["env"]["OVERLAY"] == overlay
    kustomization = yaml.safe_load((REPO / overlay / "kustomization.yaml").read_text("utf-8"))
    assert job["env"]["NAMESPACE"] == kustomization["namespace"] == namespace


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_deploy_sets_the_image_then_applies_the_overlay_then_waits_and_checks_ready(
    deploy_jobs: dict[str, Job], environment: str
) -> None:
    job = deploy_jobs[environment]
    order = [
        index_of(job, 'kustomize edit set image "ledger-bot=$IMAGE:$IMAGE_TAG"'),
        index_of(job, 'kubectl apply -k "$OVERLAY"'),
        index_of(job, 'rollout status "deployment/$DEPLOYMENT"'),
        index_of(job, 'port-forward "deployment/$DEPLOYMENT" 18080:8080'),
    ]
    assert order == sorted(order)
    assert "curl -fsS http://127.0.0.1:18080/ready" in script(job)


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_deploy_checks_out_the_manifests_of_the_tag_it_deploys(
    deploy_jobs: dict[str, Job], environment: str
) -> None:
    checkout = step_using(deploy_jobs[environment], "actions/checkout")
    assert checkout["with"]["ref"] == "${{ inputs.tag }}"


def test_the_image_name_in_the_overlays_is_the_one_the_deploy_sets() -> None:
    for environment in ("staging", "production"):
        path = REPO / "deploy/kubernetes/overlays" / environment / "kustomization.yaml"
        images = yaml.safe_load(path.read_text("utf-8"))["images"]
        assert [image["name"] for image in images] == ["ledger-bot"]


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_failed_deploy_is_rolled_back_with_rollout_undo(
    deploy_jobs: dict[str, Job], environment: str
) -> None:
    job = deploy_jobs[environment]
    (undo,) = [step for step in steps(job) if "rollout undo" in step.get("run", "")]
    assert undo["if"] == "failure() && steps.apply.outcome == 'success'"
    assert steps(job).index(undo) == len(steps(job)) - 1


def test_rollback_is_documented_in_the_deployment_guide() -> None:
    guide = DEPLOYMENT_GUIDE.read_text(encoding="utf-8")
    rollback = guide.split("\n## Rollback\n", 1)[1].split("\n## ", 1)[0]
    assert "kubectl -n ledger-bot rollout undo deployment/ledger-bot" in rollback
    assert "previous tag" in rollback
    assert "schema" in rollback
