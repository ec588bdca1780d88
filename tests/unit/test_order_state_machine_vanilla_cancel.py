"""FIX Appendix D, vanilla and cancel scenarios (D1-D5, and B.1.d-f of later editions)."""

from __future__ import annotations

from oms.domain.order_events import orderless_rejection
from oms.domain.order_inputs import RequestCancel
from oms.domain.values import ExecType, OrdStatus, RejectSource, Side
from tests.unit.test_order_state_machine_support import (
    T0,
    D,
    Venue,
    cancel_reject,
    new_order,
    step,
)

E, S = ExecType, OrdStatus


def test_d1_filled_order() -> None:
    order, venue = new_order(), Venue()
    assert (order.status, order.leaves_qty) == (S.PENDING_NEW, D(10000))
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 2000, 8000, last=2000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 3000, 7000, last=1000)
    step(order, venue.trade(7000), E.FILL, S.FILLED, 10000, 10000, 0, last=7000)


def test_d1_alternative_order_rejected_by_the_venue() -> None:
    order, venue = new_order(), Venue()
    outcome = step(order, venue.rejected("unknown symbol"), E.REJECTED, S.REJECTED, 10000, 0, 0)
    event = outcome.events[0]
    assert (event.reject_source, event.text) == (RejectSource.VENUE, "unknown symbol")


def test_d2_part_filled_day_order_done_for_day() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 3000, 7000)
    # a day order is done for good: leaves 0
    step(order, venue.done_for_day(), E.DONE_FOR_DAY, S.DONE_FOR_DAY, 10000, 3000, 0)
    assert not order.is_open


def test_d3_cancel_request_for_zero_filled_order() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    outcome = step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    assert (outcome.events[0].cl_ord_id, outcome.events[0].orig_cl_ord_id) == ("Y", "X")
    step(order, venue.pending_cancel("Y"), None, S.PENDING_CANCEL, 10000, 0, 10000)
    outcome = step(order, venue.canceled("Y"), E.CANCELED, S.CANCELED, 10000, 0, 0)
    assert (outcome.events[0].cl_ord_id, outcome.events[0].orig_cl_ord_id) == ("Y", "X")
    assert (order.cl_ord_id, order.orig_cl_ord_id) == ("Y", "X")


def test_d3_alternatives_cancel_rejected_before_and_after_pending_cancel() -> None:
    by_salesperson, venue = new_order(), Venue()
    step(by_salesperson, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(by_salesperson, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    outcome = step(by_salesperson, cancel_reject("Y"), E.CANCEL_REJECTED, S.NEW, 10000, 0, 10000)
    assert outcome.events[0].reject_source is RejectSource.VENUE

    by_exchange, venue = new_order(), Venue()
    step(by_exchange, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(by_exchange, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    step(by_exchange, venue.pending_cancel("Y"), None, S.PENDING_CANCEL, 10000, 0, 10000)
    step(by_exchange, cancel_reject("Y"), E.CANCEL_REJECTED, S.NEW, 10000, 0, 10000)
    assert by_exchange.cl_ord_id == "X"


def test_d4_cancel_of_part_filled_order_with_fills_while_pending() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 2000, 8000)
    # the execution for 3000 crosses the cancel on the wire; the OMS already shows pending
    outcome = step(order, venue.trade(3000), E.PARTIAL_FILL, S.PENDING_CANCEL, 10000, 5000, 5000)
    assert outcome.events[0].cl_ord_id == "X"
    step(order, venue.pending_cancel("Y"), None, S.PENDING_CANCEL, 10000, 5000, 5000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PENDING_CANCEL, 10000, 6000, 4000)
    step(order, venue.canceled("Y"), E.CANCELED, S.CANCELED, 10000, 6000, 0)


def test_d4_alternative_cancel_rejected_leaves_partially_filled() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 2000, 8000)
    step(order, venue.trade(3000), E.PARTIAL_FILL, S.PENDING_CANCEL, 10000, 5000, 5000)
    step(order, cancel_reject("Y"), E.CANCEL_REJECTED, S.PARTIALLY_FILLED, 10000, 5000, 5000)


def test_d5_cancel_of_order_that_fills_before_the_cancel_is_accepted() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    # the fill passes the cancel: pending cancel outranks filled until the venue answers
    step(order, venue.trade(10000), E.FILL, S.PENDING_CANCEL, 10000, 10000, 0)
    step(order, cancel_reject("Y"), E.CANCEL_REJECTED, S.FILLED, 10000, 10000, 0)
    assert not order.pending


def test_cancel_request_for_an_order_not_yet_acknowledged() -> None:
    """FIX 4.4 B.1.d: the cancel reaches the venue before the order is acknowledged."""
    order, venue = new_order(), Venue()
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    step(order, venue.pending_cancel("Y"), None, S.PENDING_CANCEL, 10000, 0, 10000)
    step(order, venue.canceled("Y"), E.CANCELED, S.CANCELED, 10000, 0, 0)


def test_cancel_request_crossing_the_acknowledgement() -> None:
    """FIX 4.4 B.1.e: the ack and the cancel cross; the ack is still emitted as ``new``."""
    order, venue = new_order(), Venue()
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    step(order, venue.new(), E.NEW, S.PENDING_CANCEL, 10000, 0, 10000)
    step(order, venue.pending_cancel("Y"), None, S.PENDING_CANCEL, 10000, 0, 10000)
    step(order, venue.canceled("Y"), E.CANCELED, S.CANCELED, 10000, 0, 0)


def test_cancel_request_for_an_unknown_order_is_an_orderless_rejection() -> None:
    """FIX 4.4 B.1.f: no order to change; one event with no order_id, status rejected."""
    event = orderless_rejection(
        exec_type=ExecType.CANCEL_REJECTED,
        cl_ord_id="Y",
        orig_cl_ord_id="NOPE",
        account="DEMO1",
        symbol="ZVZZT",
        side=Side.BUY,
        reject_source=RejectSource.VALIDATION,
        text="unknown orig_cl_ord_id NOPE",
        transact_time=T0,
    )
    assert (event.order_id, event.seq, event.ord_status) == (None, None, OrdStatus.REJECTED)
    assert (event.cum_qty, event.leaves_qty, event.orig_cl_ord_id) == (D(0), D(0), "NOPE")
