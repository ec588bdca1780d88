"""Shared fixtures. Integration and end-to-end tests use real services, isolated per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.support.isolation import TestDatabase, TestVhost, engine_of, migrated, run_token


@pytest.fixture(scope="session")
def run_id() -> str:
    return run_token()


@pytest.fixture(scope="session")
def migrated_database(run_id: str) -> Iterator[TestDatabase]:
    """A database of this test run's own, at the newest schema; dropped at the end."""
    yield from migrated(run_id)


@pytest.fixture(scope="session")
def database_url(migrated_database: TestDatabase) -> str:
    return migrated_database.url


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    yield from engine_of(database_url, "oms-tests")


@pytest.fixture(scope="session")
def amqp_vhost(run_id: str) -> Iterator[TestVhost]:
    """A RabbitMQ vhost of this test run's own; deleted at the end."""
    vhost = TestVhost.create(run_id)
    try:
        yield vhost
    finally:
        vhost.drop()
