"""The admin pages against a database of their own (operator commands they issue must never
reach a gateway of another test), this run's Redis prefix, and Flask's test client."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from oms.admin import create_app
from oms.admin.operators import create_operator
from oms.domain.values import OperatorRole
from oms.settings import Settings
from oms.store.db import make_engine, upgrade
from tests.integration.admin import seed
from tests.support.isolation import TestDatabase
from tests.support.stack import test_settings

PASSWORD = "correct horse battery staple"
SECRET_KEY = "test-only-secret-key-" + "x" * 32
USERS = {"alice": OperatorRole.ADMIN, "tom": OperatorRole.TRADER, "vera": OperatorRole.VIEWER}
"""Who signs in, by role."""
SUBJECTS = {"pat": OperatorRole.VIEWER, "sam": OperatorRole.TRADER}
"""Accounts the user-management tests change (nobody signs in as them)."""


@pytest.fixture(scope="session")
def admin_database(run_id: str) -> Iterator[str]:
    database = TestDatabase.create(run_id, suffix="_admin")
    try:
        upgrade(database.url)
        yield database.url
    finally:
        database.drop()


@pytest.fixture(scope="session")
def admin_engine(admin_database: str) -> Iterator[Engine]:
    engine = make_engine(admin_database, application_name="oms-admin-tests")
    with engine.begin() as conn:
        for name, role in (USERS | SUBJECTS).items():
            create_operator(conn, username=name, password=PASSWORD, role=role, by="tests",
                            reason="fixture", at=datetime.now(UTC))
        seed.reference_data(conn)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def admin_settings(admin_database: str, run_id: str, tmp_path_factory: pytest.TempPathFactory,
                   ) -> Settings:
    settings = test_settings(database_url=admin_database, amqp_url="amqp://unused/",
                             data_dir=tmp_path_factory.mktemp("admin"))
    return dataclasses.replace(settings, redis_prefix=f"oms_test_{run_id}_admin:")


def app_of(settings: Settings) -> Iterator[Flask]:
    """The admin app on ``settings``; its Redis keys removed afterwards (a fixture's body)."""
    application = create_app({"OMS_SETTINGS": settings, "SECRET_KEY": SECRET_KEY})
    yield application
    application.extensions["oms"].close()
    client = redis.Redis.from_url(settings.redis_url)
    keys = list(client.scan_iter(match=f"{settings.redis_prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def app(admin_settings: Settings, admin_engine: Engine) -> Iterator[Flask]:
    yield from app_of(admin_settings)


@pytest.fixture(autouse=True)
def _no_login_throttle_left_over(app: Flask, admin_settings: Settings) -> Iterator[None]:
    yield
    client = redis.Redis.from_url(admin_settings.redis_url)
    keys = list(client.scan_iter(match=f"{admin_settings.redis_prefix}admin:login_failures:*"))
    if keys:
        client.delete(*keys)
    client.close()


def csrf_token(client: FlaskClient, page: str = "/login") -> str:
    html = client.get(page).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    response = client.post("/login", data={
        "username": username, "password": password, "csrf_token": csrf_token(client),
    })
    assert response.status_code == 302, response.get_data(as_text=True)


SignedIn = Callable[[str], FlaskClient]


@pytest.fixture
def signed_in(app: Flask) -> SignedIn:
    """A test client signed in as one of USERS."""

    def make(username: str) -> FlaskClient:
        client = app.test_client()
        sign_in(client, username)
        return client

    return make


def post_form(client: FlaskClient, url: str, data: dict[str, str], *, token: bool = True,
              ) -> TestResponse:
    """POST a form as the page would, with the session's CSRF token."""
    fields = dict(data)
    if token:
        fields["csrf_token"] = csrf_token(client, "/")
    return client.post(url, data=fields)


def count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())
