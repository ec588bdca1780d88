"""compose.yaml: valid, and consistent with the image, the ``oms`` command and the settings.

``docker compose config`` validates it where a Docker CLI with the compose plugin exists; the
structural checks below run everywhere (no Docker engine runs on the development machines).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml

from oms.cli import main
from oms.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
OMS_SERVICES = ("migrate", "gateway", "venue-sim", "admin")
SECRETS = {"OMS_AMQP_PASSWORD": "test-password", "OMS_SECRET_KEY": "k" * 64}


_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[?-][^}]*)?\}")


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:?message}`` and ``${VAR:-default}`` with ``values``."""
    return _VARIABLE.sub(lambda m: values[m.group(1)], text)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(interpolate((REPO / "compose.yaml").read_text(), SECRETS))
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def env(compose: dict[str, Any], service: str) -> dict[str, str]:
    return {k: str(v) for k, v in services(compose)[service].get("environment", {}).items()}


def compose_cli() -> list[str] | None:
    """``docker compose`` (the v2 plugin; the retired v1 ``docker-compose`` does not know the
    compose specification's top-level ``name``)."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True,
                                 check=False).returncode == 0:
        return [docker, "compose"]
    return None


def test_docker_compose_accepts_the_file() -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("no `docker compose` here: the structural checks below stand in for it")
    result = subprocess.run([*cli, "-f", str(REPO / "compose.yaml"), "config", "--quiet"],
                            capture_output=True, text=True, check=False, timeout=60,
                            env={**os.environ, **SECRETS})
    assert result.returncode == 0, result.stderr


def test_the_services_and_the_processes_are_all_there(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {"postgres", "redis", "rabbitmq", *OMS_SERVICES}
    for name, service in services(compose).items():
        assert "image" in service, f"{name} has no image"
    for name in OMS_SERVICES:
        assert services(compose)[name]["build"] == "."
    assert (REPO / "Dockerfile").is_file()


@pytest.mark.parametrize("service", OMS_SERVICES)
def test_each_process_runs_an_existing_oms_command(compose: dict[str, Any],
                                                   service: str) -> None:
    command: click.Command = main
    for word in services(compose)[service]["command"]:
        if word.startswith("-"):
            break
        assert isinstance(command, click.Group), f"{service}: {word} under a plain command"
        assert word in command.commands, f"{service}: no `oms ... {word}` command"
        command = command.commands[word]
    options = {opt for p in command.params for opt in getattr(p, "opts", [])}
    for word in services(compose)[service]["command"]:
        if word.startswith("-"):
            assert word in options, f"{service}: {word} is not an option of its command"


@pytest.mark.parametrize("service", OMS_SERVICES)
def test_each_process_gets_the_contract_variables(compose: dict[str, Any],
                                                  service: str) -> None:
    variables = env(compose, service)
    assert {"OMS_DATABASE_URL", "OMS_REDIS_URL", "OMS_AMQP_URL", "OMS_CONFIG"} <= set(variables)
    assert urlsplit(variables["OMS_DATABASE_URL"]).hostname == "postgres"
    assert urlsplit(variables["OMS_REDIS_URL"]).hostname == "redis"
    assert urlsplit(variables["OMS_AMQP_URL"]).hostname == "rabbitmq"


def test_rabbitmq_has_its_own_user_and_no_secret_is_written_down(
    compose: dict[str, Any], raw: dict[str, Any],
) -> None:
    amqp = urlsplit(env(compose, "gateway")["OMS_AMQP_URL"])
    rabbit = env(compose, "rabbitmq")
    assert amqp.username == rabbit["RABBITMQ_DEFAULT_USER"] != "guest"
    assert amqp.password == rabbit["RABBITMQ_DEFAULT_PASS"] == SECRETS["OMS_AMQP_PASSWORD"]
    assert env(raw, "rabbitmq")["RABBITMQ_DEFAULT_PASS"].startswith("${OMS_AMQP_PASSWORD:?")
    assert "${OMS_AMQP_PASSWORD:?" in env(raw, "gateway")["OMS_AMQP_URL"]
    assert env(raw, "admin")["OMS_SECRET_KEY"].startswith("${OMS_SECRET_KEY:?")


def test_the_settings_file_of_the_image_lets_the_amqp_user_trade_the_demo_accounts(
    compose: dict[str, Any],
) -> None:
    path = env(compose, "gateway")["OMS_CONFIG"]
    assert path.startswith("/app/config/"), "the Dockerfile copies config/ to /app/config"
    local = REPO / "config" / Path(path).name
    settings = load_settings({"OMS_CONFIG": str(local)}).file
    user = urlsplit(env(compose, "gateway")["OMS_AMQP_URL"]).username or ""
    assert settings.accounts_of_amqp_user(user) == {"DEMO1", "DEMO2"}
    assert settings.engine.default_amqp_user == user
    assert settings.venue("SIM").host == "127.0.0.1", "venue-sim shares the gateway's network"
    assert (local.parent / "gunicorn.conf.py").is_file(), "oms admin looks for it there"


def test_the_compose_settings_are_the_default_ones_but_for_the_amqp_user() -> None:
    default = tomllib.loads((REPO / "config" / "oms.toml").read_text())
    composed = tomllib.loads((REPO / "config" / "compose.toml").read_text())
    for data in (default, composed):
        data["engine"].pop("default_amqp_user")
        for user in data["amqp_users"]:
            user.pop("name")
    assert composed == default


def test_start_order_waits_for_what_each_process_needs(compose: dict[str, Any]) -> None:
    svc = services(compose)
    for name, service in svc.items():
        for needed, condition in service.get("depends_on", {}).items():
            assert needed in svc, f"{name} depends on unknown {needed}"
            if condition["condition"] == "service_healthy":
                assert "test" in svc[needed].get("healthcheck", {}), f"{needed} has no check"
    assert svc["gateway"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "redis": {"condition": "service_healthy"},
        "rabbitmq": {"condition": "service_healthy"},
    }
    assert svc["admin"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"}
    assert svc["venue-sim"]["network_mode"] == "service:gateway"
    assert svc["migrate"]["restart"] == "no"


def test_published_ports_are_on_loopback_and_match_the_settings(
    compose: dict[str, Any],
) -> None:
    settings = load_settings({"OMS_CONFIG": str(REPO / "config" / "compose.toml")}).file
    published: dict[int, str] = {}
    for name, service in services(compose).items():
        for mapping in service.get("ports", []):
            host, _host_port, container_port = str(mapping).split(":")
            assert host == "127.0.0.1", f"{name} publishes {mapping} beyond loopback"
            published[int(container_port)] = name
    assert published[settings.fix_clients[0].port] == "gateway"
    assert published[8000] == "admin" and "0.0.0.0:8000" in services(compose)["admin"]["command"]
    assert published[5672] == "rabbitmq"
