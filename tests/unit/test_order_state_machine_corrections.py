"""FIX Appendix D, execution corrections and busts (D34-D36), with their position deltas."""

from __future__ import annotations

from decimal import Decimal

from oms.domain.order_events import AnomalyKind, PositionDelta
from oms.domain.order_inputs import RequestCancel, RequestReplace, RestatementReason
from oms.domain.values import ExecType, OrdStatus, Side, TimeInForce
from tests.unit.test_order_state_machine_support import (
    Venue,
    new_order,
    refused,
    step,
)

E, S = ExecType, OrdStatus
D = Decimal


def delta(qty: int, px: str, exec_id: str, reason: ExecType) -> PositionDelta:
    return PositionDelta("DEMO1", "ZVZZT", D(qty), D(px), exec_id, reason)


def test_d34_filled_order_followed_by_correction_and_cancellation_of_executions() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)  # E1
    out = step(
        order, venue.trade(1000, "100"), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 1000, 9000
    )  # E2 = C
    assert out.position_deltas == (delta(1000, "100", "E2", E.PARTIAL_FILL),)
    step(order, venue.trade(9000, "110"), E.FILL, S.FILLED, 10000, 10000, 0)  # E3 = D
    assert order.avg_px == 109
    # bust of C: the filled order reopens
    out = step(
        order,
        venue.bust("E2", cum_qty=D(9000)),
        E.TRADE_CANCEL,
        S.PARTIALLY_FILLED,
        10000,
        9000,
        1000,
    )
    event = out.events[0]
    assert (event.venue_exec_id, event.last_qty, event.last_px) == ("E2", D(1000), D(100))
    assert "busted" in (event.text or "")
    assert out.position_deltas == (delta(-1000, "100", "E2", E.TRADE_CANCEL),)
    assert order.avg_px == 110
    # correct the price of D to 100 (the correction is E5 = F)
    out = step(
        order,
        venue.correct("E3", 9000, "100"),
        E.TRADE_CORRECT,
        S.PARTIALLY_FILLED,
        10000,
        9000,
        1000,
    )
    assert out.position_deltas == (
        delta(-9000, "110", "E3", E.TRADE_CORRECT),
        delta(9000, "100", "E5", E.TRADE_CORRECT),
    )
    assert out.events[0].venue_exec_id == "E3" and order.avg_px == 100
    step(order, venue.trade(1000, "120"), E.FILL, S.FILLED, 10000, 10000, 0)  # E6 = G
    assert order.avg_px == 102
    # correct F (the correction of D) to 120; this correction is E7 = H
    step(order, venue.correct("E5", 9000, "120"), E.TRADE_CORRECT, S.FILLED, 10000, 10000, 0)
    assert order.avg_px == 120
    step(
        order,
        RequestReplace("Y", quantity=D(12000)),
        E.PENDING_REPLACE,
        S.PENDING_REPLACE,
        10000,
        10000,
        0,
    )
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 10000, 0)
    step(order, venue.replaced("Y", 12000), E.REPLACED, S.PARTIALLY_FILLED, 12000, 10000, 2000)
    # correct H from 9000 @ 120 to 9500 @ 120
    out = step(
        order,
        venue.correct("E7", 9500, "120"),
        E.TRADE_CORRECT,
        S.PARTIALLY_FILLED,
        12000,
        10500,
        1500,
    )
    assert sum(d.quantity for d in out.position_deltas) == 500
    assert order.avg_px == 120


def test_d35_canceled_order_followed_by_a_bust_and_a_new_execution() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(5000, "50"), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 5000, 5000)
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 5000, 5000)
    step(order, venue.pending_cancel("Y"), None, S.PENDING_CANCEL, 10000, 5000, 5000)
    step(order, venue.canceled("Y"), E.CANCELED, S.CANCELED, 10000, 5000, 0)
    # canceled takes precedence: the bust and the re-execution leave it canceled
    out = step(order, venue.bust("E2"), E.TRADE_CANCEL, S.CANCELED, 10000, 0, 0)
    assert out.position_deltas == (delta(-5000, "50", "E2", E.TRADE_CANCEL),)
    out = step(order, venue.trade(4000, "51"), E.PARTIAL_FILL, S.CANCELED, 10000, 4000, 0)
    assert out.position_deltas == (delta(4000, "51", "E6", E.PARTIAL_FILL),)
    assert [a.kind for a in out.anomalies] == [AnomalyKind.FILL_ON_CLOSED_ORDER]
    assert out.events[0].cl_ord_id == "Y"


def test_d36_gtc_order_with_corrections_on_both_days() -> None:
    order, venue = new_order(time_in_force=TimeInForce.GTC), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)  # A = E1
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 2000, 8000)  # B
    step(order, venue.done_for_day(), E.DONE_FOR_DAY, S.DONE_FOR_DAY, 10000, 2000, 8000)  # C
    renewal = venue.restated(RestatementReason.GT_RENEWAL)  # D
    step(order, renewal, E.RESTATED, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 3000, 7000)  # E5
    out = step(
        order,
        venue.correct("E2", 1500, "10"),
        E.TRADE_CORRECT,
        S.PARTIALLY_FILLED,
        10000,
        2500,
        7500,
    )
    assert sum(d.quantity for d in out.position_deltas) == -500
    step(
        order,
        venue.correct("E5", 500, "10"),
        E.TRADE_CORRECT,
        S.PARTIALLY_FILLED,
        10000,
        2000,
        8000,
    )


def test_d36_bust_and_correction_on_a_done_for_day_order() -> None:
    """A sell order done for the day (leaves 0) stays done; positions move back."""
    order, venue = new_order(side=Side.SELL), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(2000, "10"), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    out = step(
        order, venue.trade(1000, "11"), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 3000, 7000
    )
    assert out.position_deltas == (delta(-1000, "11", "E3", E.PARTIAL_FILL),)
    step(order, venue.done_for_day(), E.DONE_FOR_DAY, S.DONE_FOR_DAY, 10000, 3000, 0)
    out = step(
        order, venue.correct("E3", 1000, "12"), E.TRADE_CORRECT, S.DONE_FOR_DAY, 10000, 3000, 0
    )
    assert out.position_deltas == (
        delta(1000, "11", "E3", E.TRADE_CORRECT),
        delta(-1000, "12", "E5", E.TRADE_CORRECT),
    )
    out = step(order, venue.bust("E2"), E.TRADE_CANCEL, S.DONE_FOR_DAY, 10000, 1000, 0)
    assert out.position_deltas == (delta(2000, "10", "E2", E.TRADE_CANCEL),)
    assert order.avg_px == 12


def test_bust_of_an_unknown_or_already_busted_execution_is_refused_and_flagged() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 1000, 9000)
    outcome = refused(order, venue.bust("NOPE"))
    assert [a.kind for a in outcome.anomalies] == [AnomalyKind.UNKNOWN_EXECUTION]
    step(order, venue.bust("E1"), E.TRADE_CANCEL, S.NEW, 10000, 0, 10000)
    outcome = refused(order, venue.bust("E1"))
    assert "already busted" in (outcome.refused or "")
    refused(order, venue.correct("E1", 10, "10"))
