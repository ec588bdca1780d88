"""Builders for the order state-machine tests: an order, its venue's reports, one matrix row.

The FIX Appendix D matrices give, per step, ExecType, OrdStatus, OrderQty, CumQty and
LeavesQty. ``step`` checks exactly those against the event the step produced and the order
after it. The OMS is the buy side of those matrices: its own cancel or replace request puts
the order in pending_cancel / pending_replace at once (the sell side's "Pending" report then
changes nothing), so fills crossing a request show the pending status (FIX precedence).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from oms.domain.order_events import Outcome
from oms.domain.order_inputs import (
    OrderAccepted,
    OrderInput,
    RequestKind,
    RestatementReason,
    SubmitOrder,
    VenueCancelReject,
    VenueExecutionReport,
)
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus, OrdType, Side, TimeInForce

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
D = Decimal
Number = int | str | Decimal


def new_order(
    quantity: Number = 10000,
    *,
    side: Side = Side.BUY,
    time_in_force: TimeInForce = TimeInForce.DAY,
    ord_type: OrdType = OrdType.LIMIT,
    price: Number | None = "10",
    cl_ord_id: str = "X",
    accepted: bool = True,
    order_id: str = "O1",
) -> Order:
    """An order sent to venue SIM (pending_new), or only created when not ``accepted``."""
    command = SubmitOrder(
        cl_ord_id=cl_ord_id,
        account="DEMO1",
        symbol="ZVZZT",
        side=side,
        ord_type=ord_type,
        quantity=D(quantity),
        price=None if price is None else D(price),
        time_in_force=time_in_force,
    )
    order = Order.create(order_id, command, venue="SIM")
    if accepted:
        outcome = order.apply(OrderAccepted(), T0)
        assert outcome.applied and outcome.events[0].exec_type is ExecType.PENDING_NEW
    return order


class Venue:
    """The venue side of one order: its execution reports, ExecIDs E1, E2, ..."""

    def __init__(self, venue_order_id: str = "V1") -> None:
        self.count = 0
        self.venue_order_id = venue_order_id

    def next_exec_id(self) -> str:
        self.count += 1
        return f"E{self.count}"

    def report(self, exec_type: ExecType | None, **fields: Any) -> VenueExecutionReport:
        fields.setdefault("exec_id", self.next_exec_id())
        fields.setdefault("venue_order_id", self.venue_order_id)
        return VenueExecutionReport(exec_type, **fields)

    def new(self, **fields: Any) -> VenueExecutionReport:
        return self.report(ExecType.NEW, **fields)

    def rejected(self, text: str = "rejected by the venue", **f: Any) -> VenueExecutionReport:
        return self.report(ExecType.REJECTED, text=text, **f)

    def trade(self, qty: Number, px: Number = "10", **fields: Any) -> VenueExecutionReport:
        return self.report(ExecType.PARTIAL_FILL, last_qty=D(qty), last_px=D(px), **fields)

    def pending_cancel(self, cl_ord_id: str) -> VenueExecutionReport:
        return self.report(ExecType.PENDING_CANCEL, cl_ord_id=cl_ord_id)

    def canceled(self, cl_ord_id: str | None = None, **fields: Any) -> VenueExecutionReport:
        return self.report(ExecType.CANCELED, cl_ord_id=cl_ord_id, **fields)

    def pending_replace(self, cl_ord_id: str) -> VenueExecutionReport:
        return self.report(ExecType.PENDING_REPLACE, cl_ord_id=cl_ord_id)

    def replaced(
        self, cl_ord_id: str, order_qty: Number | None = None, **fields: Any
    ) -> VenueExecutionReport:
        qty = None if order_qty is None else D(order_qty)
        return self.report(ExecType.REPLACED, cl_ord_id=cl_ord_id, order_qty=qty, **fields)

    def expired(self, **fields: Any) -> VenueExecutionReport:
        return self.report(ExecType.EXPIRED, **fields)

    def done_for_day(self, **fields: Any) -> VenueExecutionReport:
        return self.report(ExecType.DONE_FOR_DAY, **fields)

    def restated(
        self,
        reason: RestatementReason,
        order_qty: Number | None = None,
        **fields: Any,
    ) -> VenueExecutionReport:
        qty = None if order_qty is None else D(order_qty)
        return self.report(ExecType.RESTATED, restatement_reason=reason, order_qty=qty, **fields)

    def bust(self, ref_exec_id: str, **fields: Any) -> VenueExecutionReport:
        return self.report(ExecType.TRADE_CANCEL, ref_exec_id=ref_exec_id, **fields)

    def correct(
        self, ref_exec_id: str, qty: Number, px: Number, **fields: Any
    ) -> VenueExecutionReport:
        return self.report(
            ExecType.TRADE_CORRECT,
            ref_exec_id=ref_exec_id,
            last_qty=D(qty),
            last_px=D(px),
            **fields,
        )

    def status(self, ord_status: OrdStatus | None, **fields: Any) -> VenueExecutionReport:
        """An order-status response: ExecID "0", as many venues send (never deduplicated)."""
        return self.report(None, exec_id="0", ord_status=ord_status, **fields)


def cancel_reject(
    cl_ord_id: str,
    response_to: RequestKind = RequestKind.CANCEL,
    reason: str = "too late to cancel",
) -> VenueCancelReject:
    return VenueCancelReject(cl_ord_id=cl_ord_id, response_to=response_to, reason=reason)


def step(
    order: Order,
    value: OrderInput,
    exec_type: ExecType | None,
    status: OrdStatus,
    qty: Number,
    cum: Number,
    leaves: Number,
    *,
    last: Number | None = None,
    at: datetime = T0,
) -> Outcome:
    """Apply one input and check one matrix row: the (first) event and the order after it.

    ``exec_type`` None means the step must change nothing visible (no event).
    """
    outcome = order.apply(value, at)
    assert outcome.applied, outcome.refused
    expected = (status, D(qty), D(cum), D(leaves))
    if exec_type is None:
        assert outcome.events == (), outcome.events
    else:
        assert outcome.events, f"expected a {exec_type} event, got none ({outcome.note})"
        event = outcome.events[0]
        got = (event.ord_status, event.quantity, event.cum_qty, event.leaves_qty)
        assert (event.exec_type, *got) == (exec_type, *expected)
        if last is not None:
            assert event.last_qty == D(last)
    assert (order.status, order.quantity, order.cum_qty, order.leaves_qty) == expected
    return outcome


def refused(order: Order, value: OrderInput, at: datetime = T0) -> Outcome:
    """Apply an input that must be refused, and check that the order did not change."""
    before = snapshot(order)
    outcome = order.apply(value, at)
    assert outcome.refused, f"expected a refusal, got {outcome}"
    assert outcome.events == ()
    assert snapshot(order) == before
    return outcome


def snapshot(order: Order) -> tuple[object, ...]:
    """Every field of the order, deep enough to compare before and after."""
    return (
        order.status,
        order.quantity,
        order.price,
        order.cum_qty,
        order.leaves_qty,
        order.avg_px,
        order.cl_ord_id,
        order.orig_cl_ord_id,
        order.seq,
        order.version,
        order.pending,
        dict(order.fills.executions),
        dict(order.fills.aliases),
        frozenset(order.seen_exec_ids),
        order.overfilled,
        order.acknowledged,
        order.paused_for_day,
        order.closed_as,
    )
