"""Requests a venue refuses (session Reject 35=3, BusinessMessageReject 35=j) or never answers.

The engine matches the venue's reject to the request it refers to and applies
``RequestNotTaken``; a request the venue left unanswered is followed by an order status
request, whose answer settles it (``status_report``, then ``request_not_taken_by_status``).
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.domain.order_events import AnomalyKind
from oms.domain.order_handlers_refusals import awaits_venue_answer, request_not_taken_by_status
from oms.domain.order_inputs import RequestCancel, RequestNotTaken, RequestReplace
from oms.domain.order_snapshot import order_from_dict, order_to_dict
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus, RejectSource
from tests.unit.test_order_properties import ORDERS, Run, draw_input
from tests.unit.test_order_state_machine_support import T0, D, Venue, new_order, refused, step

E, S = ExecType, OrdStatus
REFUSED_NEW = "unsupported order type [session Reject 35=3, SessionRejectReason 5]"


def test_a_new_order_the_venue_refuses_with_a_session_reject_is_rejected_by_the_venue() -> None:
    order = new_order()
    outcome = step(order, RequestNotTaken("X", REFUSED_NEW), E.REJECTED, S.REJECTED, 10000, 0, 0)
    event = outcome.events[0]
    assert (event.reject_source, event.text, event.cl_ord_id) == (
        RejectSource.VENUE, REFUSED_NEW, "X")
    assert not order.is_open and not awaits_venue_answer(order, "new", "X")


def test_a_new_order_refused_while_its_cancel_is_in_flight_answers_the_cancel_too() -> None:
    order = new_order()
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    outcome = step(order, RequestNotTaken("X", "no"), E.REJECTED, S.REJECTED, 10000, 0, 0)
    answer = outcome.events[1]
    assert (answer.exec_type, answer.cl_ord_id, answer.reject_source) == (
        E.CANCEL_REJECTED, "Y", RejectSource.VENUE)
    assert answer.text == "order rejected before the cancel request was answered"


def test_a_cancel_the_venue_refuses_is_cancel_rejected_and_the_order_works_on() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    # a fill crosses the refusal: the order goes back to what its facts now say
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PENDING_CANCEL, 10000, 2000, 8000)
    outcome = step(order, RequestNotTaken("Y", "unknown order [35=j]"), E.CANCEL_REJECTED,
                   S.PARTIALLY_FILLED, 10000, 2000, 8000)
    event = outcome.events[0]
    assert (event.cl_ord_id, event.orig_cl_ord_id, event.reject_source, event.text) == (
        "Y", "X", RejectSource.VENUE, "unknown order [35=j]")
    assert order.cl_ord_id == "X" and order.pending == ()


def test_a_replace_the_venue_does_not_support_is_replace_rejected_and_keeps_the_terms() -> None:
    order, venue = new_order(price="10"), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, RequestReplace("Y", quantity=D(12000), price=D("10.5")), E.PENDING_REPLACE,
         S.PENDING_REPLACE, 10000, 0, 10000)
    text = "Unsupported Message Type [BusinessMessageReject 35=j, BusinessRejectReason 3]"
    outcome = step(order, RequestNotTaken("Y", text), E.REPLACE_REJECTED, S.NEW, 10000, 0, 10000)
    assert outcome.events[0].text == text
    assert (order.price, order.cl_ord_id) == (D("10"), "X")


def test_a_replace_refused_after_the_order_filled_leaves_it_filled() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, RequestReplace("Y", quantity=D(12000)), E.PENDING_REPLACE, S.PENDING_REPLACE,
         10000, 0, 10000)
    step(order, venue.trade(10000), E.FILL, S.PENDING_REPLACE, 10000, 10000, 0)
    step(order, RequestNotTaken("Y", "no"), E.REPLACE_REJECTED, S.FILLED, 10000, 10000, 0)


def test_a_refusal_naming_the_acknowledged_order_is_refused_as_an_anomaly() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    outcome = refused(order, RequestNotTaken("X", "duplicate ClOrdID"))
    assert outcome.anomalies[0].kind is AnomalyKind.UNEXPECTED_REPORT
    assert "neither the unacknowledged order nor a request in flight" in (outcome.refused or "")


def test_a_refusal_for_a_closed_order_changes_nothing() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.rejected("no"), E.REJECTED, S.REJECTED, 10000, 0, 0)
    outcome = step(order, RequestNotTaken("X", "again"), None, S.REJECTED, 10000, 0, 0)
    assert "already rejected" in (outcome.note or "")


# --- silence: the order status response settles the request the venue never answered -------


def _working_with(request: RequestCancel | RequestReplace) -> tuple[Order, Venue]:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    assert order.apply(request, T0).applied
    return order, venue


def test_a_silent_cancel_of_an_order_still_working_was_not_taken_up() -> None:
    order, venue = _working_with(RequestCancel("Y"))
    step(order, venue.status(S.NEW, cl_ord_id="X"), None, S.PENDING_CANCEL, 10000, 0, 10000)
    verdict = request_not_taken_by_status(order, "Y", S.NEW, "0.5s")
    assert verdict == RequestNotTaken(
        "Y", "no answer from the venue to the cancel request within 0.5s; its order status"
        " response shows the order new: the cancel was not taken up")
    step(order, verdict, E.CANCEL_REJECTED, S.NEW, 10000, 0, 10000)


def test_a_silent_cancel_the_status_shows_canceled_is_answered_canceled() -> None:
    order, venue = _working_with(RequestCancel("Y"))
    outcome = step(order, venue.status(S.CANCELED, cl_ord_id="X"), E.CANCELED, S.CANCELED,
                   10000, 0, 0)
    event = outcome.events[0]
    assert (event.cl_ord_id, event.orig_cl_ord_id) == ("Y", "X")
    assert event.text == "canceled, as the venue's order status response shows"
    assert len(outcome.events) == 1  # no cancel_rejected for the cancel: it was answered
    assert request_not_taken_by_status(order, "Y", S.CANCELED, "0.5s") is None


def test_a_silent_cancel_of_an_unacknowledged_order_the_status_shows_canceled() -> None:
    order, venue = new_order(), Venue()
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    outcome = step(order, venue.status(S.CANCELED, cl_ord_id="X"), E.CANCELED, S.CANCELED,
                   10000, 0, 0)
    assert [e.exec_type for e in outcome.events] == [E.CANCELED]
    assert outcome.events[0].cl_ord_id == "Y"


def test_a_silent_replace_the_venue_knows_by_its_clordid_is_replaced() -> None:
    order, venue = _working_with(RequestReplace("Y", quantity=D(12000)))
    report = venue.status(S.NEW, cl_ord_id="Y", order_qty=D(12000))
    outcome = step(order, report, E.REPLACED, S.NEW, 12000, 0, 12000)
    assert (outcome.events[0].cl_ord_id, order.cl_ord_id) == ("Y", "Y")


def test_a_silent_replace_of_an_order_still_working_was_not_taken_up() -> None:
    order, venue = _working_with(RequestReplace("Y", quantity=D(12000)))
    step(order, venue.status(S.NEW, cl_ord_id="X"), None, S.PENDING_REPLACE, 10000, 0, 10000)
    verdict = request_not_taken_by_status(order, "Y", S.NEW, "10s")
    assert verdict is not None and "the replace was not taken up" in verdict.text
    step(order, verdict, E.REPLACE_REJECTED, S.NEW, 10000, 0, 10000)


def test_a_silent_cancel_the_venue_holds_or_disowns_is_left_for_the_timer() -> None:
    order, _ = _working_with(RequestCancel("Y"))
    for reported in (S.PENDING_CANCEL, S.REJECTED, S.EXPIRED, None):
        assert request_not_taken_by_status(order, "Y", reported, "1s") is None
    assert request_not_taken_by_status(order, "NOT-IN-FLIGHT", S.NEW, "1s") is None


def test_a_request_awaits_the_venue_until_answered() -> None:
    order, venue = new_order(), Venue()
    assert awaits_venue_answer(order, "new", "X")
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 0, 10000)
    assert awaits_venue_answer(order, "cancel", "Y")
    step(order, venue.trade(100), E.PARTIAL_FILL, S.PENDING_CANCEL, 10000, 100, 9900)
    assert not awaits_venue_answer(order, "new", "X")  # a fill says the venue has it
    step(order, venue.canceled("Y"), E.CANCELED, S.CANCELED, 10000, 100, 0)
    assert not awaits_venue_answer(order, "cancel", "Y")


# --- properties --------------------------------------------------------------------------


def _terms(order: Order) -> tuple[object, ...]:
    return (order.status, order.quantity, order.price, order.cum_qty, order.leaves_qty,
            order.cl_ord_id, order.pending)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=ORDERS, data=st.data())
def test_a_refused_request_leaves_the_order_as_if_it_had_never_been_made(
    order: Order, data: st.DataObject
) -> None:
    """Whatever the order's life so far, and whatever fills cross the refusal on the wire,
    refusing a cancel or replace gives the order the terms and status it would have had
    without it, and answers exactly that request, as the venue's reject."""
    run = Run(order)
    for minute in range(data.draw(st.integers(min_value=0, max_value=25), label="steps")):
        order.apply(draw_input(data, run), T0 + timedelta(minutes=minute))
    twin = _copy(order)
    request = (RequestCancel("REFUSED") if data.draw(st.booleans(), label="cancel")
               else RequestReplace("REFUSED", quantity=order.quantity + 1, price=D("12.34")))
    if not order.apply(request, T0).applied:
        return
    crossing = data.draw(st.lists(st.integers(min_value=1, max_value=300), max_size=3),
                         label="fills crossing the refusal")
    venue, twin_venue = Venue("V1"), Venue("V1")
    venue.count = twin_venue.count = 1000
    for qty in crossing:
        order.apply(venue.trade(qty), T0)
        twin.apply(twin_venue.trade(qty), T0)
    outcome = order.apply(RequestNotTaken("REFUSED", "refused"), T0)
    assert outcome.applied
    expected = E.CANCEL_REJECTED if isinstance(request, RequestCancel) else E.REPLACE_REJECTED
    assert [(e.exec_type, e.cl_ord_id, e.reject_source) for e in outcome.events] == [
        (expected, "REFUSED", RejectSource.VENUE)]
    assert _terms(order) == _terms(twin)


def _copy(order: Order) -> Order:
    return order_from_dict(order_to_dict(order))


def test_a_status_response_disowning_an_unanswered_order_rejects_it_with_the_venue_text() -> None:
    order, venue = new_order(), Venue()
    outcome = step(order, venue.status(S.REJECTED, text="unknown order", cl_ord_id="X"),
                   E.REJECTED, S.REJECTED, 10000, 0, 0)
    assert outcome.events[0].text == "unknown order"  # once, not "unknown order; unknown order"
    silent = new_order()
    outcome = step(silent, venue.status(S.REJECTED, cl_ord_id="X"), E.REJECTED, S.REJECTED,
                   10000, 0, 0)
    assert outcome.events[0].text == "the venue does not know the order (order status response)"
