"""deploy/k8s: the ``local`` overlay renders, and what it runs matches its settings file.

The overlay is rendered with ``kubectl kustomize`` (skipped where kubectl is missing) and read
back: one gateway StatefulSet per ``[[shards]]`` entry of the overlay's ``oms.toml``, each
running its shard with its probes on its health port; every container non-root with a
read-only root filesystem; no Secret with values. ``scripts/k8s-lint.sh`` (``make lint``)
validates the same render against the Kubernetes schemas and checkov's security checks.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
OVERLAY = REPO / "deploy" / "k8s" / "overlays" / "local"
OVERLAY_SETTINGS = OVERLAY / "oms.toml"
DEFAULT_SETTINGS = REPO / "config" / "oms.toml"
SETTINGS_PATH = "/app/config/oms.toml"
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def rendered() -> list[Manifest]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the overlay is rendered with `kubectl kustomize`")
    result = subprocess.run([kubectl, "kustomize", str(OVERLAY)], capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, f"kubectl kustomize {OVERLAY} failed:\n{result.stderr}"
    documents = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert documents, "the overlay renders no resources"
    return documents


@pytest.fixture(scope="module")
def settings() -> dict[str, Any]:
    with OVERLAY_SETTINGS.open("rb") as f:
        return tomllib.load(f)


def of_kind(documents: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in documents if doc["kind"] == kind]


def name_of(doc: Manifest) -> str:
    name: str = doc["metadata"]["name"]
    return name


def pod_spec(doc: Manifest) -> Manifest | None:
    if doc["kind"] == "Pod":
        spec: Manifest = doc["spec"]
        return spec
    if doc["kind"] == "CronJob":
        spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    if doc["kind"] in POD_TEMPLATE_KINDS:
        spec = doc["spec"]["template"]["spec"]
        return spec
    return None


def workloads(documents: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """(resource, pod spec) of every resource that runs pods."""
    for doc in documents:
        spec = pod_spec(doc)
        if spec is not None:
            yield doc, spec


def all_containers(spec: Manifest) -> list[Manifest]:
    containers: list[Manifest] = [*spec.get("initContainers", []), *spec["containers"]]
    return containers


def gateway_statefulsets(documents: list[Manifest]) -> list[Manifest]:
    return [doc for doc in of_kind(documents, "StatefulSet")
            if doc["metadata"]["labels"].get("app.kubernetes.io/component") == "gateway"]


def gateway_container(statefulset: Manifest) -> Manifest:
    containers = statefulset["spec"]["template"]["spec"]["containers"]
    matching = [c for c in containers if c["name"] == "gateway"]
    assert len(matching) == 1, f"{name_of(statefulset)}: one container named gateway"
    container: Manifest = matching[0]
    return container


def shard_of(statefulset: Manifest) -> str:
    """The shard the StatefulSet runs: ``oms gateway --shard NAME`` (the image's entry point
    is ``oms``, so the arguments are the command line)."""
    container = gateway_container(statefulset)
    assert "command" not in container, f"{name_of(statefulset)}: keep the image's entry point"
    args = container.get("args", [])
    assert len(args) == 3 and args[:2] == ["gateway", "--shard"], (
        f"{name_of(statefulset)}: args {args}, expected ['gateway', '--shard', NAME]")
    shard: str = args[2]
    return shard


def statefulsets_by_shard(documents: list[Manifest]) -> dict[str, Manifest]:
    by_shard: dict[str, Manifest] = {}
    for statefulset in gateway_statefulsets(documents):
        shard = shard_of(statefulset)
        assert shard not in by_shard, f"two StatefulSets run shard {shard}"
        by_shard[shard] = statefulset
    return by_shard


def container_port(container: Manifest, port: int | str) -> int:
    """A probe's or Service's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    for declared in container.get("ports", []):
        if declared.get("name") == port:
            number: int = declared["containerPort"]
            return number
    raise AssertionError(f"container {container['name']} has no port named {port!r}")


def shard_ports(settings: dict[str, Any], shard: dict[str, Any]) -> tuple[int, int]:
    """(metrics_port, health_port) of a shard: its own, else [engine]'s, else the defaults."""
    engine = settings.get("engine", {})
    metrics = shard.get("metrics_port", engine.get("metrics_port", 9108))
    health = shard.get("health_port", engine.get("health_port", 9109))
    return int(metrics), int(health)


