"""Properties of the order aggregate under arbitrary sequences of commands and venue reports.

Choices the properties pin down (documented in ``order_transitions``):
- cum_qty only goes down through a bust or a correction;
- while open, cum_qty + leaves_qty == quantity (leaves never negative: an overfill shows
  leaves 0 and is flagged); once closed, leaves_qty == 0;
- a closed order (canceled, expired, rejected, day order done for the day) stays closed: its
  ``closed_as`` never changes and it never trades again as far as leaves go. Late fills,
  busts and corrections still apply, so its status is the closed one or ``filled`` (FIX
  precedence: filled beats canceled). ``filled`` itself is not final: a bust, a correction or
  a replace that raises the quantity reopens it (Appendix D34, D8);
- the position deltas of all outcomes add up to the order's signed cum qty and notional, and
  avg_px is their exact fill-weighted average;
- applying the same inputs at the same times to a fresh order gives the same state, and the
  JSON snapshot of an order restores it exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.domain.order_events import Outcome
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
    VenueCancelReject,
    VenueExecutionReport,
)
from oms.domain.order_records import AVG_PX_CONTEXT
from oms.domain.order_snapshot import order_from_dict, order_to_dict
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus, OrdType, RejectSource, Side, TimeInForce
from tests.unit.test_order_state_machine_support import T0, Venue, new_order, snapshot

D = Decimal
ZERO = D(0)
QTY = st.integers(min_value=1, max_value=4000).map(D) | st.sampled_from(
    [D("0.5"), D("12.25"), D("100.01")]
)
PX = st.integers(min_value=1, max_value=50000).map(lambda n: D(n) / 100)

# Weighted by repetition: mostly trading and requests, now and then something that closes it.
ACTIONS = (
    ("trade",) * 6
    + ("ack", "bust", "correct", "cancel", "cancel_reject", "duplicate") * 2
    + ("replace", "pending_ack", "replaced") * 3
    + ("canceled", "done_for_day", "renewal", "expire", "operator_close", "status", "stray")
)


@dataclass
class Run:
    order: Order
    venue: Venue = field(default_factory=Venue)
    applied_reports: list[VenueExecutionReport] = field(default_factory=list)
    inputs: list[tuple[OrderInput, int]] = field(default_factory=list)
    requests: int = 0

    def next_request_id(self) -> str:
        self.requests += 1
        return f"R{self.requests}"


def draw_input(data: st.DataObject, run: Run) -> OrderInput:
    order, venue = run.order, run.venue
    action = data.draw(st.sampled_from(ACTIONS), label="action")
    live = list(order.fills.executions)
    pending = list(order.pending)
    if action == "ack":
        return venue.new()
    if action == "trade":
        return venue.trade(data.draw(QTY), data.draw(PX))
    if action in ("bust", "correct"):
        ref = data.draw(st.sampled_from([*live, "UNKNOWN"]))
        if action == "bust":
            return venue.bust(ref)
        return venue.correct(ref, data.draw(QTY), data.draw(PX))
    if action == "cancel":
        return RequestCancel(run.next_request_id())
    if action == "replace":
        quantity = data.draw(st.none() | QTY.map(lambda q: q + order.cum_qty))
        price = data.draw(st.none() | PX)
        return RequestReplace(run.next_request_id(), quantity=quantity, price=price)
    if action in ("pending_ack", "replaced", "canceled", "cancel_reject") and pending:
        request = data.draw(st.sampled_from(pending))
        if action == "pending_ack":
            if request.kind is RequestKind.CANCEL:
                return venue.pending_cancel(request.cl_ord_id)
            return venue.pending_replace(request.cl_ord_id)
        if action == "replaced":
            qty = data.draw(st.none() | QTY.map(lambda q: q + order.cum_qty))
            return venue.replaced(request.cl_ord_id, qty)
        if action == "canceled":
            return venue.canceled(request.cl_ord_id)
        return VenueCancelReject(request.cl_ord_id, request.kind, reason="no")
    if action == "canceled":
        return venue.canceled()
    if action == "done_for_day":
        return venue.done_for_day()
    if action == "renewal":
        return venue.restated(RestatementReason.GT_RENEWAL)
    if action == "expire":
        return ExpireOrder()
    if action == "operator_close":
        status = data.draw(st.sampled_from([OrdStatus.CANCELED, OrdStatus.EXPIRED]))
        return OperatorCloseOrder("op", status, "property test")
    if action == "status":
        return venue.status(data.draw(st.sampled_from(list(OrdStatus))))
    if action == "duplicate" and run.applied_reports:
        return data.draw(st.sampled_from(run.applied_reports))
    # a stray report: names a request never sent, or an unsupported exec type
    return data.draw(
        st.sampled_from(
            [
                venue.replaced("NEVER-SENT", 5),
                venue.pending_cancel("NEVER-SENT"),
                venue.report(ExecType.CANCEL_REJECTED),
                venue.rejected(),
            ]
        )
    )


@dataclass
class Model:
    """What the outcomes alone say: the executions they booked and the events they emitted."""

    executions: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    position: Decimal = ZERO
    notional: Decimal = ZERO
    events: int = 1  # the pending_new of new_order()
    applied: int = 1

    def take(self, outcome: Outcome, sign: int) -> None:
        for delta in outcome.position_deltas:
            self.position += delta.quantity
            self.notional += delta.quantity * delta.price
            if delta.quantity * sign > 0:
                self.executions[delta.exec_id] = (delta.quantity * sign, delta.price)
            else:
                self.executions.pop(delta.exec_id)
        for event in outcome.events:
            self.events += 1
            assert event.seq == self.events
        self.applied += outcome.applied


def check_invariants(order: Order, before: Order | None, outcome: Outcome, model: Model) -> None:
    sign = order.side.sign
    # positions from the deltas agree with the order's fills
    assert model.position == sign * order.cum_qty
    assert model.notional == sign * order.fills.notional
    assert model.executions == {k: (e.quantity, e.price) for k, e in order.fills.executions.items()}
    expected_avg = (
        AVG_PX_CONTEXT.divide(order.fills.notional, order.cum_qty) if order.cum_qty else D(0)
    )
    assert order.avg_px == expected_avg
    assert (order.seq, order.version) == (model.events, model.applied)
    # quantities
    assert order.leaves_qty >= 0
    if order.closed_as is None:
        assert order.leaves_qty == max(order.quantity - order.cum_qty, D(0))
        if order.cum_qty <= order.quantity:
            assert order.cum_qty + order.leaves_qty == order.quantity
    else:
        assert order.leaves_qty == 0
    if order.cum_qty > order.quantity:
        assert order.overfilled
    if before is None:
        return
    kinds = {e.exec_type for e in outcome.events}
    if order.cum_qty < before.cum_qty:
        assert kinds & {ExecType.TRADE_CANCEL, ExecType.TRADE_CORRECT}
    if before.closed_as is not None:
        assert order.closed_as == before.closed_as
        assert order.status in (order.closed_as, OrdStatus.FILLED)


def copy_for_compare(order: Order) -> Order:
    """A cheap stand-in for the fields ``check_invariants`` compares against."""
    return Order(
        order_id=order.order_id,
        account=order.account,
        symbol=order.symbol,
        side=order.side,
        ord_type=order.ord_type,
        time_in_force=order.time_in_force,
        quantity=order.quantity,
        price=order.price,
        stop_price=order.stop_price,
        venue=order.venue,
        expire_time=order.expire_time,
        cl_ord_id=order.cl_ord_id,
        cum_qty=order.cum_qty,
        closed_as=order.closed_as,
    )


ORDERS = st.builds(
    lambda qty, side, tif: new_order(qty, side=side, time_in_force=tif),
    st.integers(min_value=1000, max_value=10000),
    st.sampled_from(list(Side)),
    st.sampled_from([TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=ORDERS, data=st.data())
def test_any_sequence_keeps_the_invariants_and_replays_identically(
    order: Order, data: st.DataObject
) -> None:
    start = snapshot(order)
    initial = (order.quantity, order.side, order.time_in_force)
    run, model = Run(order), Model()
    check_invariants(order, None, Outcome(), model)
    outcomes = []
    for minute in range(data.draw(st.integers(min_value=1, max_value=40), label="steps")):
        value = draw_input(data, run)
        before, before_snapshot = copy_for_compare(order), snapshot(order)
        outcome = order.apply(value, T0 + timedelta(minutes=minute))
        if not outcome.applied:
            assert snapshot(order) == before_snapshot
            assert outcome.events == () and outcome.position_deltas == ()
        elif isinstance(value, VenueExecutionReport):
            run.applied_reports.append(value)
        model.take(outcome, order.side.sign)
        check_invariants(order, before, outcome, model)
        run.inputs.append((value, minute))
        outcomes.append(outcome)

    replayed = new_order(initial[0], side=initial[1], time_in_force=initial[2])
    assert snapshot(replayed) == start
    again = [replayed.apply(value, T0 + timedelta(minutes=m)) for value, m in run.inputs]
    assert again == outcomes
    assert replayed == order
    # the store keeps the aggregate as JSON: it comes back equal
    assert order_from_dict(json.loads(json.dumps(order_to_dict(order)))) == order


@settings(max_examples=200, deadline=None)
@given(
    fills=st.lists(st.tuples(QTY, PX), min_size=1, max_size=30),
    side=st.sampled_from(list(Side)),
)
def test_avg_px_is_the_exact_fill_weighted_average(
    fills: list[tuple[Decimal, Decimal]], side: Side
) -> None:
    order, venue = new_order(100000, side=side), Venue()
    for qty, px in fills:
        assert order.apply(venue.trade(qty, px), T0).applied
    cum = sum((q for q, _ in fills), D(0))
    notional = sum((q * p for q, p in fills), D(0))
    assert order.cum_qty == cum and order.fills.notional == notional
    assert order.avg_px == AVG_PX_CONTEXT.divide(notional, cum)
    # busting every fill brings everything back to zero, exactly
    for n in range(1, len(fills) + 1):
        assert order.apply(venue.bust(f"E{n}"), T0).applied
    assert (order.cum_qty, order.fills.notional, order.avg_px) == (ZERO, ZERO, ZERO)


NUMBERS = st.none() | QTY | PX | st.decimals(allow_nan=True, allow_infinity=True, places=3)
REQUEST_IDS = st.sampled_from(["X", "Y", "Z", "R1", ""])
EXEC_IDS = st.sampled_from(["E1", "E2", "E3", "0"])
ANY_REPORT = st.builds(
    VenueExecutionReport,
    exec_type=st.none() | st.sampled_from(list(ExecType)),
    exec_id=EXEC_IDS,
    ord_status=st.none() | st.sampled_from(list(OrdStatus)),
    cl_ord_id=st.none() | REQUEST_IDS,
    ref_exec_id=st.none() | EXEC_IDS,
    last_qty=NUMBERS,
    last_px=NUMBERS,
    cum_qty=NUMBERS,
    order_qty=NUMBERS,
    price=NUMBERS,
    restatement_reason=st.none() | st.sampled_from(list(RestatementReason)),
)
ANY_COMMAND = st.one_of(
    st.builds(OrderAccepted),
    st.builds(RejectOrder, source=st.sampled_from(list(RejectSource)), text=st.just("no")),
    st.builds(RequestCancel, cl_ord_id=REQUEST_IDS),
    st.builds(
        RequestReplace,
        cl_ord_id=REQUEST_IDS,
        quantity=NUMBERS,
        price=NUMBERS,
        stop_price=NUMBERS,
    ),
    st.builds(ExpireOrder),
    st.builds(
        RestateOrder, operator=st.just("op"), text=st.just("t"), quantity=NUMBERS, price=NUMBERS
    ),
    st.builds(
        OperatorCloseOrder,
        operator=st.just("op"),
        status=st.sampled_from(list(OrdStatus)),
        text=st.just("t"),
    ),
    st.builds(
        VenueCancelReject, cl_ord_id=REQUEST_IDS, response_to=st.sampled_from(list(RequestKind))
    ),
)
ANY_ORDER = st.builds(
    lambda qty, ord_type, accepted: new_order(
        qty, ord_type=ord_type, price="10" if ord_type.needs_price else None, accepted=accepted
    ),
    st.integers(min_value=1, max_value=5000),
    st.sampled_from(list(OrdType)),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(order=ANY_ORDER, inputs=st.lists(ANY_REPORT | ANY_COMMAND, max_size=30))
def test_arbitrary_inputs_never_raise_and_refusals_change_nothing(
    order: Order, inputs: list[OrderInput]
) -> None:
    for value in inputs:
        before = snapshot(order)
        outcome = order.apply(value, T0)
        if not outcome.applied:
            assert snapshot(order) == before and outcome.events == ()
        assert order.leaves_qty >= 0
        if order.closed_as is not None:
            assert order.leaves_qty == 0
