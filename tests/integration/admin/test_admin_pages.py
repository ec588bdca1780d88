"""What each page shows an operator, from rows the gateway writes and the status it publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from oms.cache import RedisCache
from oms.domain.risk.kill_switch import KillSwitchEntry
from oms.domain.values import KillScope
from oms.settings import Settings
from tests.integration.admin import seed
from tests.integration.admin.conftest import SignedIn

pytestmark = pytest.mark.integration


@pytest.fixture
def published_status(app: Flask, admin_settings: Settings) -> RedisCache:
    cache = RedisCache(admin_settings.redis_url, prefix=admin_settings.redis_prefix)
    cache.start()
    cache.publish_status("gateway", {
        "heartbeat": datetime.now(UTC).isoformat(), "inbox_depth": "17", "last_batch": "42",
        "venue:SIM": "logged_on 1234 987",
    })
    cache.seed_reference_prices(admin_settings.file.instruments, datetime.now(UTC),
                                overwrite=True)
    cache.mirror_kill_switches([KillSwitchEntry(KillScope.ACCOUNT, "DEMO2", "alice",
                                                "runaway strategy", seed.T0)])
    return cache


def test_the_dashboard_shows_sessions_engine_health_and_counts(
    signed_in: SignedIn, published_status: RedisCache, admin_engine: Engine
) -> None:
    # the seed is made once per run, maybe longer ago than the latency window (15 min) in a
    # slow run: its events are brought forward as if seeded now, keeping their order
    with admin_engine.begin() as conn:
        conn.execute(text("UPDATE order_events SET created_at = created_at + (now() - :seeded)"
                          " WHERE created_at < now() - interval '6 minutes'"),
                     {"seeded": seed.T0 + timedelta(minutes=5)})
    html = signed_in("vera").get("/").get_data(as_text=True)
    assert "running" in html and "Inbox depth</dt><dd>17" in html
    assert "<b>SIM</b>" in html and ">1234<" in html and ">987<" in html
    assert "logged on" in html
    assert "CLIENT1" in html and "no status" in html  # a configured session that never reported
    assert "TRIPPED" in html and "DEMO2" in html
    assert "In-doubt orders" in html
    assert "ms p50" in html  # ack latency of the seeded orders


def test_a_gateway_that_stopped_beating_shows_as_down(
    signed_in: SignedIn, published_status: RedisCache
) -> None:
    published_status.publish_status(
        "gateway", {"heartbeat": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}
    )
    html = signed_in("vera").get("/dashboard/panels").get_data(as_text=True)
    assert 'badge down">down' in html


def test_the_blotter_lists_orders_newest_first_with_the_last_text(signed_in: SignedIn) -> None:
    html = signed_in("vera").get("/orders").get_data(as_text=True)
    order = [html.index(o) for o in (seed.IN_DOUBT, seed.REJECTED, seed.FILLED, seed.RESTING)]
    assert order == sorted(order)
    assert "quantity 20000 exceeds max order quantity 10000" in html
    assert 'class="st st-rejected">rejected' in html and "in doubt" in html


@pytest.mark.parametrize(("query", "present", "absent"), [
    ("status=open", [seed.RESTING, seed.IN_DOUBT], [seed.FILLED, seed.REJECTED]),
    ("status=filled", [seed.FILLED], [seed.RESTING]),
    ("account=DEMO2", [seed.IN_DOUBT], [seed.RESTING]),
    ("symbol=AAPL", [], [seed.RESTING, seed.FILLED]),
    ("venue=SIM", [seed.RESTING], []),
    (f"q={seed.FILLED_CL}", [seed.FILLED], [seed.RESTING]),
    (f"q={seed.FILLED_VENUE_CL}", [seed.FILLED], [seed.RESTING]),
    (f"q={seed.RESTING}", [seed.RESTING], [seed.FILLED]),
    ("since=2000-01-01T00:00&until=2000-01-02T00:00", [], [seed.RESTING]),
    ("status=not-a-status&page=zero", [seed.RESTING, seed.FILLED], []),
])
def test_the_blotter_filters(
    signed_in: SignedIn, query: str, present: list[str], absent: list[str]
) -> None:
    html = signed_in("vera").get(f"/orders/rows?{query}").get_data(as_text=True)
    for order_id in present:
        assert order_id in html
    for order_id in absent:
        assert order_id not in html


def test_the_blotter_pages_fifty_orders_at_a_time(signed_in: SignedIn) -> None:
    client = signed_in("vera")
    first = client.get("/orders").get_data(as_text=True)
    assert "page 1" in first and "Older" not in first  # four seeded orders fit on one page
    second = client.get("/orders/rows?page=2").get_data(as_text=True)
    assert "No orders match" in second


def test_live_refresh_is_a_cheap_poll_answered_not_modified_when_nothing_changed(
    signed_in: SignedIn,
) -> None:
    client = signed_in("vera")
    page = client.get("/orders?status=open").get_data(as_text=True)
    assert 'data-refresh-url="/orders/rows?status=open"' in page
    first = client.get("/orders/rows?status=open")
    etag = first.headers["ETag"]
    again = client.get("/orders/rows?status=open", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_the_order_detail_shows_the_timeline_with_causes_fills_fix_and_venue_requests(
    signed_in: SignedIn,
) -> None:
    html = signed_in("vera").get(f"/orders/{seed.FILLED}").get_data(as_text=True)
    assert "Event timeline" in html and "venue report" in html and "SIM-E1" in html
    assert "8=FIX.4.4|35=D|11=V90000021|55=ZVZZT|" in html and "← in" in html
    assert seed.FILLED_VENUE_CL in html and "answered" in html


def test_an_unknown_order_is_not_found(signed_in: SignedIn) -> None:
    assert signed_in("vera").get("/orders/NOPE").status_code == 404


def test_positions_show_exposure_against_the_limits(
    signed_in: SignedIn, published_status: RedisCache
) -> None:
    html = signed_in("vera").get("/positions").get_data(as_text=True)
    assert "<h2>DEMO1</h2>" in html
    # 100 ZVZZT at the reference 10.00 = 1,000.00; the resting buy of 100 doubles the worst case
    assert "gross 1,000.00" in html and "worst case 2,000.00 of 10,000,000" in html
    assert "<meter" in html


def test_the_exceptions_page_lists_in_doubt_orders_and_unmatched_reports(
    signed_in: SignedIn,
) -> None:
    html = signed_in("vera").get("/exceptions").get_data(as_text=True)
    assert seed.IN_DOUBT in html and "V90000041 (new, in_doubt)" in html
    assert "SIM-GHOST-1" in html and "no order for venue ClOrdID V00000000" in html


def test_the_limits_page_shows_defaults_and_inherited_values(signed_in: SignedIn) -> None:
    html = signed_in("vera").get("/limits").get_data(as_text=True)
    assert "Defaults (*)" in html and "settings file" in html
    assert ">10,000<" in html and ">1,000,000<" in html  # max order qty and notional
    assert "num dim" in html  # accounts inherit the defaults


def test_the_kill_switch_page_shows_tripped_switches_and_halted_accounts(
    signed_in: SignedIn, published_status: RedisCache
) -> None:
    html = signed_in("vera").get("/kill-switch").get_data(as_text=True)
    assert "runaway strategy" in html and "in sync" in html
    assert "halted" in html and "25 executions in 1s" in html


def test_the_banner_on_every_page_says_a_kill_switch_is_tripped(signed_in: SignedIn) -> None:
    html = signed_in("vera").get("/audit").get_data(as_text=True)
    assert "KILL SWITCH TRIPPED — account DEMO2" in html


def test_the_audit_log_shows_sign_ins_and_filters_by_action(signed_in: SignedIn) -> None:
    client = signed_in("vera")
    html = client.get("/audit?action=login&username=vera").get_data(as_text=True)
    assert "signed in" in html and "<b>login</b>" in html and "<b>user_add</b>" not in html


def test_the_users_page_shows_roles_and_the_matrix(signed_in: SignedIn) -> None:
    html = signed_in("alice").get("/users").get_data(as_text=True)
    for name in ("alice", "tom", "vera"):
        assert f"<b>{name}</b>" in html
    assert "What each role may do" in html and "(you)" in html
