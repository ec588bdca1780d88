"""FIX Appendix D: unsolicited changes, rejects, status requests (D18-D26, D31, D37).

Several of these are the sell side's decisions (a telephoned order, a duplicate ClOrdID, an
answer to a status request); they are tested by what the OMS does with the resulting reports.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from oms.domain.order_events import AnomalyKind, orderless_rejection
from oms.domain.order_inputs import RestatementReason
from oms.domain.order_unmatched import unmatched_report
from oms.domain.values import ExecType, OrdStatus, RejectSource, Side
from tests.unit.test_order_state_machine_support import (
    T0,
    Venue,
    new_order,
    refused,
    step,
)

E, S, R = ExecType, OrdStatus, RestatementReason


def test_d18_telephoned_order_reports_are_unmatched_and_kept_for_operators() -> None:
    venue = Venue("V9")
    reports = [
        venue.new(cl_ord_id=None, order_qty=Decimal(10000), symbol="ZVZZT", side=Side.BUY),
        venue.trade(2000, cl_ord_id=None, cum_qty=Decimal(2000)),
    ]
    records = [unmatched_report("SIM", r, T0) for r in reports]
    assert [r.anomaly.kind for r in records] == [AnomalyKind.UNMATCHED_REPORT] * 2
    assert "V9" in records[0].reason
    assert [r.carries_fill for r in records] == [False, True]
    assert records[1].exec_id == "E2"


def test_d19_unsolicited_cancel_of_part_filled_order() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 1000, 9000)
    cancel = venue.canceled(restatement_reason=R.VERBAL_CHANGE)
    outcome = step(order, cancel, E.CANCELED, S.CANCELED, 10000, 1000, 0)
    assert outcome.events[0].cl_ord_id == "X"
    assert outcome.events[0].text == "verbal_change"


def test_d20_unsolicited_replacement_of_part_filled_order() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.restated(R.VERBAL_CHANGE, 11000), E.RESTATED, S.NEW, 11000, 0, 11000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 11000, 1000, 10000)
    outcome = step(
        order,
        venue.restated(R.VERBAL_CHANGE, 12000),
        E.RESTATED,
        S.PARTIALLY_FILLED,
        12000,
        1000,
        11000,
    )
    assert outcome.events[0].text == "verbal_change"


def test_d21_unsolicited_reduction_of_order_quantity() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.restated(R.PARTIAL_DECLINE, 9000), E.RESTATED, S.NEW, 9000, 0, 9000)
    step(order, venue.trade(9000), E.FILL, S.FILLED, 9000, 9000, 0)


def test_d22_duplicate_cl_ord_id_reject_does_not_touch_the_live_order() -> None:
    # the venue rejects a duplicate of an order it already acknowledged: refused, flagged
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    outcome = refused(order, venue.rejected("duplicate ClOrdID"))
    assert [a.kind for a in outcome.anomalies] == [AnomalyKind.UNEXPECTED_REPORT]
    assert (order.status, order.leaves_qty) == (S.NEW, Decimal(10000))
    # a client repeating a cl_ord_id gets one order-less rejection; no order is created
    event = orderless_rejection(
        exec_type=ExecType.REJECTED,
        cl_ord_id="X",
        account="DEMO1",
        symbol="ZVZZT",
        side=Side.BUY,
        reject_source=RejectSource.VALIDATION,
        text="duplicate cl_ord_id X",
        transact_time=T0,
        quantity=Decimal(10000),
    )
    assert (event.order_id, event.exec_type, event.ord_status) == (None, E.REJECTED, S.REJECTED)


def test_d23_order_rejected_as_already_passed_verbally() -> None:
    order, venue = new_order(), Venue()
    text = "duplicate of a verbally communicated order"
    outcome = step(order, venue.rejected(text), E.REJECTED, S.REJECTED, 10000, 0, 0)
    assert (outcome.events[0].text, outcome.events[0].reject_source) == (text, RejectSource.VENUE)
    # meanwhile the verbal order trades under an id the OMS never sent: kept for operators
    verbal = unmatched_report("SIM", Venue("V2").trade(500, cl_ord_id=None), T0)
    assert verbal.carries_fill


def test_d24_status_request_for_an_unknown_order_resolves_an_in_doubt_order() -> None:
    # after a restart the OMS asks about an order it may never have sent: the venue says unknown
    order, venue = new_order(), Venue()
    answer = venue.status(S.REJECTED, text="unknown order", cl_ord_id="X")
    outcome = step(order, answer, E.REJECTED, S.REJECTED, 10000, 0, 0)
    assert outcome.events[0].reject_source is RejectSource.VENUE
    # an answer about an id the OMS does not know at all has no order: kept for operators
    stray = unmatched_report("SIM", venue.status(S.REJECTED, cl_ord_id="GHOST"), T0)
    assert "GHOST" in stray.reason and not stray.carries_fill


def test_d24_status_response_acknowledges_an_in_doubt_order_the_venue_knows() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.status(S.NEW, cum_qty=Decimal(0)), E.NEW, S.NEW, 10000, 0, 10000)


def test_d25_nothing_done_status_response_changes_nothing() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    outcome = step(
        order,
        venue.status(S.NEW, cum_qty=Decimal(0), text="nothing done"),
        None,
        S.NEW,
        10000,
        0,
        10000,
    )
    assert outcome.note and not outcome.anomalies


def test_d26_status_requests_during_the_life_of_an_order() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.status(S.PENDING_NEW), None, S.PENDING_NEW, 10000, 0, 10000)
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.status(S.NEW, cum_qty=Decimal(0)), None, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    again = venue.status(S.PARTIALLY_FILLED, cum_qty=Decimal(2000))
    outcome = step(order, again, None, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    assert not outcome.anomalies
    # a status that disagrees is flagged for operators and changes nothing
    wrong = venue.status(S.CANCELED, cum_qty=Decimal(3000))
    outcome = step(order, wrong, None, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    kinds = {a.kind for a in outcome.anomalies}
    assert kinds == {AnomalyKind.UNEXPECTED_REPORT, AnomalyKind.CUM_QTY_MISMATCH}
    step(order, venue.trade(8000), E.FILL, S.FILLED, 10000, 10000, 0)
    step(order, venue.status(S.FILLED, cum_qty=Decimal(10000)), None, S.FILLED, 10000, 10000, 0)


def test_d31_poss_resend_order_answered_by_status_changes_nothing() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    # the venue saw the order twice (PossResend) and answers the second with its status
    step(order, venue.status(S.NEW, cum_qty=Decimal(0)), None, S.NEW, 10000, 0, 10000)
    # a report resent by the venue: same ExecID, applied once
    fill = venue.trade(1000)
    step(order, fill, E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 1000, 9000)
    resent = replace(fill, poss_resend=True)
    outcome = order.apply(resent, T0)
    assert outcome.duplicate and outcome.events == () and "PossResend" in (outcome.note or "")
    assert order.cum_qty == 1000


def test_d37_guarantee_of_execution_changes_nothing_until_the_fill() -> None:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    # "stopped": the venue guarantees a price; no status the OMS models, no event
    stopped = venue.report(None, ord_status=None, last_qty=Decimal(10000), last_px=Decimal("9.9"))
    outcome = step(order, stopped, None, S.NEW, 10000, 0, 10000)
    assert outcome.position_deltas == ()
    step(order, venue.trade(10000, "9.9"), E.FILL, S.FILLED, 10000, 10000, 0)
    assert order.avg_px == Decimal("9.9")