def test_one_gateway_statefulset_per_shard_of_the_settings_file(
    rendered: list[Manifest], settings: dict[str, Any]
) -> None:
    shards = [shard["name"] for shard in settings.get("shards", [])]
    assert shards, f"{OVERLAY_SETTINGS} declares no [[shards]]"
    by_shard = statefulsets_by_shard(rendered)
    assert sorted(by_shard) == sorted(shards)
    for shard, statefulset in by_shard.items():
        assert statefulset["spec"]["replicas"] == 1, f"shard {shard} is a single writer"
        pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
        selector = statefulset["spec"]["selector"]["matchLabels"]
        assert pod_labels.get("oms/shard") == selector.get("oms/shard") == shard


def test_each_shard_is_probed_on_its_own_health_port(
    rendered: list[Manifest], settings: dict[str, Any]
) -> None:
    by_shard = statefulsets_by_shard(rendered)
    for shard in settings["shards"]:
        metrics_port, health_port = shard_ports(settings, shard)
        container = gateway_container(by_shard[shard["name"]])
        for probe_name, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            probe = container.get(probe_name)
            assert probe is not None, f"shard {shard['name']}: no {probe_name}"
            assert probe["httpGet"]["path"] == path, f"shard {shard['name']}: {probe_name}"
            assert container_port(container, probe["httpGet"]["port"]) == health_port, (
                f"shard {shard['name']}: {probe_name} not on health_port {health_port}")
        startup = container.get("startupProbe")
        if startup is not None:
            assert container_port(container, startup["httpGet"]["port"]) == health_port
        assert container_port(container, "metrics") == metrics_port, (
            f"shard {shard['name']}: the port named metrics is not metrics_port {metrics_port}")


