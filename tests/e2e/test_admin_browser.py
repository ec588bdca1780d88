"""An operator in headless Chromium against a running OMS: venue simulator + gateway in this
process, the admin pages under gunicorn (``oms admin``) in a subprocess, on this module's own
database. Screenshots of the main pages go to ``test-artifacts/admin/``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from oms.admin.operators import create_operator
from oms.domain.values import OperatorRole
from oms.store.db import make_engine, upgrade
from tests.support.isolation import TestDatabase, TestVhost
from tests.support.stack import Strategy, free_port, running_stack, test_settings

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "admin"
PASSWORD = "browser test password"
SECRET_KEY = "e2e-only-secret-key-" + uuid.uuid4().hex
WAIT_MS = 30_000

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                "(apt-get install chromium; `make test` does it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def cid(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def database_url(run_id: str) -> Iterator[str]:
    """This module's own database: the kill switch it trips must not outlive it."""
    database = TestDatabase.create(run_id, suffix="_browser")
    try:
        upgrade(database.url)
        engine = make_engine(database.url)
        with engine.begin() as conn:
            create_operator(conn, username="alice", password=PASSWORD, role=OperatorRole.ADMIN,
                            by="tests", reason="browser test", at=datetime.now(UTC))
        engine.dispose()
        yield database.url
    finally:
        database.drop()


