"""Operator actions reach the gateway as durable commands with who, what, when and why in the
audit log; dangerous ones take a confirmation step; bad input changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text

from oms.domain.risk import RiskLimits
from tests.integration.admin import seed
from tests.integration.admin.conftest import SignedIn, count, post_form

pytestmark = pytest.mark.integration


def last_command(engine: Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM operator_commands ORDER BY id DESC LIMIT 1")).one()


def last_audit(engine: Engine, action: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM operator_audit WHERE action = :a "
                                 "ORDER BY id DESC LIMIT 1"), {"a": action}).one()


def commands(engine: Engine) -> int:
    return count(engine, "SELECT count(*) FROM operator_commands")


def test_cancelling_an_order_sends_the_gateway_a_command_with_who_and_why(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("tom")
    response = post_form(client, f"/orders/{seed.RESTING}/cancel", {"reason": "stale quote"})
    assert response.status_code == 302
    command = last_command(admin_engine)
    assert (command.kind, command.payload, command.issued_by, command.reason) == (
        "cancel_order", {"order_id": seed.RESTING}, "tom", "stale quote")
    audit = last_audit(admin_engine, "cancel_order")
    assert (audit.username, audit.target, audit.reason) == ("tom", seed.RESTING, "stale quote")
    assert audit.details["command_id"] == command.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Command #{command.id} sent to the gateway" in page
    assert "waiting for the gateway" in page  # no gateway runs in these tests


def test_a_finished_order_cannot_be_cancelled(signed_in: SignedIn, admin_engine: Engine) -> None:
    client = signed_in("tom")
    before = commands(admin_engine)
    response = post_form(client, f"/orders/{seed.FILLED}/cancel", {"reason": "oops"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is filled: nothing to cancel" in page
    assert commands(admin_engine) == before


@pytest.mark.parametrize("reason", ["", "   "])
def test_every_action_needs_a_reason(
    signed_in: SignedIn, admin_engine: Engine, reason: str
) -> None:
    client = signed_in("alice")
    before = commands(admin_engine)
    post_form(client, f"/orders/{seed.RESTING}/cancel", {"reason": reason})
    post_form(client, "/kill-switch/trip",
              {"scope": "global", "key": "", "reason": reason, "confirm": "yes"})
    post_form(client, "/breakers/DEMO2/reenable", {"reason": reason})
    assert commands(admin_engine) == before


def test_cancel_all_shows_what_it_will_cancel_before_doing_it(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("tom")
    before = commands(admin_engine)
    review = post_form(client, "/accounts/cancel-all", {"account": "DEMO1", "reason": "eod"})
    html = review.get_data(as_text=True)
    assert review.status_code == 200 and "1 open order(s) of account DEMO1" in html
    assert 'name="confirm" value="yes"' in html
    assert commands(admin_engine) == before
    post_form(client, "/accounts/cancel-all", {"account": "DEMO1", "reason": "eod",
                                               "confirm": "yes"})
    command = last_command(admin_engine)
    assert (command.kind, command.payload, command.reason) == (
        "cancel_all", {"account": "DEMO1"}, "eod")


def test_tripping_a_kill_switch_takes_a_confirmation_step(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    before = commands(admin_engine)
    review = post_form(client, "/kill-switch/trip",
                       {"scope": "global", "key": "", "reason": "venue outage"})
    html = review.get_data(as_text=True)
    assert "Trip the kill switch: GLOBAL" in html and "2 open order(s)" in html
    assert commands(admin_engine) == before
    post_form(client, "/kill-switch/trip",
              {"scope": "global", "key": "", "reason": "venue outage", "confirm": "yes"})
    command = last_command(admin_engine)
    assert (command.kind, command.payload) == ("kill_switch_trip", {"scope": "global", "key": "*"})
    assert last_audit(admin_engine, "kill_switch_trip").target == "global:*"


@pytest.mark.parametrize(("scope", "key", "message"), [
    ("account", "NOBODY", "unknown account &#39;NOBODY&#39;"),
    ("venue", "", "a venue kill switch needs the venue it stops"),
    ("symbol", "ZZZZ", "unknown symbol &#39;ZZZZ&#39;"),
])
def test_a_kill_switch_for_something_unknown_is_refused(
    signed_in: SignedIn, admin_engine: Engine, scope: str, key: str, message: str
) -> None:
    client = signed_in("alice")
    before = commands(admin_engine)
    response = post_form(client, "/kill-switch/trip",
                         {"scope": scope, "key": key, "reason": "x", "confirm": "yes"})
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert commands(admin_engine) == before


def test_re_enabling_needs_a_switch_that_is_tripped(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    before = commands(admin_engine)
    response = post_form(client, "/kill-switch/clear",
                         {"scope": "venue", "key": "SIM", "reason": "all good"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "no venue kill switch is tripped for SIM" in page
    assert commands(admin_engine) == before
    post_form(client, "/kill-switch/clear", {"scope": "account", "key": "DEMO2",
                                             "reason": "strategy fixed"})
    command = last_command(admin_engine)
    assert (command.kind, command.payload) == ("kill_switch_clear",
                                               {"scope": "account", "key": "DEMO2"})


def test_a_halted_account_is_re_enabled_by_command(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    post_form(signed_in("alice"), "/breakers/DEMO2/reenable", {"reason": "loop fixed"})
    command = last_command(admin_engine)
    assert (command.kind, command.payload, command.reason) == (
        "breaker_reenable", {"account": "DEMO2"}, "loop fixed")
    before = commands(admin_engine)
    post_form(signed_in("alice"), "/breakers/DEMO1/reenable", {"reason": "not halted"})
    assert commands(admin_engine) == before


def test_new_limits_are_stored_versioned_audited_and_reloaded_by_the_gateway(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    form = client.get("/limits/DEMO2").get_data(as_text=True)
    assert 'name="version" value="0"' in form
    response = post_form(client, "/limits/DEMO2", {
        "version": "0", "max_order_qty": "250", "price_collar": "0.05",
        "account_order_rate.count": "5", "account_order_rate.seconds": "1",
        "restricted_symbols": "MSFT, AAPL", "reason": "tighten after incident",
    })
    assert response.status_code == 302
    with admin_engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM risk_limits WHERE account = 'DEMO2'")).one()
    assert (row.version, row.updated_by) == (1, "alice")
    assert RiskLimits.from_mapping(row.limits).to_mapping() == row.limits
    assert row.limits["max_order_qty"] == "250"
    assert row.limits["restricted_symbols"] == ["AAPL", "MSFT"]
    audit = last_audit(admin_engine, "risk_limits_edit")
    assert audit.details["version"] == 1 and audit.details["after"] == row.limits
    assert audit.reason == "tighten after incident"
    command = last_command(admin_engine)
    assert (command.kind, command.payload) == ("limits_changed", {"account": "DEMO2"})
    page = client.get("/limits").get_data(as_text=True)
    assert "v1 by alice" in page


def test_a_save_over_someone_elses_newer_limits_is_refused(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    post_form(client, "/limits/DEMO1", {"version": "0", "max_order_qty": "9000", "reason": "a"})
    before = commands(admin_engine)
    stale = post_form(client, "/limits/DEMO1",
                      {"version": "0", "max_order_qty": "1", "reason": "b"})
    assert stale.status_code == 409
    assert "changed by alice meanwhile" in stale.get_data(as_text=True)
    assert commands(admin_engine) == before
    with admin_engine.connect() as conn:
        stored = conn.execute(text("SELECT limits FROM risk_limits WHERE account = 'DEMO1'")
                              ).scalar_one()
    assert stored["max_order_qty"] == "9000"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("max_order_qty", "lots", "Max order quantity: not a decimal"),
    ("max_open_orders", "2.5", "Max open orders: expected a whole number"),
    ("price_collar", "-0.1", "Price collar: price_collar must not be negative"),
    ("account_order_rate.count", "5", "give both a count and a number of seconds"),
])
def test_an_invalid_limit_is_refused_with_its_name_and_nothing_is_saved(
    signed_in: SignedIn, admin_engine: Engine, field: str, value: str, message: str
) -> None:
    before = (commands(admin_engine), count(admin_engine, "SELECT count(*) FROM risk_limits"))
    response = post_form(signed_in("alice"), "/limits/DEMO2",
                         {"version": "0", field: value, "reason": "try"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert (commands(admin_engine),
            count(admin_engine, "SELECT count(*) FROM risk_limits")) == before


def test_an_in_doubt_order_is_closed_by_hand_without_a_message_to_the_venue(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    post_form(client, f"/orders/{seed.IN_DOUBT}/close",
              {"status": "expired", "reason": "venue confirms it expired it"})
    command = last_command(admin_engine)
    assert (command.kind, command.payload, command.reason) == (
        "close_order", {"order_id": seed.IN_DOUBT, "status": "expired"},
        "venue confirms it expired it")
    before = commands(admin_engine)
    for status, order_id in (("filled", seed.IN_DOUBT), ("canceled", seed.FILLED)):
        post_form(client, f"/orders/{order_id}/close", {"status": status, "reason": "x"})
    assert commands(admin_engine) == before


def test_an_unmatched_report_is_resolved_with_who_and_what(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    with admin_engine.begin() as conn:
        report_id = conn.execute(text(
            "INSERT INTO unmatched_reports (venue, reason, fields, received_at) "
            "VALUES ('SIM', 'test', '{}', now()) RETURNING id")).scalar_one()
    post_form(client, f"/exceptions/unmatched/{report_id}/resolve",
              {"resolution": "venue busted it"})
    with admin_engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM unmatched_reports WHERE id = :i"),
                           {"i": report_id}).one()
    assert (row.resolved_by, row.resolution) == ("alice", "venue busted it")
    assert last_audit(admin_engine, "resolve_unmatched").target == f"unmatched:{report_id}"
    again = post_form(client, f"/exceptions/unmatched/{report_id}/resolve", {"resolution": "x"})
    assert "already resolved" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_an_admin_adds_an_operator_with_an_argon2id_hash(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    post_form(client, "/users", {"username": "olga", "role": "trader",
                                 "password": "a long enough password", "reason": "new hire"})
    with admin_engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM operators WHERE username = 'olga'")).one()
    assert row.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(row.password_hash, "a long enough password")
    assert last_audit(admin_engine, "user_add").details == {"role": "trader"}
    short = post_form(client, "/users", {"username": "omar", "role": "viewer",
                                         "password": "short", "reason": "x"})
    assert "at least 12 characters" in client.get(short.headers["Location"]).get_data(
        as_text=True)


def test_an_admin_changes_roles_and_disables_accounts_but_not_their_own(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    post_form(client, "/users", {"username": "quinn", "role": "viewer",
                                 "password": "a long enough password", "reason": "x"})
    post_form(client, "/users/quinn/role", {"role": "admin", "reason": "on call"})
    post_form(client, "/users/quinn/disabled", {"disabled": "1", "reason": "left the desk"})
    with admin_engine.connect() as conn:
        row = conn.execute(text("SELECT role, disabled FROM operators WHERE username = 'quinn'"
                                )).one()
    assert (str(row.role), row.disabled) == ("admin", True)
    assert last_audit(admin_engine, "user_role").details == {"from": "viewer", "to": "admin"}
    assert last_audit(admin_engine, "user_disable").reason == "left the desk"
    own = post_form(client, "/users/alice/role", {"role": "viewer", "reason": "x"})
    assert "cannot change your own account" in client.get(own.headers["Location"]).get_data(
        as_text=True)
