"""The running stack for end-to-end tests: venue simulator + gateway on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from oms.store.db import upgrade
from tests.support.isolation import TestDatabase, TestVhost, engine_of, migrated
from tests.support.private_postgres import PrivatePostgres
from tests.support.stack import Strategy, free_port, running_stack, test_settings


@pytest.fixture(scope="session")
def migrated_database(run_id: str) -> Iterator[TestDatabase]:
    """End-to-end tests get a database of their own, apart from the integration tests': a
    gateway loads every open order and active kill switch at start, and the integration tests
    write rows no gateway made (orders without a state snapshot, tripped switches)."""
    yield from migrated(run_id, "_e2e")


@pytest.fixture(scope="session")
def database_url(migrated_database: TestDatabase) -> str:
    return migrated_database.url


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    yield from engine_of(database_url, "oms-tests-e2e")


@pytest.fixture(scope="module")
def stack(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    data_dir: Path = tmp_path_factory.mktemp("stack")
    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=data_dir)
    with running_stack(settings, data_dir, f"oms_test_{run_id}:") as gateway:
        yield gateway


@pytest.fixture
def trader(stack: object, amqp_vhost: TestVhost) -> Iterator[Strategy]:
    s = Strategy(amqp_vhost.url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of the test's own, at the newest schema, that the test may stop."""
    server = PrivatePostgres(free_port())
    server.create()
    upgrade(server.url)
    try:
        yield server
    finally:
        server.destroy()
