"""The container image: the Dockerfile passes hadolint without a warning and keeps the
properties the Kubernetes manifests rely on, and .dockerignore keeps secrets, caches and
everything but the package out of the build context."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from fnmatch import fnmatch

import pytest

from ledger_bot.settings import settings_table
from tests.conftest import REPO
from tests.deploy.conftest import dev_tool
from tests.deploy.docker_files import DockerIgnore, Instruction, instructions

DOCKERFILE = REPO / "Dockerfile"
EXTRAS = {"slack", "postgres", "openai", "anthropic", "mcp", "pdf", "rst"}


def dockerignore() -> DockerIgnore:
    return DockerIgnore((REPO / ".dockerignore").read_text(encoding="utf-8"))


def runtime_stage() -> list[Instruction]:
    found = instructions(DOCKERFILE)
    last = max(item.stage for item in found)
    return [item for item in found if item.stage == last]


def keywords(wanted: str) -> list[Instruction]:
    return [item for item in instructions(DOCKERFILE) if item.keyword == wanted]


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [dev_tool("hadolint"), "--format=json", "--failure-threshold=style", str(DOCKERFILE)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, json.loads(result.stdout or "[]")) == (0, []), result.stderr


def test_no_hadolint_rule_is_switched_off() -> None:
    pragmas = [line for line in DOCKERFILE.read_text().splitlines() if "hadolint ignore" in line]
    assert (pragmas, (REPO / ".hadolint.yaml").exists()) == ([], False)


def test_every_stage_is_slim_python_3_11() -> None:
    bases = {item.arguments.split()[0] for item in keywords("FROM")}
    assert all(re.fullmatch(r"python:3\.11-slim(-\w+)?", base) for base in bases), bases


def test_image_is_built_in_two_stages() -> None:
    stages = [item.arguments.split() for item in keywords("FROM")]
    copied_from_build = [
        item
        for item in runtime_stage()
        if item.keyword == "COPY" and "--from=build" in item.arguments
    ]
    assert (len(stages), stages[0][1:], len(copied_from_build)) == (2, ["AS", "build"], 1)


def test_image_runs_as_user_1000() -> None:
    users = [item.arguments for item in runtime_stage() if item.keyword == "USER"]
    assert users[-1].split(":")[0] == "1000"


def test_dependencies_are_installed_before_the_source_is_copied() -> None:
    build = [item for item in instructions(DOCKERFILE) if item.stage == 0]

    def position(keyword: str, needle: str) -> int:
        (index,) = [
            n
            for n, item in enumerate(build)
            if item.keyword == keyword and needle in item.arguments
        ]
        return index

    order = [
        position("COPY", "pyproject.toml"),
        position("RUN", "--requirement requirements.txt"),
        position("COPY", "src"),
        position("RUN", "--no-deps"),
    ]
    assert order == sorted(order)


def test_image_installs_the_required_extras() -> None:
    (arg,) = [item.arguments for item in keywords("ARG") if item.arguments.startswith("EXTRAS=")]
    optional = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    extras = set(arg.removeprefix("EXTRAS=").split(","))
    assert (extras, extras <= set(optional)) == (EXTRAS, True)


def test_only_the_package_is_copied_into_the_image() -> None:
    sources = sorted(
        source
        for item in instructions(DOCKERFILE)
        if item.keyword in {"COPY", "ADD"} and "--from=" not in item.arguments
        for source in shlex.split(item.arguments)[:-1]
    )
    assert (sources, keywords("ADD")) == (["README.md", "pyproject.toml", "src"], [])


def test_no_secret_is_baked_into_the_image() -> None:
    secretive = re.compile(r"TOKEN|SECRET|PASSWORD|API_KEY|CREDENTIAL", re.IGNORECASE)
    names = [
        name
        for item in instructions(DOCKERFILE)
        if item.keyword in {"ENV", "ARG"}
        for name in re.findall(r"(\w+)=", item.arguments)
    ]
    assert [name for name in names if secretive.search(name)] == []


def test_image_sets_only_real_settings() -> None:
    names = {row.name for row in settings_table()}
    env = " ".join(item.arguments for item in keywords("ENV"))
    found = set(re.findall(r"\b(LEDGER_BOT_\w+)=", env))
    assert (len(found), sorted(found - names)) == (4, [])


def test_healthcheck_asks_health_with_python_urllib() -> None:
    (check,) = [item.arguments for item in runtime_stage() if item.keyword == "HEALTHCHECK"]
    assert (
        "/health" in check,
        "urllib.request" in check,
        bool(re.search(r"\b(curl|wget)\b", check)),
    ) == (True, True, False)


def test_writable_paths_are_volumes() -> None:
    (volume,) = [item.arguments for item in runtime_stage() if item.keyword == "VOLUME"]
    env = " ".join(item.arguments for item in runtime_stage() if item.keyword == "ENV")
    database = re.search(r"LEDGER_BOT_DB=(\S+)", env)
    assert database is not None
    assert (json.loads(volume), database.group(1)) == (
        ["/var/lib/ledger-bot", "/tmp"],
        "/var/lib/ledger-bot/knowledge.db",
    )


def test_image_serves_with_the_console_off_on_port_8080() -> None:
    stage = {item.keyword: item.arguments for item in runtime_stage()}
    assert (
        json.loads(stage["ENTRYPOINT"]),
        json.loads(stage["CMD"]),
        stage["EXPOSE"],
    ) == (["ledger-bot"], ["serve", "--no-console"], "8080")


# -- .dockerignore ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        "**/.env",
        "**/.env.*",
        "**/*.pem",
        "**/*.token",
        ".venv",
        ".cache",
        "**/__pycache__",
        "**/.mypy_cache",
        "**/.ruff_cache",
        "**/.pytest_cache",
        "tests",
        "bench",
        ".git",
    ],
)
def test_dockerignore_lists(entry: str) -> None:
    assert entry in dockerignore().lines


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.production",
        "src/.env",
        "src/ledger_bot/.env.local",
        "deploy/tls/server.pem",
        "src/ledger_bot/server.pem",
        "src/slack-bot.token",
        "src/ledger_bot/secrets/slack-bot-token",
        ".git/config",
        ".venv/bin/python",
        ".cache/pip/http",
        "src/ledger_bot/__pycache__/cli.cpython-311.pyc",
        ".mypy_cache/3.11/ledger_bot/cli.data.json",
        ".ruff_cache/0.6.0/123",
        ".pytest_cache/v/cache/nodeids",
        "src/ledger_bot.egg-info/SOURCES.txt",
        "tests/test_cli.py",
        "bench/retrieval.py",
        ".ledger-bot/knowledge.db",
        "src/knowledge.db",
    ],
)
def test_build_context_leaves_out(path: str) -> None:
    assert dockerignore().is_ignored(path)


def test_build_context_holds_the_whole_package() -> None:
    files = [
        path.relative_to(REPO).as_posix()
        for path in (REPO / "src" / "ledger_bot").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    left_out = [
        path for path in [*files, "pyproject.toml", "README.md"] if dockerignore().is_ignored(path)
    ]
    assert (len(files) > 50, left_out) == (True, [])


# -- what the image installs --------------------------------------------------------------


def test_installed_package_includes_the_translation_catalogs() -> None:
    # The image installs the package non-editable: only package-data files go with it.
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = setuptools.get("package-data", {}).get("ledger_bot", [])
    package = REPO / "src" / "ledger_bot"
    catalogs = sorted(path.relative_to(package).as_posix() for path in package.rglob("*.mo"))
    packaged = [path for path in catalogs if any(fnmatch(path, pattern) for pattern in patterns)]
    assert (len(catalogs) > 0, packaged) == (True, catalogs)
