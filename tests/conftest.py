"""Shared fixtures. Integration and end-to-end tests use real services, isolated per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from oms.store.db import make_engine, upgrade
from tests.support.isolation import TestDatabase, TestVhost, run_token


@pytest.fixture(scope="session")
def run_id() -> str:
    return run_token()


@pytest.fixture(scope="session")
def migrated_database(run_id: str) -> Iterator[TestDatabase]:
    """A database of this test run's own, at the newest schema; dropped at the end."""
    database = TestDatabase.create(run_id)
    try:
        upgrade(database.url)
        yield database
    finally:
        database.drop()


@pytest.fixture(scope="session")
def database_url(migrated_database: TestDatabase) -> str:
    return migrated_database.url


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, application_name="oms-tests")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def amqp_vhost(run_id: str) -> Iterator[TestVhost]:
    """A RabbitMQ vhost of this test run's own; deleted at the end."""
    vhost = TestVhost.create(run_id)
    try:
        yield vhost
    finally:
        vhost.drop()
