"""Kill switches: scopes, who may trip and clear them, mass-cancel intents, and what they stop."""

from __future__ import annotations

import pytest

from oms.domain.risk import (
    GLOBAL_KEY,
    KillSwitch,
    MassCancelIntent,
    ReplaceIntent,
    RiskCode,
    check_replace,
)
from oms.domain.values import KillScope, OperatorRole
from tests.unit.test_risk_support import NOW, D, check, context, order

ADMIN, TRADER, VIEWER = OperatorRole.ADMIN, OperatorRole.TRADER, OperatorRole.VIEWER


def tripped(scope: KillScope, key: str | None) -> KillSwitch:
    switch = KillSwitch()
    change = switch.trip(scope, key, "alice", TRADER, "runaway strategy", NOW)
    assert change.applied
    return switch


@pytest.mark.parametrize(
    ("scope", "key"),
    [(KillScope.GLOBAL, None), (KillScope.ACCOUNT, "DEMO1"), (KillScope.VENUE, "SIM"),
     (KillScope.SYMBOL, "AAPL")],
)
def test_a_tripped_switch_rejects_new_orders_in_its_scope(scope: KillScope, key: str) -> None:
    decision = check(order(), context(kill_switch=tripped(scope, key)))
    assert decision.code is RiskCode.KILL_SWITCH
    assert "tripped by alice at 2026-01-05T14:30:00+00:00: runaway strategy" in decision.text


@pytest.mark.parametrize(
    ("scope", "key"),
    [(KillScope.ACCOUNT, "DEMO2"), (KillScope.VENUE, "OTHER"), (KillScope.SYMBOL, "MSFT")],
)
def test_a_tripped_switch_leaves_orders_outside_its_scope_alone(
    scope: KillScope, key: str
) -> None:
    assert check(order(), context(kill_switch=tripped(scope, key))).accepted


def test_the_reject_names_the_scope() -> None:
    decision = check(order(), context(kill_switch=tripped(KillScope.ACCOUNT, "DEMO1")))
    assert decision.text.startswith("kill switch (account DEMO1) tripped by alice")


def test_tripping_returns_a_mass_cancel_of_the_scope() -> None:
    change = KillSwitch().trip(KillScope.VENUE, "SIM", "alice", TRADER, "venue down", NOW)
    assert change.mass_cancel is not None
    assert (change.mass_cancel.scope, change.mass_cancel.key) == (KillScope.VENUE, "SIM")
    assert change.mass_cancel.covers("ANY", "SIM", "ANY")
    assert not change.mass_cancel.covers("ANY", "OTHER", "ANY")


def test_global_mass_cancel_covers_every_order() -> None:
    intent = MassCancelIntent(KillScope.GLOBAL, GLOBAL_KEY, "stop")
    assert intent.covers("A", "V", "S")


@pytest.mark.parametrize(
    ("scope", "order_fields"),
    [(KillScope.ACCOUNT, ("K", "v", "s")), (KillScope.VENUE, ("a", "K", "s")),
     (KillScope.SYMBOL, ("a", "v", "K"))],
)
def test_mass_cancel_covers_exactly_its_scope(
    scope: KillScope, order_fields: tuple[str, str, str]
) -> None:
    intent = MassCancelIntent(scope, "K", "stop")
    assert intent.covers(*order_fields)
    assert not intent.covers("a", "v", "s")


def test_tripping_twice_keeps_the_first_record_and_sweeps_again() -> None:
    switch = tripped(KillScope.SYMBOL, "AAPL")
    again = switch.trip(KillScope.SYMBOL, "AAPL", "bob", ADMIN, "second", NOW)
    assert again.applied and again.mass_cancel is not None
    assert again.entry is not None and again.entry.tripped_by == "alice"
    assert len(switch.entries()) == 1


def test_a_viewer_may_not_trip_a_switch() -> None:
    switch = KillSwitch()
    change = switch.trip(KillScope.GLOBAL, None, "vic", VIEWER, "curious", NOW)
    assert not change.applied and change.mass_cancel is None
    assert change.text == "vic (viewer) may not trip a kill switch"
    assert check(order(), context(kill_switch=switch)).accepted


def test_a_trader_may_not_clear_a_switch() -> None:
    switch = tripped(KillScope.GLOBAL, None)
    change = switch.clear(KillScope.GLOBAL, None, "alice", TRADER, NOW)
    assert not change.applied
    assert change.text == "alice (trader) may not clear a kill switch: admin only"
    assert check(order(), context(kill_switch=switch)).code is RiskCode.KILL_SWITCH


def test_an_admin_clears_a_switch_and_orders_flow_again() -> None:
    switch = tripped(KillScope.ACCOUNT, "DEMO1")
    change = switch.clear(KillScope.ACCOUNT, "DEMO1", "root", ADMIN, NOW)
    assert change.applied and change.mass_cancel is None
    assert "cleared by root" in change.text
    assert check(order(), context(kill_switch=switch)).accepted
    assert switch.entries() == ()


def test_clearing_a_switch_that_is_not_tripped_changes_nothing() -> None:
    change = KillSwitch().clear(KillScope.SYMBOL, "AAPL", "root", ADMIN, NOW)
    assert not change.applied
    assert change.text == "no symbol kill switch is tripped for AAPL"


def test_a_scoped_switch_needs_a_key() -> None:
    change = KillSwitch().trip(KillScope.ACCOUNT, None, "alice", TRADER, "x", NOW)
    assert not change.applied


def test_state_is_rebuilt_from_stored_entries() -> None:
    switch = tripped(KillScope.VENUE, "SIM")
    restored = KillSwitch(switch.entries())
    assert restored.is_blocked("DEMO1", "SIM", "AAPL") == switch.is_blocked("DEMO1", "SIM", "AAPL")
    assert restored.is_blocked("DEMO1", "OTHER", "AAPL") is None


def test_replaces_are_stopped_by_a_kill_switch() -> None:
    replace = ReplaceIntent(order(50), filled_qty=D(0), current_leaves=D(100))
    ctx = context(kill_switch=tripped(KillScope.GLOBAL, None), open_buy_leaves=100)
    assert check_replace(replace, ctx, NOW).code is RiskCode.KILL_SWITCH
