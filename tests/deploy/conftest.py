"""Shared fixtures of the deployment tests: the repository's deploy files, the tools that check
them, and the Kubernetes objects each overlay renders to.

hadolint, kubectl and kubernetes-validate come with the ``dev`` extra, so a missing one fails
the tests. promtool comes from the Debian package ``prometheus`` (``scripts/test`` installs it
when run as root): the tests that need it skip only when it is missing and they could not
have installed it, that is when not running as root and ``CI`` is unset.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
BASE = KUBERNETES / "base"
OVERLAYS = ("staging", "production")
RULES_FILE = DEPLOY / "prometheus" / "ledger-bot.rules.yaml"
RULES_TESTS = DEPLOY / "prometheus" / "tests" / "ledger-bot.rules.test.yaml"
DASHBOARD = DEPLOY / "grafana" / "ledger-bot.json"

K8sObject = dict[str, Any]


def dev_tool(name: str) -> str:
    """The path of a tool installed by the ``dev`` extra, beside this Python or on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install the dev extra (pip install -e '.[dev]')")
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool") or shutil.which("promtool", path="/usr/bin")
    if found is not None:
        return found
    running_as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if running_as_root or os.environ.get("CI"):
        pytest.fail("promtool is required: apt-get install prometheus (scripts/test does it)")
    pytest.skip("promtool not installed (apt-get install prometheus, as root)")


@pytest.fixture(scope="session")
def kubectl() -> str:
    return dev_tool("kubectl")


@pytest.fixture(scope="session")
def kubectl_version(kubectl: str) -> str:
    """kubectl's Kubernetes version as major.minor, e.g. "1.37"."""
    result = subprocess.run(
        [kubectl, "version", "--client", "--output=json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    client = json.loads(result.stdout)["clientVersion"]
    return f"{client['major']}.{client['minor'].rstrip('+')}"


def render(kubectl: str, folder: Path) -> list[K8sObject]:
    """The objects ``kubectl kustomize folder`` renders, in order."""
    result = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [item for item in yaml.safe_load_all(result.stdout) if item]


@pytest.fixture(scope="session")
def rendered(kubectl: str) -> dict[str, list[K8sObject]]:
    """Every overlay's rendered objects, by overlay name."""
    return {overlay: render(kubectl, KUBERNETES / "overlays" / overlay) for overlay in OVERLAYS}


def only(objects: list[K8sObject], kind: str, name: str = "ledger-bot") -> K8sObject:
    """The one object of ``kind`` named ``name`` (or, for generated ConfigMaps, ``name-<hash>``)."""
    found = [
        item
        for item in objects
        if item["kind"] == kind
        and (
            item["metadata"]["name"] == name
            or (kind == "ConfigMap" and item["metadata"]["name"].rpartition("-")[0] == name)
        )
    ]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(objects: list[K8sObject]) -> K8sObject:
    spec: K8sObject = only(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def all_containers(objects: list[K8sObject]) -> list[K8sObject]:
    """The bot's containers and its init containers (the git-sync sidecar is one)."""
    spec = pod_spec(objects)
    return [*spec.get("initContainers", []), *spec["containers"]]


def container(objects: list[K8sObject], name: str) -> K8sObject:
    (found,) = [item for item in all_containers(objects) if item["name"] == name]
    return found


def bot_settings(objects: list[K8sObject]) -> dict[str, str]:
    """The settings the bot container gets from its ConfigMap."""
    data: dict[str, str] = only(objects, "ConfigMap", "ledger-bot")["data"]
    return data


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
