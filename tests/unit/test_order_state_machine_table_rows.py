"""Every row of the transition table has a scenario here, and every missing pair is refused.

The Appendix D tests walk whole order lives; this file pins each (phase, input kind) row on its
own, so that deleting or re-pointing any row fails a test named after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from oms.domain.order_inputs import (
    ExpireOrder,
    OperatorCloseOrder,
    OrderAccepted,
    OrderInput,
    RejectOrder,
    RequestCancel,
    RequestKind,
    RequestNotTaken,
    RequestReplace,
    RestatementReason,
    RestateOrder,
)
from oms.domain.order_phases import InputKind, Phase
from oms.domain.order_transitions import TRANSITIONS
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus, RejectSource
from tests.unit.test_order_state_machine_support import (
    T0,
    Venue,
    cancel_reject,
    new_order,
    refused,
    step,
)

E, S, K, P = ExecType, OrdStatus, InputKind, Phase
D = Decimal

Setup = Callable[[], tuple[Order, Venue]]
Build = Callable[[Order, Venue], OrderInput]


def created() -> tuple[Order, Venue]:
    return new_order(accepted=False), Venue()


def pending(request: OrderInput | None = None) -> Setup:
    def setup() -> tuple[Order, Venue]:
        order = new_order()
        if request is not None:
            assert order.apply(request, T0).applied
        return order, Venue()

    return setup


def working(request: OrderInput | None = None) -> Setup:
    """Acknowledged, 1000 filled by E2 (E1 is the ack)."""

    def setup() -> tuple[Order, Venue]:
        order, venue = new_order(), Venue()
        for value in (venue.new(), venue.trade(1000)):
            assert order.apply(value, T0).applied
        if request is not None:
            assert order.apply(request, T0).applied
        return order, venue

    return setup


def filled(request: OrderInput | None = None) -> Setup:
    """Filled by E2 (1000) and E3 (9000); a request, if any, was sent before E3."""

    def setup() -> tuple[Order, Venue]:
        order, venue = working(request)()
        assert order.apply(venue.trade(9000), T0).applied
        return order, venue

    return setup


def closed() -> tuple[Order, Venue]:
    """Canceled by the venue after 1000 filled by E2."""
    order, venue = working()()
    assert order.apply(venue.canceled(), T0).applied
    return order, venue


CANCEL_Y = RequestCancel("Y")
REPLACE_Y = RequestReplace("Y", quantity=D(12000))


@dataclass(frozen=True)
class Row:
    setup: Setup
    build: Build
    exec_type: ExecType | None
    status: OrdStatus


def const(value: OrderInput) -> Build:
    return lambda order, venue: value


ROWS: dict[tuple[Phase, InputKind], Row] = {
    (P.CREATED, K.ACCEPT): Row(created, const(OrderAccepted()), E.PENDING_NEW, S.PENDING_NEW),
    (P.CREATED, K.REJECT): Row(
        created, const(RejectOrder(RejectSource.RISK, "limit")), E.REJECTED, S.REJECTED
    ),
    (P.CREATED, K.OPERATOR_CLOSE): Row(
        created, const(OperatorCloseOrder("op", S.CANCELED, "why")), E.CANCELED, S.CANCELED
    ),
    # pending new
    (P.PENDING_NEW, K.PENDING_NEW_REPORT): Row(
        pending(), lambda o, v: v.report(E.PENDING_NEW), None, S.PENDING_NEW
    ),
    (P.PENDING_NEW, K.NEW_REPORT): Row(pending(), lambda o, v: v.new(), E.NEW, S.NEW),
    (P.PENDING_NEW, K.REJECTED_REPORT): Row(
        pending(), lambda o, v: v.rejected(), E.REJECTED, S.REJECTED
    ),
    (P.PENDING_NEW, K.TRADE_REPORT): Row(
        pending(), lambda o, v: v.trade(10), E.PARTIAL_FILL, S.PARTIALLY_FILLED
    ),
    (P.PENDING_NEW, K.CANCELED_REPORT): Row(
        pending(), lambda o, v: v.canceled(), E.CANCELED, S.CANCELED
    ),
    (P.PENDING_NEW, K.EXPIRED_REPORT): Row(
        pending(), lambda o, v: v.expired(), E.EXPIRED, S.EXPIRED
    ),
    (P.PENDING_NEW, K.DONE_FOR_DAY_REPORT): Row(
        pending(), lambda o, v: v.done_for_day(), E.DONE_FOR_DAY, S.DONE_FOR_DAY
    ),
    (P.PENDING_NEW, K.RESTATED_REPORT): Row(
        pending(),
        lambda o, v: v.restated(RestatementReason.PARTIAL_DECLINE, 9000),
        E.RESTATED,
        S.PENDING_NEW,
    ),
    (P.PENDING_NEW, K.PENDING_CANCEL_REPORT): Row(
        pending(CANCEL_Y), lambda o, v: v.pending_cancel("Y"), None, S.PENDING_CANCEL
    ),
    (P.PENDING_NEW, K.PENDING_REPLACE_REPORT): Row(
        pending(REPLACE_Y), lambda o, v: v.pending_replace("Y"), None, S.PENDING_REPLACE
    ),
    (P.PENDING_NEW, K.REPLACED_REPORT): Row(
        pending(REPLACE_Y), lambda o, v: v.replaced("Y", 12000), E.REPLACED, S.NEW
    ),
    (P.PENDING_NEW, K.CANCEL_REJECT): Row(
        pending(CANCEL_Y), const(cancel_reject("Y")), E.CANCEL_REJECTED, S.PENDING_NEW
    ),
    (P.PENDING_NEW, K.STATUS_REPORT): Row(pending(), lambda o, v: v.status(S.NEW), E.NEW, S.NEW),
    (P.PENDING_NEW, K.REQUEST_NOT_TAKEN): Row(
        pending(), const(RequestNotTaken("X", "refused")), E.REJECTED, S.REJECTED
    ),
    (P.PENDING_NEW, K.REQUEST_CANCEL): Row(
        pending(), const(CANCEL_Y), E.PENDING_CANCEL, S.PENDING_CANCEL
    ),
    (P.PENDING_NEW, K.REQUEST_REPLACE): Row(
        pending(), const(REPLACE_Y), E.PENDING_REPLACE, S.PENDING_REPLACE
    ),
    (P.PENDING_NEW, K.EXPIRE): Row(pending(), const(ExpireOrder()), E.EXPIRED, S.EXPIRED),
    (P.PENDING_NEW, K.OPERATOR_CLOSE): Row(
        pending(), const(OperatorCloseOrder("op", S.EXPIRED, "why")), E.EXPIRED, S.EXPIRED
    ),
    # working
    (P.WORKING, K.PENDING_NEW_REPORT): Row(
        working(), lambda o, v: v.report(E.PENDING_NEW), None, S.PARTIALLY_FILLED
    ),
    (P.WORKING, K.NEW_REPORT): Row(working(), lambda o, v: v.new(), None, S.PARTIALLY_FILLED),
    (P.WORKING, K.TRADE_REPORT): Row(
        working(), lambda o, v: v.trade(10), E.PARTIAL_FILL, S.PARTIALLY_FILLED
    ),
    (P.WORKING, K.TRADE_CORRECT_REPORT): Row(
        working(), lambda o, v: v.correct("E2", 900, 10), E.TRADE_CORRECT, S.PARTIALLY_FILLED
    ),
    (P.WORKING, K.TRADE_CANCEL_REPORT): Row(
        working(), lambda o, v: v.bust("E2"), E.TRADE_CANCEL, S.NEW
    ),
    (P.WORKING, K.CANCELED_REPORT): Row(
        working(), lambda o, v: v.canceled(), E.CANCELED, S.CANCELED
    ),
    (P.WORKING, K.EXPIRED_REPORT): Row(working(), lambda o, v: v.expired(), E.EXPIRED, S.EXPIRED),
    (P.WORKING, K.DONE_FOR_DAY_REPORT): Row(
        working(), lambda o, v: v.done_for_day(), E.DONE_FOR_DAY, S.DONE_FOR_DAY
    ),
    (P.WORKING, K.RESTATED_REPORT): Row(
        working(),
        lambda o, v: v.restated(RestatementReason.REPRICING, price=D(9)),
        E.RESTATED,
        S.PARTIALLY_FILLED,
    ),
    (P.WORKING, K.PENDING_CANCEL_REPORT): Row(
        working(CANCEL_Y), lambda o, v: v.pending_cancel("Y"), None, S.PENDING_CANCEL
    ),
    (P.WORKING, K.PENDING_REPLACE_REPORT): Row(
        working(REPLACE_Y), lambda o, v: v.pending_replace("Y"), None, S.PENDING_REPLACE
    ),
    (P.WORKING, K.REPLACED_REPORT): Row(
        working(REPLACE_Y), lambda o, v: v.replaced("Y", 12000), E.REPLACED, S.PARTIALLY_FILLED
    ),
    (P.WORKING, K.CANCEL_REJECT): Row(
        working(CANCEL_Y), const(cancel_reject("Y")), E.CANCEL_REJECTED, S.PARTIALLY_FILLED
    ),
    (P.WORKING, K.STATUS_REPORT): Row(
        working(), lambda o, v: v.status(S.PARTIALLY_FILLED), None, S.PARTIALLY_FILLED
    ),
    (P.WORKING, K.REQUEST_NOT_TAKEN): Row(
        working(CANCEL_Y), const(RequestNotTaken("Y", "refused")), E.CANCEL_REJECTED,
        S.PARTIALLY_FILLED,
    ),
    (P.WORKING, K.REQUEST_CANCEL): Row(
        working(), const(CANCEL_Y), E.PENDING_CANCEL, S.PENDING_CANCEL
    ),
    (P.WORKING, K.REQUEST_REPLACE): Row(
        working(), const(REPLACE_Y), E.PENDING_REPLACE, S.PENDING_REPLACE
    ),
    (P.WORKING, K.EXPIRE): Row(working(), const(ExpireOrder()), E.EXPIRED, S.EXPIRED),
    (P.WORKING, K.RESTATE): Row(
        working(), const(RestateOrder("op", "fix", price=D(9))), E.RESTATED, S.PARTIALLY_FILLED
    ),
    (P.WORKING, K.OPERATOR_CLOSE): Row(
        working(), const(OperatorCloseOrder("op", S.CANCELED, "why")), E.CANCELED, S.CANCELED
    ),
    # filled
    (P.FILLED, K.PENDING_NEW_REPORT): Row(
        filled(), lambda o, v: v.report(E.PENDING_NEW), None, S.FILLED
    ),
    (P.FILLED, K.NEW_REPORT): Row(filled(), lambda o, v: v.new(), None, S.FILLED),
    (P.FILLED, K.TRADE_REPORT): Row(filled(), lambda o, v: v.trade(10), E.FILL, S.FILLED),
    (P.FILLED, K.TRADE_CORRECT_REPORT): Row(
        filled(), lambda o, v: v.correct("E3", 9000, 11), E.TRADE_CORRECT, S.FILLED
    ),
    (P.FILLED, K.TRADE_CANCEL_REPORT): Row(
        filled(), lambda o, v: v.bust("E3"), E.TRADE_CANCEL, S.PARTIALLY_FILLED
    ),
    (P.FILLED, K.DONE_FOR_DAY_REPORT): Row(
        filled(), lambda o, v: v.done_for_day(), E.DONE_FOR_DAY, S.DONE_FOR_DAY
    ),
    (P.FILLED, K.RESTATED_REPORT): Row(
        filled(),
        lambda o, v: v.restated(RestatementReason.VERBAL_CHANGE, 12000),
        E.RESTATED,
        S.PARTIALLY_FILLED,
    ),
    (P.FILLED, K.PENDING_CANCEL_REPORT): Row(
        filled(CANCEL_Y), lambda o, v: v.pending_cancel("Y"), None, S.PENDING_CANCEL
    ),
    (P.FILLED, K.PENDING_REPLACE_REPORT): Row(
        filled(REPLACE_Y), lambda o, v: v.pending_replace("Y"), None, S.PENDING_REPLACE
    ),
    (P.FILLED, K.REPLACED_REPORT): Row(
        filled(REPLACE_Y), lambda o, v: v.replaced("Y", 12000), E.REPLACED, S.PARTIALLY_FILLED
    ),
    (P.FILLED, K.CANCEL_REJECT): Row(
        filled(CANCEL_Y), const(cancel_reject("Y")), E.CANCEL_REJECTED, S.FILLED
    ),
    (P.FILLED, K.STATUS_REPORT): Row(filled(), lambda o, v: v.status(S.FILLED), None, S.FILLED),
    (P.FILLED, K.REQUEST_NOT_TAKEN): Row(
        filled(REPLACE_Y), const(RequestNotTaken("Y", "refused")), E.REPLACE_REJECTED, S.FILLED
    ),
    (P.FILLED, K.REQUEST_REPLACE): Row(
        filled(), const(REPLACE_Y), E.PENDING_REPLACE, S.PENDING_REPLACE
    ),
    (P.FILLED, K.RESTATE): Row(
        filled(),
        const(RestateOrder("op", "more", quantity=D(12000))),
        E.RESTATED,
        S.PARTIALLY_FILLED,
    ),
    # closed
    (P.CLOSED, K.PENDING_NEW_REPORT): Row(
        closed, lambda o, v: v.report(E.PENDING_NEW), None, S.CANCELED
    ),
    (P.CLOSED, K.NEW_REPORT): Row(closed, lambda o, v: v.new(), None, S.CANCELED),
    (P.CLOSED, K.TRADE_REPORT): Row(closed, lambda o, v: v.trade(10), E.PARTIAL_FILL, S.CANCELED),
    (P.CLOSED, K.TRADE_CORRECT_REPORT): Row(
        closed, lambda o, v: v.correct("E2", 900, 10), E.TRADE_CORRECT, S.CANCELED
    ),
    (P.CLOSED, K.TRADE_CANCEL_REPORT): Row(
        closed, lambda o, v: v.bust("E2"), E.TRADE_CANCEL, S.CANCELED
    ),
    (P.CLOSED, K.CANCELED_REPORT): Row(closed, lambda o, v: v.canceled(), None, S.CANCELED),
    (P.CLOSED, K.EXPIRED_REPORT): Row(closed, lambda o, v: v.expired(), None, S.CANCELED),
    (P.CLOSED, K.REJECTED_REPORT): Row(closed, lambda o, v: v.rejected(), None, S.CANCELED),
    (P.CLOSED, K.DONE_FOR_DAY_REPORT): Row(closed, lambda o, v: v.done_for_day(), None, S.CANCELED),
    (P.CLOSED, K.PENDING_CANCEL_REPORT): Row(
        closed, lambda o, v: v.pending_cancel("Y"), None, S.CANCELED
    ),
    (P.CLOSED, K.PENDING_REPLACE_REPORT): Row(
        closed, lambda o, v: v.pending_replace("Y"), None, S.CANCELED
    ),
    (P.CLOSED, K.CANCEL_REJECT): Row(closed, const(cancel_reject("Y")), None, S.CANCELED),
    (P.CLOSED, K.STATUS_REPORT): Row(closed, lambda o, v: v.status(S.CANCELED), None, S.CANCELED),
    (P.CLOSED, K.REQUEST_NOT_TAKEN): Row(
        closed, const(RequestNotTaken("Y", "refused")), None, S.CANCELED
    ),
}


def test_every_table_row_has_a_scenario_and_every_scenario_a_row() -> None:
    assert set(ROWS) == set(TRANSITIONS)


@pytest.mark.parametrize("key", list(ROWS), ids=[f"{p.value}-{k.value}" for p, k in ROWS])
def test_table_row(key: tuple[Phase, InputKind]) -> None:
    row = ROWS[key]
    order, venue = row.setup()
    assert order.phase is key[0]
    value = row.build(order, venue)
    outcome = order.apply(value, T0)
    assert outcome.applied, outcome.refused
    if row.exec_type is None:
        assert outcome.events == ()
    else:
        assert outcome.events and outcome.events[0].exec_type is row.exec_type
    assert order.status is row.status


SIMPLE_INPUTS: dict[InputKind, Build] = {
    K.ACCEPT: const(OrderAccepted()),
    K.REJECT: const(RejectOrder(RejectSource.RISK, "no")),
    K.REQUEST_CANCEL: const(RequestCancel("Z")),
    K.REQUEST_REPLACE: const(RequestReplace("Z", quantity=D(20000))),
    K.EXPIRE: const(ExpireOrder()),
    K.RESTATE: const(RestateOrder("op", "x", quantity=D(20000))),
    K.OPERATOR_CLOSE: const(OperatorCloseOrder("op", S.CANCELED, "x")),
    K.CANCEL_REJECT: const(cancel_reject("Z", RequestKind.REPLACE)),
    K.STATUS_REPORT: lambda o, v: v.status(S.NEW),
    K.REQUEST_NOT_TAKEN: const(RequestNotTaken("X", "refused")),
    K.PENDING_NEW_REPORT: lambda o, v: v.report(E.PENDING_NEW),
    K.NEW_REPORT: lambda o, v: v.new(),
    K.REJECTED_REPORT: lambda o, v: v.rejected(),
    K.TRADE_REPORT: lambda o, v: v.trade(10),
    K.TRADE_CORRECT_REPORT: lambda o, v: v.correct("E2", 5, 10),
    K.TRADE_CANCEL_REPORT: lambda o, v: v.bust("E2"),
    K.PENDING_CANCEL_REPORT: lambda o, v: v.pending_cancel("Z"),
    K.CANCELED_REPORT: lambda o, v: v.canceled(),
    K.PENDING_REPLACE_REPORT: lambda o, v: v.pending_replace("Z"),
    K.REPLACED_REPORT: lambda o, v: v.replaced("Z", 20000),
    K.EXPIRED_REPORT: lambda o, v: v.expired(),
    K.DONE_FOR_DAY_REPORT: lambda o, v: v.done_for_day(),
    K.RESTATED_REPORT: lambda o, v: v.restated(RestatementReason.OTHER, 20000),
    K.UNSUPPORTED: lambda o, v: v.report(E.REPLACE_REJECTED),
}
PHASES: dict[Phase, Setup] = {
    P.CREATED: created,
    P.PENDING_NEW: pending(),
    P.WORKING: working(),
    P.FILLED: filled(),
    P.CLOSED: closed,
}
MISSING = [(p, k) for p in Phase for k in InputKind if (p, k) not in TRANSITIONS]


@pytest.mark.parametrize("key", MISSING, ids=[f"{p.value}-{k.value}" for p, k in MISSING])
def test_pair_without_a_row_is_refused_with_a_reason(key: tuple[Phase, InputKind]) -> None:
    order, venue = PHASES[key[0]]()
    outcome = refused(order, SIMPLE_INPUTS[key[1]](order, venue))
    assert f"{key[1].value} is not valid for an order in phase {key[0].value}" in (
        outcome.refused or ""
    )


def test_scenario_helper_checks_rows() -> None:
    """The helper itself fails on a wrong row (so the matrices above cannot pass vacuously)."""
    order, venue = new_order(), Venue()
    with pytest.raises(AssertionError):
        step(order, venue.new(), E.NEW, S.PARTIALLY_FILLED, 10000, 0, 10000)