def test_each_shard_has_a_headless_service_and_a_disruption_budget(
    rendered: list[Manifest],
) -> None:
    services = {name_of(s): s for s in of_kind(rendered, "Service")}
    budgets = of_kind(rendered, "PodDisruptionBudget")
    for shard, statefulset in statefulsets_by_shard(rendered).items():
        pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
        service_name = statefulset["spec"]["serviceName"]
        service = services.get(service_name)
        assert service is not None, f"shard {shard}: no headless Service {service_name}"
        assert service["spec"].get("clusterIP") == "None", f"shard {shard}: not headless"
        assert service["spec"]["selector"].items() <= pod_labels.items()
        covering = [b for b in budgets
                    if b["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()]
        assert len(covering) == 1, f"shard {shard}: {len(covering)} PodDisruptionBudgets"


def test_fix_client_ports_are_served_and_published_by_the_owning_shard(
    rendered: list[Manifest], settings: dict[str, Any]
) -> None:
    by_shard = statefulsets_by_shard(rendered)
    owner = {account: shard["name"]
             for shard in settings["shards"] for account in shard["accounts"]}
    services = of_kind(rendered, "Service")
    for client in settings.get("fix_clients", []):
        shards = {owner[account] for account in client["accounts"]}
        assert len(shards) == 1, f"FIX client {client['sender_comp_id']} spans shards {shards}"
        statefulset = by_shard[shards.pop()]
        container = gateway_container(statefulset)
        assert client["port"] in {p["containerPort"] for p in container.get("ports", [])}
        pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
        published = [
            s for s in services
            if s["spec"].get("clusterIP") != "None"
            and s["spec"].get("selector", {}).items() <= pod_labels.items()
            and "oms/shard" in s["spec"].get("selector", {})
            and any(container_port(container, p.get("targetPort", p["port"])) == client["port"]
                    for p in s["spec"]["ports"])
        ]
        assert published, f"no Service publishes FIX port {client['port']}"


def test_every_container_is_non_root_read_only_and_unprivileged(
    rendered: list[Manifest],
) -> None:
    checked = 0
    for doc, spec in workloads(rendered):
        where = f"{doc['kind']} {name_of(doc)}"
        pod_security = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, f"{where}: token mounted"
        for container in all_containers(spec):
            at = f"{where} container {container['name']}"
            security = container.get("securityContext", {})
            effective = {**pod_security, **security}
            assert effective.get("runAsNonRoot") is True, f"{at}: runAsNonRoot"
            assert effective.get("runAsUser", 1) != 0, f"{at}: runs as root"
            assert security.get("readOnlyRootFilesystem") is True, f"{at}: writable root"
            assert security.get("allowPrivilegeEscalation") is False, f"{at}: escalation"
            assert security.get("privileged", False) is False, f"{at}: privileged"
            assert security.get("capabilities", {}).get("drop") == ["ALL"], f"{at}: capabilities"
            assert effective.get("seccompProfile", {}).get("type") == "RuntimeDefault", at
            checked += 1
    assert checked >= 2 + 2 + 1, "expected the shards, the admin pages and the migration Job"


def test_oms_containers_run_as_the_image_user_with_writable_var_and_tmp(
    rendered: list[Manifest],
) -> None:
    """The image's user is 10001 and it writes only under /app/var (and /tmp)."""
    for doc, spec in workloads(rendered):
        if doc["metadata"].get("labels", {}).get("app.kubernetes.io/name") != "oms":
            continue
        claims = {t["metadata"]["name"] for t in doc["spec"].get("volumeClaimTemplates", [])}
        volumes = {v["name"] for v in spec.get("volumes", [])} | claims
        for container in spec["containers"]:
            at = f"{doc['kind']} {name_of(doc)}"
            effective = {**spec.get("securityContext", {}), **container["securityContext"]}
            assert effective.get("runAsUser") == 10001, at
            mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
            assert {"/app/var", "/tmp"} <= mounts.keys(), f"{at}: /app/var and /tmp"
            assert {mounts["/app/var"]["name"], mounts["/tmp"]["name"]} <= volumes


def test_settings_file_comes_from_the_overlay_configmap(rendered: list[Manifest]) -> None:
    config_maps = {name_of(c): c for c in of_kind(rendered, "ConfigMap")}
    settings_text = OVERLAY_SETTINGS.read_text(encoding="utf-8")
    for doc, spec in workloads(rendered):
        if doc["metadata"].get("labels", {}).get("app.kubernetes.io/name") != "oms":
            continue
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            at = f"{doc['kind']} {name_of(doc)}"
            env = {e["name"]: e for e in container.get("env", [])}
            assert env.get("OMS_CONFIG", {}).get("value") == SETTINGS_PATH, at
            mount = next((m for m in container.get("volumeMounts", [])
                          if m["mountPath"] == SETTINGS_PATH), None)
            assert mount is not None, f"{at}: nothing mounted at {SETTINGS_PATH}"
            config_map = config_maps[volumes[mount["name"]]["configMap"]["name"]]
            assert config_map["data"][mount["subPath"]] == settings_text, at


def test_no_secret_values_in_the_render(rendered: list[Manifest]) -> None:
    with_values = [name_of(s) for s in of_kind(rendered, "Secret")
                   if s.get("data") or s.get("stringData")]
    assert with_values == [], "Secrets are created in the cluster, never rendered from the repo"


def test_connection_urls_and_secret_key_come_from_the_secret(rendered: list[Manifest]) -> None:
    referenced: dict[str, set[str]] = {}
    for doc, spec in workloads(rendered):
        for container in spec["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    referenced.setdefault(ref["name"], set()).add(ref["key"])
                elif env["name"] in {"OMS_DATABASE_URL", "OMS_AMQP_URL", "OMS_SECRET_KEY"}:
                    raise AssertionError(f"{name_of(doc)}: {env['name']} is not from a Secret")
    assert {"OMS_DATABASE_URL", "OMS_AMQP_URL", "OMS_SECRET_KEY"} <= referenced["oms-secrets"]


def test_overlay_settings_differ_from_the_default_only_where_documented(
    settings: dict[str, Any],
) -> None:
    """The overlay's oms.toml is config/oms.toml plus the differences its header lists; a change
    of the default configuration must reach the overlay too."""
    with DEFAULT_SETTINGS.open("rb") as f:
        expected = tomllib.load(f)
    expected["engine"]["listen_address"] = "0.0.0.0"
    expected["engine"]["default_amqp_user"] = "oms"
    expected["admin"]["bind"] = "0.0.0.0:8000"
    expected["shards"] = settings["shards"]
    for venue in expected["venues"]:
        venue["host"] = "oms-venue-sim"
    expected["venues"][0]["shard_sender_comp_ids"] = settings["venues"][0].get(
        "shard_sender_comp_ids")
    for user in expected["amqp_users"]:
        if user["name"] == "guest":
            user["name"] = "oms"
    for client in expected["fix_clients"]:
        client["password_env"] = f"OMS_FIX_{client['sender_comp_id']}_PASSWORD"
    assert settings == expected


def test_overlay_shards_cover_every_account_once(settings: dict[str, Any]) -> None:
    accounts = [a["name"] for a in settings["accounts"]]
    sharded = [a for shard in settings["shards"] for a in shard["accounts"]]
    assert sorted(sharded) == sorted(accounts)
    venue_ids = settings["venues"][0]["shard_sender_comp_ids"]
    assert sorted(venue_ids) == sorted(shard["name"] for shard in settings["shards"])


def test_overlay_settings_file_is_valid() -> None:
    from oms.settings import SettingsFile, parse_settings_file

    if "shards" not in SettingsFile.model_fields:
        pytest.skip("oms.settings has no [[shards]] yet (issue 18): the overlay's file uses them")
    parse_settings_file(OVERLAY_SETTINGS.read_text(encoding="utf-8"), OVERLAY_SETTINGS)
