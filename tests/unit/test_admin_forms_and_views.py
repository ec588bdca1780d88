"""Pure parts of the admin pages: the limits form, the status the gateway publishes, filters,
formatting, passwords and the login throttle's fallback."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from oms.admin.formatting import age, decimal_text, fix_text, status_class, utc_time
from oms.admin.limits_form import LIMIT_FIELDS, form_values, limits_from_form
from oms.admin.passwords import hash_password, password_problem, verify_password
from oms.admin.queries.orders import BlotterFilter
from oms.admin.security import secret_key_problem
from oms.admin.status_view import read_components
from oms.admin.throttle import LoginThrottle
from oms.domain.risk import RateLimit, RiskLimits

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def test_the_limits_form_has_an_input_for_every_risk_limit() -> None:
    assert {f.name for f in LIMIT_FIELDS} == {f.name for f in fields(RiskLimits) if f.init}


def test_limits_round_trip_through_the_form() -> None:
    limits = RiskLimits(
        max_order_qty=Decimal("10000"), price_collar=Decimal("0.1"),
        max_reference_age=timedelta(seconds=30), max_open_orders=50,
        account_order_rate=RateLimit(10, timedelta(seconds=1)),
        restricted_symbols=frozenset({"GME", "AMC"}),
    )
    assert limits_from_form(form_values(limits)) == limits


def test_an_empty_form_means_no_limits_set_here() -> None:
    assert limits_from_form({}) == RiskLimits()


@pytest.mark.parametrize(("form", "message"), [
    ({"max_order_notional": "1e400x"}, "Max order notional: not a decimal"),
    ({"max_open_orders": "ten"}, "Max open orders: expected a whole number"),
    ({"duplicate_window": "0"}, "Duplicate order window: duplicate_window must be positive"),
    ({"max_executions.seconds": "1"}, "Breaker: executions: give both"),
])
def test_a_bad_limit_is_named_in_the_error(form: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        limits_from_form(form)


def test_the_gateway_status_is_read_into_sessions_and_health() -> None:
    [gateway] = read_components({"gateway": {
        "heartbeat": (NOW - timedelta(seconds=1)).isoformat(), "inbox_depth": "3",
        "last_batch": "7", "venue:SIM": "logged_on 12 34", "client:CLIENT1": "down 1 1",
        "p99_ms": "0.8",
    }}, NOW)
    assert gateway.health == "ok" and gateway.inbox_depth == "3"
    assert [(s.kind, s.name, s.state, s.sender_seq, s.target_seq) for s in gateway.sessions] == [
        ("client", "CLIENT1", "down", "1", "1"), ("venue", "SIM", "logged_on", "12", "34")]
    assert gateway.other == (("p99_ms", "0.8"),)


@pytest.mark.parametrize(("age_s", "health"), [(0, "ok"), (6, "stale"), (31, "down")])
def test_an_old_heartbeat_makes_the_gateway_stale_then_down(age_s: int, health: str) -> None:
    beat = (NOW - timedelta(seconds=age_s)).isoformat()
    [gateway] = read_components({"gateway": {"heartbeat": beat}}, NOW)
    assert gateway.health == health


def test_a_status_without_a_readable_heartbeat_is_down() -> None:
    [gateway] = read_components({"gateway": {"heartbeat": "yesterday"}}, NOW)
    assert gateway.health == "down" and gateway.sessions == ()


def test_blotter_filters_ignore_what_does_not_parse() -> None:
    f = BlotterFilter.from_args({"status": "bogus", "page": "-3", "since": "not a time",
                                 "account": " DEMO1 ", "q": "abc"})
    assert (f.status, f.page, f.since, f.account, f.search) == ("", 1, None, "DEMO1", "abc")


def test_blotter_filter_links_keep_the_filter_and_change_the_page() -> None:
    f = BlotterFilter.from_args({"status": "open", "since": "2026-11-27T09:30", "page": "2"})
    assert f.since == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert f.query_args(page=3) == {"status": "open", "since": "2026-11-27T09:30", "page": "3"}
    assert f.query_args(page=1) == {"status": "open", "since": "2026-11-27T09:30"}


@pytest.mark.parametrize(("value", "places", "text"), [
    (Decimal("100.00000000"), None, "100"), (Decimal("10.2500"), None, "10.25"),
    (Decimal("1E+2"), None, "100"), (None, None, ""), ("0.5", None, "0.5"),
    (Decimal("1234567.891"), 2, "1,234,567.89"),
])
def test_decimals_are_shown_exactly_without_exponents(
    value: object, places: int | None, text: str
) -> None:
    assert decimal_text(value, places) == text


def test_times_are_utc_to_the_millisecond_and_ages_are_short() -> None:
    moment = datetime(2026, 11, 27, 15, 0, 1, 234567, tzinfo=UTC)
    assert utc_time(moment) == "2026-11-27 15:00:01.234"
    assert utc_time(moment, with_date=False) == "15:00:01.234"
    assert age(NOW - timedelta(seconds=3725), NOW) == "1h 02m"
    assert age(NOW - timedelta(seconds=42), NOW) == "42s"


def test_statuses_map_to_css_classes_and_fix_separators_are_visible() -> None:
    assert status_class("partially_filled") == "st st-partially-filled"
    assert fix_text("8=FIX.4.4\x0135=D\x01") == "8=FIX.4.4|35=D|"


def test_passwords_are_argon2id_and_short_ones_are_refused() -> None:
    stored = hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "a long enough password")
    assert not verify_password(stored, "wrong")
    assert not verify_password(None, "anything")  # unknown user: same work, never a match
    assert password_problem("short") is not None
    assert password_problem("a long enough password") is None


@pytest.mark.parametrize(("key", "ok"), [(None, False), ("", False), ("x" * 31, False),
                                         ("x" * 32, True)])
def test_the_secret_key_must_be_set_and_long(key: str | None, ok: bool) -> None:
    assert (secret_key_problem(key) is None) is ok


def test_the_login_throttle_counts_in_memory_when_redis_is_down() -> None:
    clock = [0.0]
    throttle = LoginThrottle("redis://127.0.0.1:1/0", prefix="t:", per_minute=3,
                             clock=lambda: clock[0])
    for _ in range(3):
        assert not throttle.is_blocked("alice", "10.0.0.1")
        throttle.record_failure("alice", "10.0.0.1")
    assert throttle.is_blocked("alice", "10.0.0.1")
    assert not throttle.is_blocked("alice", "10.0.0.2")
    assert not throttle.is_blocked("bob", "10.0.0.1")
    clock[0] = 61.0
    assert not throttle.is_blocked("alice", "10.0.0.1")
    throttle.record_failure("alice", "10.0.0.1")
    throttle.clear("alice", "10.0.0.1")
    assert not throttle.is_blocked("alice", "10.0.0.1")
