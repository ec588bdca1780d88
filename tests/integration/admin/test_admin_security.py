"""Security of the admin pages: sign-in everywhere, throttled logins, CSRF on every form,
cookie flags and security headers, and nothing without a secret key."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from oms.admin import create_app
from oms.admin.operators import create_operator
from oms.domain.values import OperatorRole
from oms.settings import Settings
from tests.integration.admin.conftest import (
    PASSWORD,
    SignedIn,
    count,
    csrf_token,
    post_form,
    sign_in,
)
from tests.integration.admin.routes import ACTIONS, PAGES, PUBLIC

pytestmark = pytest.mark.integration


def test_every_route_of_the_app_is_in_the_sweeps(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    assert endpoints == set(PAGES) | set(ACTIONS) | set(PUBLIC) | {"auth.logout"}


@pytest.mark.parametrize("endpoint", sorted(PAGES))
def test_a_page_without_signing_in_sends_the_visitor_to_the_login(
    app: Flask, endpoint: str
) -> None:
    response = app.test_client().get(PAGES[endpoint])
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("endpoint", sorted(ACTIONS))
def test_an_action_without_signing_in_is_refused_and_changes_nothing(
    app: Flask, admin_engine: Engine, endpoint: str
) -> None:
    url, form, _ = ACTIONS[endpoint]
    client = app.test_client()
    before = count(admin_engine, "SELECT count(*) FROM operator_audit")
    response = client.post(url, data=form | {"csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert count(admin_engine, "SELECT count(*) FROM operator_audit") == before


def test_the_health_endpoint_answers_without_a_login(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": True}


@pytest.mark.parametrize("endpoint", sorted(ACTIONS))
def test_an_action_without_its_csrf_token_is_refused_and_changes_nothing(
    signed_in: SignedIn, admin_engine: Engine, endpoint: str
) -> None:
    url, form, _ = ACTIONS[endpoint]
    client = signed_in("alice")
    before = count(admin_engine, "SELECT count(*) FROM operator_audit")
    commands = count(admin_engine, "SELECT count(*) FROM operator_commands")
    missing = post_form(client, url, form, token=False)
    forged = client.post(url, data=form | {"csrf_token": "forged-token"})
    for response in (missing, forged):
        assert response.status_code == 400
        assert "CSRF" in response.get_data(as_text=True)
    assert count(admin_engine, "SELECT count(*) FROM operator_audit") == before
    assert count(admin_engine, "SELECT count(*) FROM operator_commands") == commands


def test_the_login_form_itself_needs_its_csrf_token(app: Flask) -> None:
    response = app.test_client().post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400


def test_signing_out_needs_a_post_with_the_token(signed_in: SignedIn) -> None:
    client = signed_in("vera")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200
    response = post_form(client, "/logout", {})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_wrong_password_is_refused_and_audited(app: Flask, admin_engine: Engine) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "vera", "password": "guess",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "Wrong name or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert count(admin_engine, "SELECT count(*) FROM operator_audit WHERE username = 'vera' "
                               "AND action = 'login_failed'") >= 1


def test_repeated_failed_logins_are_throttled_even_with_the_right_password(
    app: Flask, admin_settings: Settings
) -> None:
    client = app.test_client()
    limit = admin_settings.file.admin.login_attempts_per_minute
    for _ in range(limit):
        response = client.post("/login", data={"username": "tom", "password": "wrong",
                                               "csrf_token": csrf_token(client)})
        assert response.status_code == 401
    blocked = client.post("/login", data={"username": "tom", "password": PASSWORD,
                                          "csrf_token": csrf_token(client)})
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)
    other_user = app.test_client()
    sign_in(other_user, "vera")  # the throttle is per name and address, not global


def test_a_disabled_operator_cannot_sign_in_and_is_signed_out_at_once(
    app: Flask, admin_engine: Engine, signed_in: SignedIn
) -> None:
    with admin_engine.begin() as conn:
        create_operator(conn, username="dora", password=PASSWORD, role=OperatorRole.TRADER,
                        by="tests", reason="fixture", at=datetime.now(UTC))
    client = signed_in("dora")
    assert client.get("/orders").status_code == 200
    with admin_engine.begin() as conn:
        conn.execute(text("UPDATE operators SET disabled = true WHERE username = 'dora'"))
    assert client.get("/orders").status_code == 302
    again = app.test_client()
    response = again.post("/login", data={"username": "dora", "password": PASSWORD,
                                          "csrf_token": csrf_token(again)})
    assert response.status_code == 401


def test_the_session_cookie_is_http_only_and_same_site_lax(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "vera", "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on localhost by default; see docs/admin.md


def test_secure_cookies_are_switched_on_from_the_environment(
    admin_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_ADMIN_SECURE_COOKIES", "1")
    secure = create_app({"OMS_SETTINGS": admin_settings, "SECRET_KEY": "k" * 40})
    assert secure.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("url", ["/login", "/healthz", *PAGES.values()])
def test_every_page_carries_the_security_headers(signed_in: SignedIn, url: str) -> None:
    response = signed_in("alice").get(url)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("url", list(PAGES.values()))
def test_no_page_uses_inline_script_or_style(signed_in: SignedIn, url: str) -> None:
    """The CSP forbids them, so they would silently not work."""
    html = signed_in("alice").get(url).get_data(as_text=True).lower()
    assert "style=" not in html and "<style" not in html
    assert "onclick=" not in html and "onsubmit=" not in html and "javascript:" not in html
    for script in html.split("<script")[1:]:
        assert script.lstrip().startswith("src=")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_the_login_never_redirects_off_the_site(app: Flask, target: str) -> None:
    client = app.test_client()
    response = client.post(f"/login?next={target}", data={
        "username": "vera", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_the_login_returns_to_the_page_asked_for(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login?next=/orders%3Fstatus%3Dopen", data={
        "username": "vera", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/orders?status=open"


@pytest.mark.parametrize("key", [None, "", "too-short"])
def test_the_app_refuses_to_start_without_a_proper_secret_key(
    admin_settings: Settings, key: str | None
) -> None:
    settings = dataclasses.replace(admin_settings, secret_key=key)
    with pytest.raises(RuntimeError, match="OMS_SECRET_KEY"):
        create_app({"OMS_SETTINGS": settings})
