"""FIX Appendix D, time in force (D32 FOK, D33 IOC), and the OMS's own expiry timer."""

from __future__ import annotations

from datetime import timedelta

from oms.domain.order_events import AnomalyKind
from oms.domain.order_inputs import ExpireOrder, RequestCancel
from oms.domain.values import ExecType, OrdStatus, TimeInForce
from tests.unit.test_order_state_machine_support import (
    T0,
    Venue,
    new_order,
    refused,
    step,
)

E, S = ExecType, OrdStatus


def test_d32_fill_or_kill_order_that_cannot_be_filled() -> None:
    order, venue = new_order(time_in_force=TimeInForce.FOK), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.canceled(text="cannot be filled"), E.CANCELED, S.CANCELED, 10000, 0, 0)
    assert not order.is_open


def test_d32_fill_or_kill_killed_before_any_acknowledgement() -> None:
    order, venue = new_order(time_in_force=TimeInForce.FOK), Venue()
    step(order, venue.canceled(), E.CANCELED, S.CANCELED, 10000, 0, 0)


def test_d33_immediate_or_cancel_order_that_cannot_be_filled_immediately() -> None:
    order, venue = new_order(time_in_force=TimeInForce.IOC), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 1000, 9000)
    step(order, venue.canceled(), E.CANCELED, S.CANCELED, 10000, 1000, 0)


def test_d33_venues_that_expire_the_rest_of_an_ioc_order() -> None:
    order, venue = new_order(time_in_force=TimeInForce.IOC), Venue()
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 1000, 9000)
    step(order, venue.expired(), E.EXPIRED, S.EXPIRED, 10000, 1000, 0)


def test_oms_expires_a_day_order_the_venue_left_open_at_the_close() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 1000, 9000)
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 1000, 9000)
    close = T0 + timedelta(hours=6)
    outcome = step(
        order,
        ExpireOrder("day order expired at SIM close"),
        E.EXPIRED,
        S.EXPIRED,
        10000,
        1000,
        0,
        at=close,
    )
    # the cancel in flight gets its answer, on the OMS clock
    assert [e.exec_type for e in outcome.events] == [E.EXPIRED, E.CANCEL_REJECTED]
    assert {e.transact_time for e in outcome.events} == {close}
    # the venue's own end-of-day cancel changes nothing; a late fill is applied and flagged
    step(order, venue.canceled("Y"), None, S.EXPIRED, 10000, 1000, 0)
    outcome = step(order, venue.trade(500), E.PARTIAL_FILL, S.EXPIRED, 10000, 1500, 0)
    assert [a.kind for a in outcome.anomalies] == [AnomalyKind.FILL_ON_CLOSED_ORDER]
    refused(order, ExpireOrder())


def test_a_filled_order_cannot_expire() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.trade(10000), E.FILL, S.FILLED, 10000, 10000, 0)
    assert "filled" in (refused(order, ExpireOrder()).refused or "")
