"""Per-run isolation: each test run gets its own PostgreSQL database and RabbitMQ vhost, so
tests, the demo and a running gateway never see each other's state."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from oms.store.db import make_engine, upgrade

ADMIN_DSN = os.environ.get(
    "OMS_TEST_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
AMQP_HOST = os.environ.get("OMS_TEST_AMQP_HOST", "127.0.0.1:5672")


def run_token() -> str:
    return f"{os.getpid()}_{secrets.token_hex(3)}"


@dataclass
class TestDatabase:
    __test__ = False

    name: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"

    @classmethod
    def create(cls, token: str, suffix: str = "") -> TestDatabase:
        name = f"oms_test_{token}{suffix}"
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return cls(name)

    def drop(self) -> None:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def libpq_dsn(self) -> str:
        url = make_url(self.url)
        return f"host={url.host} port={url.port} user={url.username} dbname={url.database}"


@dataclass
class TestVhost:
    __test__ = False

    name: str

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{AMQP_HOST}/{quote(self.name, safe='')}"

    @classmethod
    def create(cls, token: str) -> TestVhost:
        name = f"oms_test_{token}"
        _rabbitmqctl("add_vhost", name)
        _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        return cls(name)

    def drop(self) -> None:
        _rabbitmqctl("delete_vhost", self.name)


def _rabbitmqctl(*args: str) -> None:
    result = subprocess.run(
        ["rabbitmqctl", "-q", *args], check=False, capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")


def migrated(token: str, suffix: str = "") -> Iterator[TestDatabase]:
    """A new database at the newest schema, dropped afterwards (the body of a fixture)."""
    database = TestDatabase.create(token, suffix)
    try:
        upgrade(database.url)
        yield database
    finally:
        database.drop()


def engine_of(url: str, name: str) -> Iterator[Engine]:
    """An engine on ``url``, disposed afterwards (the body of a fixture)."""
    engine = make_engine(url, application_name=name)
    yield engine
    engine.dispose()