@pytest.fixture(scope="module")
def oms(database_url: str, amqp_vhost: TestVhost, run_id: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The running stack; yields the Redis prefix the gateway publishes its status under."""
    data_dir = tmp_path_factory.mktemp("browser-stack")
    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=data_dir)
    prefix = f"oms_test_{run_id}_browser:"
    with running_stack(settings, data_dir, prefix):
        yield prefix


@pytest.fixture(scope="module")
def admin_url(oms: str, database_url: str) -> Iterator[str]:
    port = free_port()
    env = os.environ | {"OMS_DATABASE_URL": database_url, "OMS_REDIS_PREFIX": oms,
                        "OMS_SECRET_KEY": SECRET_KEY,
                        "OMS_CONFIG": str(ROOT / "config" / "oms.toml")}
    process = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "admin", "--bind", f"127.0.0.1:{port}",
         "--workers", "2"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        print(output[-4000:])


def _wait_for_health(url: str, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"oms admin exited: {process.communicate()[0]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise AssertionError(f"oms admin did not answer within {timeout}s")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser: Any, admin_url: str) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=admin_url)
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.errors = errors
    yield tab
    context.close()


@pytest.fixture
def strategy(oms: str, amqp_vhost: TestVhost) -> Iterator[Strategy]:
    with Strategy(amqp_vhost.url) as trader:
        yield trader


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def is_(cl_ord_id: str, exec_type: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["cl_ord_id"] == cl_ord_id and e["exec_type"] == exec_type


def reload_until(page: Any, selector: str, *, timeout_s: float = 30) -> None:
    """Reload (the page has no live refresh) until ``selector`` is there."""
    deadline = time.monotonic() + timeout_s
    while page.locator(selector).count() == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector!r} never appeared after {timeout_s}s on {page.url}")
        page.wait_for_timeout(500)
        page.reload()


def test_an_operator_signs_in_and_sees_the_venue_session_logged_on(page: Any) -> None:
    page.goto("/orders")
    assert "/login" in page.url
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    shot(page, "01-login")
    page.click("button[type=submit]")
    page.wait_for_url("**/orders")
    page.goto("/")
    page.locator("#panels >> text=logged on").wait_for()  # live refresh brings the status
    page.locator("#live-label >> text=live").wait_for()
    shot(page, "02-dashboard")


def test_an_order_from_a_strategy_appears_in_the_blotter_without_reloading(
    page: Any, strategy: Strategy
) -> None:
    page.goto("/orders?status=open")
    resting = cid("browser-rest")
    strategy.new_order("DEMO1", resting, "ZVZZT", "buy", "100", "9.00")
    row = page.locator("#blotter-rows tr", has_text=resting)
    row.locator(".st-new").wait_for()  # the blotter polled and re-rendered its rows
    assert "DEMO1" in row.inner_text() and "ZVZZT" in row.inner_text()
    strategy.new_order("DEMO2", cid("browser-rest2"), "ZVZZT", "sell", "50", "11.00")
    page.locator("#blotter-rows tr", has_text="browser-rest2").locator(".st-new").wait_for()
    shot(page, "03-blotter")
    row.locator("a").first.click()
    page.locator("h1", has_text="Order").wait_for()
    timeline = page.locator("section", has_text="Event timeline").inner_text()
    assert "pending_new" in timeline and "new" in timeline
    shot(page, "04-order-detail")


def test_tripping_the_kill_switch_cancels_open_orders_and_rejects_the_next_order(
    page: Any, strategy: Strategy
) -> None:
    page.goto("/kill-switch")
    page.select_option("#scope", "global")
    page.fill("#trip-reason", "browser test: venue outage drill")
    page.click("text=Review…")
    page.locator("h1", has_text="Trip the kill switch: GLOBAL").wait_for()
    assert "2 open order(s) in this scope will be canceled now" in page.inner_text("main")
    shot(page, "05-kill-switch-confirm")
    page.click("button:has-text('Trip kill switch')")
    page.locator(".flash.ok", has_text="sent to the gateway").wait_for()

    canceled = strategy.wait_for(
        lambda e: e["exec_type"] == "canceled" and e["cl_ord_id"] != "" and e["account"] in
        ("DEMO1", "DEMO2"), timeout=30)
    assert "alice" in (canceled["text"] or ""), canceled
    reload_until(page, "text=KILL SWITCH TRIPPED")
    reload_until(page, "text=done")  # the command's result, recorded by the gateway
    shot(page, "06-kill-switch-tripped")

    page.goto("/orders?status=open")
    page.locator("#blotter-rows >> text=No orders match.").wait_for()

    blocked = cid("browser-blocked")
    strategy.new_order("DEMO1", blocked, "ZVZZT", "buy", "10", "9.00")
    rejected = strategy.wait_for(is_(blocked, "rejected"))
    assert rejected["reject_source"] == "risk" and "kill switch" in rejected["text"]
    assert "browser test: venue outage drill" in rejected["text"]
    page.goto(f"/orders?q={blocked}")
    row = page.locator("#blotter-rows tr", has_text=blocked)
    row.locator(".st-rejected").wait_for()
    assert "kill switch" in row.inner_text()
    shot(page, "07-blotter-after-kill-switch")


def test_an_admin_re_enables_trading_and_orders_are_accepted_again(
    page: Any, strategy: Strategy
) -> None:
    page.goto("/kill-switch")
    page.locator("form[action='/kill-switch/clear'] input[name=reason]").fill("drill over")
    page.click("form[action='/kill-switch/clear'] button")
    page.locator(".flash.ok", has_text="re-enable trading").wait_for()
    reload_until(page, "text=all clear: trading enabled")
    assert page.locator("text=KILL SWITCH TRIPPED").count() == 0
    accepted = cid("browser-again")
    strategy.new_order("DEMO1", accepted, "ZVZZT", "buy", "10", "9.00")
    strategy.wait_for(is_(accepted, "new"))
    shot(page, "08-kill-switch-cleared")


def test_an_operator_cancels_one_order_from_its_page(page: Any, strategy: Strategy) -> None:
    resting = cid("browser-cxl")
    strategy.new_order("DEMO2", resting, "ZVZZT", "sell", "25", "10.50")
    new = strategy.wait_for(is_(resting, "new"))
    page.goto(f"/orders/{new['order_id']}")
    page.fill("input[name=reason]", "client called to pull it")
    page.click("button:has-text('Cancel order')")
    page.locator(".flash.ok", has_text="cancel order").wait_for()
    canceled = strategy.wait_for(
        lambda e: e["order_id"] == new["order_id"] and e["exec_type"] == "canceled")
    assert "alice" in canceled["text"] and "client called to pull it" in canceled["text"]
    reload_until(page, ".page-head .st-canceled")
    shot(page, "09-order-canceled-by-operator")


def test_an_admin_resolves_an_unmatched_report(page: Any, database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO unmatched_reports (venue, venue_cl_ord_id, exec_id, reason, fields, "
            "received_at) VALUES ('SIM', 'V99999', 'SIM-X-1', "
            "'execution report for unknown venue ClOrdID V99999', "
            "'{\"150\": \"F\", \"32\": \"100\", \"31\": \"10.00\"}', now())"))
    engine.dispose()
    page.goto("/exceptions")
    page.locator("text=SIM-X-1").wait_for()
    shot(page, "10-exceptions")
    page.fill("textarea[name=resolution]", "venue confirms a test fill; busted at the venue")
    page.click("button:has-text('Mark resolved')")
    page.locator(".flash.ok", has_text="marked resolved").wait_for()
    page.locator("section", has_text="Recently resolved").locator("text=SIM-X-1").wait_for()


def test_fills_show_in_positions_and_on_the_dashboard(page: Any, strategy: Strategy) -> None:
    buy, sell = cid("browser-buy"), cid("browser-sell")
    strategy.new_order("DEMO1", buy, "ZVZZT", "buy", "300", "10.00")
    strategy.wait_for(is_(buy, "new"))
    strategy.new_order("DEMO2", sell, "ZVZZT", "sell", "200", "10.00")
    strategy.wait_for(is_(sell, "fill"))
    strategy.new_order("DEMO1", cid("browser-aapl"), "AAPL", "buy", "50", "191.00")
    page.goto("/positions")
    page.locator("section", has_text="DEMO2").locator("text=-200").wait_for()
    shot(page, "11-positions")
    page.goto("/")
    page.locator("#panels .card", has_text="Fills today").locator(".big").wait_for()
    assert page.locator("#panels .card", has_text="Fills today").locator(".big").inner_text() \
        != "0"
    shot(page, "12-dashboard-trading")
    page.goto("/orders")
    page.locator("#blotter-rows .st-filled").first.wait_for()
    shot(page, "13-blotter-trading")


def test_an_admin_adds_a_viewer_who_can_only_read(page: Any, browser: Any, admin_url: str) -> None:
    page.goto("/users")
    page.fill("#username", "victor")
    page.select_option("#role", "viewer")
    page.fill("#password", "victor's long password")
    page.fill("form[action='/users'] input[name=reason]", "night-shift monitoring")
    page.click("button:has-text('Add operator')")
    page.locator(".flash.ok", has_text="victor added as viewer").wait_for()
    viewer = browser.new_context(base_url=admin_url)
    tab = viewer.new_page()
    tab.goto("/login")
    tab.fill("#username", "victor")
    tab.fill("#password", "victor's long password")
    tab.click("button[type=submit]")
    tab.goto("/kill-switch")
    assert tab.locator("text=Trip a kill switch").count() == 0
    assert tab.locator("form[method=post]").count() == 1  # only "Sign out"
    assert tab.goto("/users").status == 403
    viewer.close()


def test_an_admin_resets_a_client_session_from_the_sessions_page(page: Any) -> None:
    page.goto("/sessions")
    reload_until(page, "#session-venue-SIM >> text=logged on")  # the gateway's status
    shot(page, "19-sessions")
    form = page.locator("form[action='/sessions/client/CLIENT1/reset']")
    form.locator("input[name=reason]").fill("browser test: reset agreed with CLIENT1")
    form.locator("button").click()
    page.locator("h1", has_text="Reset FIX session client:CLIENT1").wait_for()
    assert "must log on again at MsgSeqNum 1" in page.inner_text("main")
    shot(page, "20-sessions-reset-confirm")
    page.click("button:has-text('Reset client:CLIENT1')")
    page.locator(".flash.ok", has_text="reset client:CLIENT1").wait_for()
    reload_until(page, "text=the client's next Logon is expected at MsgSeqNum 1")  # its result
    shot(page, "21-sessions-reset-done")


def test_the_other_pages_render_for_screenshots(page: Any) -> None:
    for name, url, heading in [
        ("14-risk-limits", "/limits", "Risk limits"),
        ("15-limits-edit", "/limits/DEMO1", "Risk limits of account DEMO1"),
        ("16-audit-log", "/audit", "Operator audit log"),
        ("17-users", "/users", "Operators and roles"),
        ("18-exceptions-resolved", "/exceptions", "Awaiting an operator"),
    ]:
        page.goto(url)
        page.locator("h1", has_text=heading).wait_for()
        shot(page, name)
    assert page.errors == [], page.errors  # no CSP violation or script error on any page
