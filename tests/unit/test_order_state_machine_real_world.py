"""Real-world cases beyond the matrices: reordering, duplicates, overfills, refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from oms.domain.order_events import AnomalyKind, PositionDelta
from oms.domain.order_inputs import (
    ExpireOrder,
    OperatorCloseOrder,
    OrderAccepted,
    OrderInput,
    RejectOrder,
    RequestCancel,
    RequestKind,
    RequestReplace,
    RestatementReason,
    RestateOrder,
    VenueExecutionReport,
)
from oms.domain.order_phases import Phase
from oms.domain.values import ExecType, OrdStatus, RejectSource, Side
from tests.unit.test_order_state_machine_support import (
    T0,
    Venue,
    cancel_reject,
    new_order,
    refused,
    step,
)

E, S = ExecType, OrdStatus
D = Decimal


def test_fill_before_the_ack_then_the_late_ack_changes_nothing() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.trade(400), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 400, 9600)
    assert order.acknowledged
    outcome = step(order, venue.new(), None, S.PARTIALLY_FILLED, 10000, 400, 9600)
    assert "changes nothing" in (outcome.note or "")


def test_late_ack_after_the_order_filled() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.trade(10000), E.FILL, S.FILLED, 10000, 10000, 0)
    step(order, venue.report(E.PENDING_NEW), None, S.FILLED, 10000, 10000, 0)
    step(order, venue.new(), None, S.FILLED, 10000, 10000, 0)


def test_fills_after_a_cancel_and_after_a_replace_were_sent() -> None:
    cancel, venue = new_order(), Venue()
    step(cancel, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(cancel, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    step(cancel, venue.trade(100), E.PARTIAL_FILL, S.PENDING_CANCEL, 10000, 100, 9900)
    step(cancel, venue.canceled("Y"), E.CANCELED, S.CANCELED, 10000, 100, 0)

    repl, venue = new_order(), Venue()
    step(repl, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(
        repl,
        RequestReplace("Y", price=D("10.1")),
        E.PENDING_REPLACE,
        S.PENDING_REPLACE,
        10000,
        0,
        10000,
    )
    step(repl, venue.trade(100), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 100, 9900)
    step(repl, venue.replaced("Y"), E.REPLACED, S.PARTIALLY_FILLED, 10000, 100, 9900)
    assert repl.price == D("10.1")


def test_cancel_reject_arriving_after_the_fill_leaves_the_order_filled() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(6000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 6000, 4000)
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 6000, 4000)
    step(order, venue.pending_cancel("Y"), None, S.PENDING_CANCEL, 10000, 6000, 4000)
    step(order, venue.trade(4000), E.FILL, S.PENDING_CANCEL, 10000, 10000, 0)
    step(order, cancel_reject("Y"), E.CANCEL_REJECTED, S.FILLED, 10000, 10000, 0)
    assert order.phase is Phase.FILLED and order.pending == ()


def test_duplicate_exec_id_is_ignored_and_reported_as_duplicate() -> None:
    order, venue = new_order(), Venue()
    fill = venue.trade(1000)
    first = order.apply(fill, T0)
    version = order.version
    again = order.apply(fill, T0)
    assert first.applied and again.duplicate and not again.applied
    assert again.events == () and again.position_deltas == ()
    assert (order.cum_qty, order.version, order.seq) == (D(1000), version, 2)


def test_a_venue_reusing_an_exec_id_for_a_different_fill_is_refused_for_an_operator() -> None:
    """FIX promises ExecIDs unique per trading day only, and a venue restart may reuse them:
    a fill under an applied ExecID with other LastQty/LastPx is no resend. It is neither
    dropped as a duplicate (a fill would be lost) nor applied (it may be one): refused, with
    both executions named, for an operator to check with the venue."""
    order, venue = new_order(), Venue()
    first = venue.trade(1000, "10")
    assert order.apply(first, T0).applied
    version = order.version
    reused = order.apply(replace(first, last_qty=D(500), last_px=D("10.05")), T0)
    assert reused.refused is not None and not reused.duplicate
    assert "ExecID E1 reused" in reused.refused and "1000 @ 10" in reused.refused
    assert "500 @ 10.05" in reused.refused
    assert (order.cum_qty, order.version) == (D(1000), version)
    assert order.apply(first, T0).duplicate  # the same fill again is still a plain resend


def test_poss_dup_reports_are_applied_once_by_exec_id() -> None:
    order, venue = new_order(), Venue()
    fresh = venue.trade(1000, poss_dup=True)  # possibly a duplicate, but new to the OMS
    step(order, fresh, E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 1000, 9000)
    outcome = order.apply(replace(fresh, poss_resend=True), T0)
    assert outcome.duplicate and "PossDup" in (outcome.note or "")
    assert "PossResend" in (outcome.note or "")
    assert order.cum_qty == 1000


def test_overfill_is_applied_recorded_and_surfaced_never_clipped() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.trade(9000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 9000, 1000)
    outcome = step(order, venue.trade(1500), E.FILL, S.FILLED, 10000, 10500, 0)
    assert order.overfilled
    assert [a.kind for a in outcome.anomalies] == [AnomalyKind.OVERFILL]
    assert "10500" in outcome.anomalies[0].text
    assert outcome.position_deltas == (
        PositionDelta("DEMO1", "ZVZZT", D(1500), D(10), "E2", E.FILL),
    )
    # a further fill is still applied, and flagged again
    outcome = step(order, venue.trade(100), E.FILL, S.FILLED, 10000, 10600, 0)
    assert [a.kind for a in outcome.anomalies] == [AnomalyKind.OVERFILL]


def test_venue_cum_qty_disagreeing_with_the_oms_is_flagged() -> None:
    order, venue = new_order(), Venue()
    outcome = step(
        order,
        venue.trade(1000, cum_qty=D(3000)),
        E.PARTIAL_FILL,
        S.PARTIALLY_FILLED,
        10000,
        1000,
        9000,
    )
    assert [a.kind for a in outcome.anomalies] == [AnomalyKind.CUM_QTY_MISMATCH]


def test_sell_fill_moves_the_position_down() -> None:
    order, venue = new_order(side=Side.SELL_SHORT), Venue()
    outcome = step(
        order, venue.trade(300, "9.5"), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 300, 9700
    )
    assert outcome.position_deltas[0].quantity == -300


def test_oms_rejection_of_a_created_order() -> None:
    order = new_order(accepted=False)
    assert order.phase is Phase.CREATED and order.seq == 0
    outcome = step(
        order,
        RejectOrder(RejectSource.RISK, "max order quantity 5000 exceeded"),
        E.REJECTED,
        S.REJECTED,
        10000,
        0,
        0,
    )
    event = outcome.events[0]
    assert (event.seq, event.reject_source) == (1, RejectSource.RISK)
    refused(order, OrderAccepted())


def test_an_unsolicited_close_answers_every_request_in_flight() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(
        order,
        RequestReplace("Y", quantity=D(9000)),
        E.PENDING_REPLACE,
        S.PENDING_REPLACE,
        10000,
        0,
        10000,
    )
    outcome = step(
        order, venue.canceled(text="cancel on disconnect"), E.CANCELED, S.CANCELED, 10000, 0, 0
    )
    assert [(e.exec_type, e.cl_ord_id) for e in outcome.events] == [
        (E.CANCELED, "X"),
        (E.REPLACE_REJECTED, "Y"),
    ]
    assert outcome.events[1].ord_status is S.CANCELED
    # the venue's own answer to Y, arriving later, changes nothing
    step(order, cancel_reject("Y", RequestKind.REPLACE), None, S.CANCELED, 10000, 0, 0)


def test_operator_resolves_an_order_in_doubt() -> None:
    order = new_order()
    close = OperatorCloseOrder("alice", OrdStatus.REJECTED, "venue has no trace of it")
    outcome = step(order, close, E.REJECTED, S.REJECTED, 10000, 0, 0)
    assert outcome.events[0].reject_source is RejectSource.OPERATOR
    assert "alice" in (outcome.events[0].text or "")


def test_operator_restatement_is_an_event() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    outcome = step(
        order,
        RestateOrder("bob", "2:1 split", quantity=D(20000), price=D(5)),
        E.RESTATED,
        S.NEW,
        20000,
        0,
        20000,
    )
    assert order.price == 5 and "bob" in (outcome.events[0].text or "")


def test_seq_counts_events_and_version_counts_applied_inputs() -> None:
    order, venue = new_order(), Venue()
    assert (order.seq, order.version) == (1, 1)
    order.apply(venue.new(), T0)
    order.apply(venue.status(S.NEW), T0)  # applied, no event
    refused(order, RequestCancel("X"))  # refused: neither moves
    assert (order.seq, order.version) == (2, 3)


def test_event_time_is_the_venue_transact_time_when_given() -> None:
    order, venue = new_order(), Venue()
    venue_time = T0 - timedelta(milliseconds=3)
    outcome = order.apply(venue.new(transact_time=venue_time), T0)
    assert outcome.events[0].transact_time == venue_time
    outcome = order.apply(RequestCancel("Y"), T0)
    assert outcome.events[0].transact_time == T0


@pytest.mark.parametrize(
    ("setup", "value", "reason"),
    [
        ("filled", RequestCancel("Y"), "request_cancel is not valid for an order in phase filled"),
        ("created", RequestCancel("Y"), "phase created"),
        ("canceled", RequestReplace("Z", quantity=D(5)), "phase closed"),
        ("cancel_pending", RequestReplace("Z", quantity=D(9000)), "a cancel request is pending"),
        ("cancel_pending", RequestCancel("Z"), "already pending"),
        ("working", RequestCancel("X"), "already used"),
        ("working", RequestReplace("Y"), "must give a new quantity"),
        ("working", RequestReplace("Y", quantity=D(10000)), "changes nothing"),
        ("working", RequestReplace("Y", quantity=D(1000)), "not above cum_qty"),
        ("working", RequestReplace("Y", quantity=D(-5)), "positive"),
        ("filled", RequestReplace("Y", price=D(11)), "only a quantity above it"),
        ("working", OperatorCloseOrder("op", OrdStatus.FILLED, "no"), "an operator can close"),
        ("working", RestateOrder("op", "nothing"), "must give a quantity or a price"),
        ("canceled", ExpireOrder(), "phase closed"),
    ],
)
def test_invalid_commands_are_refused_with_a_reason(
    setup: str, value: OrderInput, reason: str
) -> None:
    order, venue = new_order(accepted=setup != "created"), Venue()
    if setup != "created":
        order.apply(venue.new(), T0)
        order.apply(venue.trade(1000), T0)
    if setup == "filled":
        order.apply(venue.trade(9000), T0)
    if setup in ("cancel_pending", "canceled"):
        order.apply(RequestCancel("C1"), T0)
    if setup == "canceled":
        order.apply(venue.canceled("C1"), T0)
    outcome = refused(order, value)
    assert reason in (outcome.refused or "")
    assert outcome.anomalies == ()  # commands are refused, not flagged


@pytest.mark.parametrize(
    "report",
    [
        Venue().replaced("NOT-SENT", 5000),
        Venue().pending_cancel("NOT-SENT"),
        Venue().report(E.CANCEL_REJECTED),
        Venue().rejected(),
        Venue().trade(0),
        Venue().report(E.PARTIAL_FILL, last_qty=D(100)),
        Venue().restated(RestatementReason.OTHER, 0),
    ],
    ids=[
        "replaced-unknown",
        "pending-unknown",
        "cancel-rejected-er",
        "rejected-after-ack",
        "zero-fill",
        "no-price",
        "zero-qty-restatement",
    ],
)
def test_reports_that_do_not_fit_are_refused_and_flagged(report: VenueExecutionReport) -> None:
    order = new_order()
    order.apply(Venue().new(exec_id="ACK"), T0)
    outcome = refused(order, report)
    assert outcome.anomalies and outcome.anomalies[0].kind is AnomalyKind.UNEXPECTED_REPORT


def test_a_naive_clock_reading_is_refused() -> None:
    order = new_order()
    outcome = refused(order, RequestCancel("Y"), at=T0.replace(tzinfo=None))
    assert "timezone" in (outcome.refused or "")
