"""The Kubernetes manifests (deploy/kubernetes): both overlays render with ``kubectl
kustomize``, every core object passes ``kubernetes-validate`` against the schemas of kubectl's
Kubernetes version, and the rendered objects keep the properties the deployment relies on."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from ledger_bot.redaction import contains_secret
from ledger_bot.settings import load_settings, settings_table
from tests.deploy.conftest import (
    BASE,
    OVERLAYS,
    K8sObject,
    all_containers,
    bot_settings,
    container,
    dev_tool,
    load_yaml,
    only,
    pod_spec,
)

# Not in kubernetes-validate's core schemas: checked structurally by the tests below instead.
CUSTOM_RESOURCES = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
SECRET_MOUNT = "/run/secrets/ledger-bot"
SECRET_FILE_SETTINGS = (
    "LEDGER_BOT_SLACK_BOT_TOKEN_FILE",
    "LEDGER_BOT_SLACK_APP_TOKEN_FILE",
    "LEDGER_BOT_SLACK_SIGNING_SECRET_FILE",
    "LEDGER_BOT_STATE_URL_FILE",
    "LEDGER_BOT_LLM_API_KEY_FILE",
    "LEDGER_BOT_MCP_TOKENS_FILE",
)
PLACEHOLDER = "REPLACE_ME"
# What `serve` may take after the shutdown grace to close its HTTP server (server.py).
HTTP_CLOSE_SECONDS = 5

overlays = pytest.mark.parametrize("overlay", OVERLAYS)


def secret_template() -> list[K8sObject]:
    return [
        item
        for item in yaml.safe_load_all((BASE / "secret.example.yaml").read_text(encoding="utf-8"))
        if item
    ]


def default_of(name: str) -> str:
    (row,) = [row for row in settings_table() if row.name == name]
    return row.default


def mounts(item: K8sObject) -> dict[str, K8sObject]:
    """A container's volume mounts by mount path."""
    return {mount["mountPath"]: mount for mount in item.get("volumeMounts", [])}


def volumes(objects: list[K8sObject]) -> dict[str, K8sObject]:
    return {volume["name"]: volume for volume in pod_spec(objects)["volumes"]}


def volume_at(objects: list[K8sObject], item: K8sObject, path: str) -> tuple[K8sObject, K8sObject]:
    """The mount (and its volume) of ``item`` that holds ``path``: the longest matching one."""
    holding = [
        mount
        for mount_path, mount in mounts(item).items()
        if PurePosixPath(path).is_relative_to(mount_path)
    ]
    assert holding, f"{path} is on no volume of {item['name']}"
    mount = max(holding, key=lambda mount: len(mount["mountPath"]))
    return mount, volumes(objects)[mount["name"]]


def flag(args: list[str], name: str) -> str:
    (value,) = [arg.split("=", 1)[1] for arg in args if arg.startswith(f"--{name}=")]
    return value


# -- rendering and schemas ------------------------------------------------------------------


