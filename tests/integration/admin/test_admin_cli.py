"""``oms user add`` and ``oms admin`` (gunicorn serving the pages)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from oms.cli import main
from tests.integration.admin.conftest import SECRET_KEY
from tests.support.stack import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def env(admin_database: str, admin_engine: Engine, run_id: str) -> dict[str, str]:
    return {"OMS_DATABASE_URL": admin_database, "OMS_CONFIG": str(ROOT / "config" / "oms.toml"),
            "OMS_REDIS_PREFIX": f"oms_test_{run_id}_admin_cli:"}


def test_user_add_creates_an_operator_with_the_password_from_the_environment(
    env: dict[str, str], admin_engine: Engine
) -> None:
    result = CliRunner().invoke(main, ["user", "add", "cli-ops", "--role", "trader"],
                                env=env | {"OMS_PASSWORD": "a long enough password"})
    assert result.exit_code == 0, result.output
    assert "operator cli-ops created with role trader" in result.output
    assert "a long enough password" not in result.output
    with admin_engine.connect() as conn:
        row = conn.execute(text("SELECT role, password_hash FROM operators "
                                "WHERE username = 'cli-ops'")).one()
        audit = conn.execute(text("SELECT username, reason FROM operator_audit "
                                  "WHERE action = 'user_add' AND target = 'cli-ops'")).one()
    assert str(row.role) == "trader" and row.password_hash.startswith("$argon2id$")
    assert audit.username.startswith("cli:")


def test_user_add_prompts_for_the_password_when_the_environment_has_none(
    env: dict[str, str], admin_engine: Engine
) -> None:
    result = CliRunner().invoke(main, ["user", "add", "cli-prompted", "--role", "viewer"],
                                env=env | {"OMS_PASSWORD": ""},
                                input="typed at the prompt\ntyped at the prompt\n")
    assert result.exit_code == 0, result.output
    assert "typed at the prompt" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["user", "add", "alice", "--role", "admin"], "operator alice already exists"),
    (["user", "add", "bad name", "--role", "admin"], "a username is 1 to 64 letters"),
    (["user", "add", "shorty", "--role", "admin"], "at least 12 characters"),
    (["user", "add", "x", "--role", "root"], "Invalid value for '--role'"),
])
def test_user_add_refuses_with_a_clear_message(
    env: dict[str, str], args: list[str], message: str
) -> None:
    password = "short" if "shorty" in args else "a long enough password"
    result = CliRunner().invoke(main, args, env=env | {"OMS_PASSWORD": password})
    assert result.exit_code != 0 and message in result.output


@pytest.mark.parametrize("key", ["", "short"])
def test_admin_refuses_to_start_without_a_proper_secret_key(
    env: dict[str, str], key: str
) -> None:
    result = CliRunner().invoke(main, ["admin"], env=env | {"OMS_SECRET_KEY": key})
    assert result.exit_code == 1
    assert "OMS_SECRET_KEY" in result.output and "secrets.token_hex(32)" in result.output


def test_admin_names_an_unreachable_database(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["admin"], env=env | {
        "OMS_SECRET_KEY": SECRET_KEY,
        "OMS_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/nothing"})
    assert result.exit_code == 1 and "cannot reach PostgreSQL at 127.0.0.1:1/nothing" in (
        result.output)


@pytest.fixture
def gunicorn(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "admin", "--bind", f"127.0.0.1:{port}",
         "--workers", "2"],
        env=os.environ | env | {"OMS_SECRET_KEY": SECRET_KEY}, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        print(output)


def wait_for_health(url: str, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"oms admin exited: {output}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise AssertionError(f"oms admin did not answer {url}/healthz within {timeout}s")


def test_admin_serves_the_pages_under_gunicorn(gunicorn: str) -> None:
    with urllib.request.urlopen(f"{gunicorn}/login", timeout=5) as response:
        html = response.read().decode()
        assert response.status == 200 and "sign in" in html
        assert response.headers["X-Frame-Options"] == "DENY"
    with urllib.request.urlopen(f"{gunicorn}/orders/rows", timeout=5) as anonymous:
        assert anonymous.url == f"{gunicorn}/login?next=%2Forders%2Frows"