@overlays
def test_overlay_renders_the_objects_of_one_deployment(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    kinds = sorted(item["kind"] for item in rendered[overlay])
    assert kinds == [
        "ConfigMap",
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PrometheusRule",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
    ]


@overlays
def test_core_objects_pass_kubernetes_validate(
    rendered: dict[str, list[K8sObject]], overlay: str, kubectl_version: str, tmp_path: Path
) -> None:
    core = [
        item
        for item in rendered[overlay]
        if (item["apiVersion"], item["kind"]) not in CUSTOM_RESOURCES
    ]
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(yaml.safe_dump_all(core), encoding="utf-8")
    result = subprocess.run(
        [
            dev_tool("kubernetes-validate"),
            "--strict",
            "--quiet",
            f"--kubernetes-version={kubectl_version}",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # --quiet prints only failures and warnings; a warning means an object had no schema.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@overlays
def test_service_monitor_scrapes_metrics_from_the_service_port(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    monitor = only(rendered[overlay], "ServiceMonitor")
    service = only(rendered[overlay], "Service")
    selector = monitor["spec"]["selector"]["matchLabels"]
    (endpoint,) = monitor["spec"]["endpoints"]
    port_names = {port["name"] for port in service["spec"]["ports"]}
    assert (
        selector.items() <= service["metadata"]["labels"].items(),
        endpoint["port"] in port_names,
        endpoint["path"],
    ) == (True, True, "/metrics")


@overlays
def test_prometheus_rule_alerts_are_complete(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    rule = only(rendered[overlay], "PrometheusRule")
    incomplete = [
        item.get("alert")
        for group in rule["spec"]["groups"]
        for item in group["rules"]
        if not (
            item.get("alert")
            and item.get("expr")
            and item.get("labels", {}).get("severity") in {"warning", "critical"}
            and item.get("annotations", {}).get("summary")
            and item.get("annotations", {}).get("description")
        )
    ]
    assert incomplete == []


# -- the pod ------------------------------------------------------------------------------


@overlays
def test_every_container_is_locked_down(rendered: dict[str, list[K8sObject]], overlay: str) -> None:
    pod_seccomp = pod_spec(rendered[overlay])["securityContext"].get("seccompProfile")
    found = {
        item["name"]: (
            item["securityContext"].get("runAsNonRoot"),
            item["securityContext"].get("runAsUser", 0) > 0,
            item["securityContext"].get("readOnlyRootFilesystem"),
            item["securityContext"].get("allowPrivilegeEscalation"),
            item["securityContext"].get("capabilities", {}).get("drop"),
            (item["securityContext"].get("seccompProfile") or pod_seccomp or {}).get("type"),
        )
        for item in all_containers(rendered[overlay])
    }
    locked = (True, True, True, False, ["ALL"], "RuntimeDefault")
    assert found == {"git-sync": locked, "ledger-bot": locked}


@overlays
def test_pod_runs_as_user_1000_without_root(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    pod = pod_spec(rendered[overlay])["securityContext"]
    bot = container(rendered[overlay], "ledger-bot")["securityContext"]
    assert (pod["runAsNonRoot"], pod["runAsUser"], bot["runAsUser"]) == (True, 1000, 1000)


@overlays
def test_bot_probes_health_ready_and_startup(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    bot = container(rendered[overlay], "ledger-bot")
    probes = {
        kind: (bot[kind]["httpGet"]["path"], bot[kind]["httpGet"]["port"])
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes == {
        "startupProbe": ("/health", "http"),
        "livenessProbe": ("/health", "http"),
        "readinessProbe": ("/ready", "http"),
    }


@overlays
def test_bot_port_http_is_the_configured_port(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    (port,) = container(rendered[overlay], "ledger-bot")["ports"]
    configured = bot_settings(rendered[overlay]).get(
        "LEDGER_BOT_PORT", default_of("LEDGER_BOT_PORT")
    )
    assert (port["name"], port["containerPort"]) == ("http", int(configured))


@overlays
def test_bot_resources_are_256Mi_to_512Mi_and_250m_to_500m(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    resources = container(rendered[overlay], "ledger-bot")["resources"]
    assert resources == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }


@overlays
def test_every_container_has_requests_and_limits(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    missing = [
        item["name"]
        for item in all_containers(rendered[overlay])
        if set(item.get("resources", {}).get("requests", {})) != {"cpu", "memory"}
        or set(item.get("resources", {}).get("limits", {})) != {"cpu", "memory"}
    ]
    assert missing == []


@overlays
def test_grace_period_outlasts_prestop_and_shutdown_grace(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    objects = rendered[overlay]
    grace = float(
        bot_settings(objects).get(
            "LEDGER_BOT_SHUTDOWN_GRACE", default_of("LEDGER_BOT_SHUTDOWN_GRACE")
        )
    )
    pause = container(objects, "ledger-bot")["lifecycle"]["preStop"]["sleep"]["seconds"]
    period = pod_spec(objects)["terminationGracePeriodSeconds"]
    assert (grace, pause > 0, period > pause + grace + HTTP_CLOSE_SECONDS) == (20.0, True, True)


@overlays
def test_bot_writes_only_to_emptydirs(rendered: dict[str, list[K8sObject]], overlay: str) -> None:
    objects = rendered[overlay]
    bot = container(objects, "ledger-bot")
    database = bot_settings(objects)["LEDGER_BOT_DB"]
    writable = {
        path: (mount.get("readOnly", False), "emptyDir" in volume)
        for path in (str(PurePosixPath(database).parent), "/tmp")
        for mount, volume in [volume_at(objects, bot, path)]
    }
    read_only = sorted(path for path, mount in mounts(bot).items() if mount.get("readOnly"))
    assert (writable, read_only) == (
        {"/var/lib/ledger-bot": (False, True), "/tmp": (False, True)},
        ["/git", SECRET_MOUNT],
    )


@overlays
def test_service_account_token_is_not_mounted(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    account = only(rendered[overlay], "ServiceAccount")
    pod = pod_spec(rendered[overlay])
    assert (
        account["automountServiceAccountToken"],
        pod["automountServiceAccountToken"],
        pod["serviceAccountName"],
    ) == (False, False, "ledger-bot")


# -- git-sync -----------------------------------------------------------------------------


@overlays
def test_git_sync_is_the_pinned_v4_kubernetes_image(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    image = container(rendered[overlay], "git-sync")["image"]
    assert re.fullmatch(r"registry\.k8s\.io/git-sync/git-sync:v4\.\d+\.\d+", image), image


@overlays
def test_git_sync_is_a_sidecar_started_before_the_bot(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    sync = container(rendered[overlay], "git-sync")
    probe = sync["startupProbe"]["httpGet"]
    assert (sync["restartPolicy"], probe["path"]) == ("Always", "/")


@overlays
def test_bot_indexes_the_link_git_sync_publishes(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    objects = rendered[overlay]
    sync = container(objects, "git-sync")
    bot = container(objects, "ledger-bot")
    link = PurePosixPath(flag(sync["args"], "root")) / flag(sync["args"], "link")
    (source,) = bot_settings(objects)["LEDGER_BOT_SOURCES"].split(",")
    sync_mount, sync_volume = volume_at(objects, sync, str(link))
    bot_mount, _ = volume_at(objects, bot, source)
    assert (
        PurePosixPath(source).is_relative_to(link),
        sync_mount["name"] == bot_mount["name"],
        "emptyDir" in sync_volume,
        bool(flag(sync["args"], "repo")),
        bool(flag(sync["args"], "period")),
    ) == (True, True, True, True, True)


@overlays
def test_git_sync_credentials_come_from_a_secret(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    objects = rendered[overlay]
    sync = container(objects, "git-sync")
    password_file = flag(sync["args"], "password-file")
    _, volume = volume_at(objects, sync, password_file)
    (username,) = [item for item in sync["env"] if item["name"] == "GITSYNC_USERNAME"]
    assert (
        volume["secret"]["secretName"],
        username["valueFrom"]["secretKeyRef"]["name"],
    ) == ("ledger-bot-git", "ledger-bot-git")


# -- settings and secrets -----------------------------------------------------------------


@overlays
def test_configmap_sets_only_real_settings(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    names = {row.name for row in settings_table()}
    unknown = sorted(set(bot_settings(rendered[overlay])) - names)
    assert unknown == []


@overlays
def test_configmap_holds_no_secret_setting(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    secret = {row.name for row in settings_table() if row.secret}
    assert sorted(set(bot_settings(rendered[overlay])) & secret) == []


@overlays
def test_configmap_is_a_valid_configuration(
    rendered: dict[str, list[K8sObject]], overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in bot_settings(rendered[overlay]).items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert (settings.port, settings.shutdown_grace, settings.slack_mode) == (8080, 20.0, "socket")


@overlays
def test_secret_files_are_keys_of_the_mounted_secret(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    objects = rendered[overlay]
    settings = bot_settings(objects)
    _, volume = volume_at(objects, container(objects, "ledger-bot"), SECRET_MOUNT)
    (template,) = [item for item in secret_template() if item["metadata"]["name"] == "ledger-bot"]
    files = {name: PurePosixPath(settings[name]) for name in SECRET_FILE_SETTINGS}
    assert (
        volume["secret"]["secretName"],
        {path.parent for path in files.values()},
        {path.name for path in files.values()},
    ) == ("ledger-bot", {PurePosixPath(SECRET_MOUNT)}, set(template["stringData"]))


@overlays
def test_rendered_output_carries_no_secret(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    # The Secrets are created out of band (deploy/README.md); their template is not a resource.
    secrets = [item["metadata"]["name"] for item in rendered[overlay] if item["kind"] == "Secret"]
    assert secrets == []


def test_secret_template_is_not_a_kustomize_resource() -> None:
    kustomization = load_yaml(BASE / "kustomization.yaml")
    assert "secret.example.yaml" not in kustomization["resources"]


def test_secret_template_holds_placeholders_only() -> None:
    values = {
        f"{item['metadata']['name']}/{key}": value
        for item in secret_template()
        for key, value in {**item.get("stringData", {}), **item.get("data", {})}.items()
    }
    real_looking = sorted(
        key
        for key, value in values.items()
        if PLACEHOLDER not in value or contains_secret(value.replace(PLACEHOLDER, ""))
    )
    assert (len(values), real_looking) == (8, [])


def test_secret_template_passes_kubernetes_validate(kubectl_version: str) -> None:
    result = subprocess.run(
        [
            dev_tool("kubernetes-validate"),
            "--strict",
            "--quiet",
            f"--kubernetes-version={kubectl_version}",
            str(BASE / "secret.example.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_secret_template_names_the_secrets_the_pod_uses(
    rendered: dict[str, list[K8sObject]],
) -> None:
    used = {
        volume["secret"]["secretName"]
        for volume in pod_spec(rendered["production"])["volumes"]
        if "secret" in volume
    }
    assert {item["metadata"]["name"] for item in secret_template()} == used


# -- scaling, disruptions, network --------------------------------------------------------


@overlays
def test_autoscaler_stays_within_slacks_10_socket_connections(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    spec = only(rendered[overlay], "HorizontalPodAutoscaler")["spec"]
    assert 1 <= spec["minReplicas"] <= spec["maxReplicas"] <= 10


@overlays
def test_rollout_never_needs_more_than_10_socket_connections(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    # A surge pod beyond Slack's 10 connections per app could never become ready.
    most = only(rendered[overlay], "HorizontalPodAutoscaler")["spec"]["maxReplicas"]
    surge = only(rendered[overlay], "Deployment")["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    assert most + surge <= 10


@overlays
def test_service_links_cannot_set_ledger_bot_port(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    # The Service `ledger-bot` would otherwise inject LEDGER_BOT_PORT=tcp://<ip>:8080.
    assert pod_spec(rendered[overlay])["enableServiceLinks"] is False


def test_staging_runs_one_or_two_replicas(rendered: dict[str, list[K8sObject]]) -> None:
    spec = only(rendered["staging"], "HorizontalPodAutoscaler")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 2)


def test_production_runs_two_to_ten_replicas(rendered: dict[str, list[K8sObject]]) -> None:
    spec = only(rendered["production"], "HorizontalPodAutoscaler")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)


@overlays
def test_replicas_are_left_to_the_autoscaler(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    deployment = only(rendered[overlay], "Deployment")
    target = only(rendered[overlay], "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert ("replicas" in deployment["spec"], target["name"]) == (False, "ledger-bot")


def test_production_keeps_one_pod_available(rendered: dict[str, list[K8sObject]]) -> None:
    spec = only(rendered["production"], "PodDisruptionBudget")["spec"]
    assert (spec.get("minAvailable"), "maxUnavailable" in spec) == (1, False)


def test_staging_budget_never_blocks_a_drain(rendered: dict[str, list[K8sObject]]) -> None:
    # One replica with minAvailable: 1 would make every node drain wait forever.
    spec = only(rendered["staging"], "PodDisruptionBudget")["spec"]
    assert (spec.get("maxUnavailable"), "minAvailable" in spec) == (1, False)


@overlays
def test_network_policy_lets_in_only_port_8080(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    spec = only(rendered[overlay], "NetworkPolicy")["spec"]
    ports = {(port["port"], port["protocol"]) for rule in spec["ingress"] for port in rule["ports"]}
    sources = sorted(
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in spec["ingress"]
        for peer in rule["from"]
    )
    assert (ports, sources) == ({(8080, "TCP")}, ["ingress-nginx", "monitoring"])


@overlays
def test_network_policy_lets_out_dns_https_and_postgres(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    spec = only(rendered[overlay], "NetworkPolicy")["spec"]
    ports = {(port["port"], port["protocol"]) for rule in spec["egress"] for port in rule["ports"]}
    assert (sorted(spec["policyTypes"]), ports) == (
        ["Egress", "Ingress"],
        {(53, "UDP"), (53, "TCP"), (443, "TCP"), (5432, "TCP")},
    )


@overlays
def test_selectors_all_pick_the_bot_pods(
    rendered: dict[str, list[K8sObject]], overlay: str
) -> None:
    objects = rendered[overlay]
    pod_labels = only(objects, "Deployment")["spec"]["template"]["metadata"]["labels"].items()
    selectors = {
        "Deployment": only(objects, "Deployment")["spec"]["selector"]["matchLabels"],
        "Service": only(objects, "Service")["spec"]["selector"],
        "PodDisruptionBudget": only(objects, "PodDisruptionBudget")["spec"]["selector"][
            "matchLabels"
        ],
        "NetworkPolicy": only(objects, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
    }
    assert {kind: selector.items() <= pod_labels for kind, selector in selectors.items()} == {
        "Deployment": True,
        "Service": True,
        "PodDisruptionBudget": True,
        "NetworkPolicy": True,
    }


@overlays
def test_service_serves_http_on_8080(rendered: dict[str, list[K8sObject]], overlay: str) -> None:
    (port,) = only(rendered[overlay], "Service")["spec"]["ports"]
    assert (port["name"], port["port"], port["targetPort"]) == ("http", 8080, "http")


# -- images and environments --------------------------------------------------------------


def test_production_image_is_a_pinned_release(rendered: dict[str, list[K8sObject]]) -> None:
    image = container(rendered["production"], "ledger-bot")["image"]
    assert re.fullmatch(r"[\w.\-/]+/ledger-bot(:\d+\.\d+\.\d+)?(@sha256:[0-9a-f]{64})?", image)
    assert re.search(r":\d+\.\d+\.\d+|@sha256:", image), image


def test_staging_pulls_the_staging_tag_every_time(rendered: dict[str, list[K8sObject]]) -> None:
    bot = container(rendered["staging"], "ledger-bot")
    assert (bot["image"].rpartition(":")[2], bot["imagePullPolicy"]) == ("staging", "Always")


def test_no_overlay_logs_message_text_at_debug_level(
    rendered: dict[str, list[K8sObject]],
) -> None:
    # At DEBUG the Slack libraries log request bodies, i.e. what people wrote.
    levels = {
        overlay: bot_settings(objects)["LEDGER_BOT_LOG_LEVEL"]
        for overlay, objects in rendered.items()
    }
    assert levels == {"staging": "INFO", "production": "INFO"}


@overlays
def test_overlay_has_its_own_namespace(rendered: dict[str, list[K8sObject]], overlay: str) -> None:
    namespaces = {item["metadata"].get("namespace") for item in rendered[overlay]}
    assert namespaces == {"ledger-bot-staging" if overlay == "staging" else "ledger-bot"}
