"""FIX Appendix D, good-till orders across days (D27-D30)."""

from __future__ import annotations

from decimal import Decimal

from oms.domain.order_inputs import RequestCancel, RequestKind, RequestReplace, RestatementReason
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus, TimeInForce
from tests.unit.test_order_state_machine_support import (
    Venue,
    cancel_reject,
    new_order,
    step,
)

E, S, R = ExecType, OrdStatus, RestatementReason


def gtc_part_filled_and_done_for_day(price: str = "10") -> tuple[Order, Venue]:
    order, venue = new_order(time_in_force=TimeInForce.GTC, price=price), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    step(order, venue.trade(2000, price), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    # a good-till order keeps its leaves over night
    step(order, venue.done_for_day(), E.DONE_FOR_DAY, S.DONE_FOR_DAY, 10000, 2000, 8000)
    assert order.is_open
    return order, venue


def test_d27_gtc_part_filled_restated_and_part_filled_next_day() -> None:
    order, venue = gtc_part_filled_and_done_for_day()
    step(order, venue.restated(R.GT_RENEWAL), E.RESTATED, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 3000, 7000)


def test_d27_without_the_optional_restatement_the_next_fill_resumes_the_order() -> None:
    order, venue = gtc_part_filled_and_done_for_day()
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 3000, 7000)


def test_d28_gtc_order_restated_after_a_two_for_one_split() -> None:
    order, venue = gtc_part_filled_and_done_for_day(price="20")
    assert order.avg_px == Decimal(20)
    split = venue.restated(
        R.GT_CORPORATE_ACTION,
        20000,
        price=Decimal(10),
        cum_qty=Decimal(4000),
        avg_px=Decimal(10),
    )
    outcome = step(order, split, E.RESTATED, S.PARTIALLY_FILLED, 20000, 4000, 16000)
    assert (order.price, order.avg_px) == (Decimal(10), Decimal(10))
    assert not outcome.anomalies and outcome.position_deltas == ()  # split moves no position
    step(
        order,
        venue.trade(1000, "10", cum_qty=Decimal(5000)),
        E.PARTIAL_FILL,
        S.PARTIALLY_FILLED,
        20000,
        5000,
        15000,
    )
    step(order, venue.trade(15000, "10"), E.FILL, S.FILLED, 20000, 20000, 0)


def test_d29_gtc_part_filled_restated_then_canceled_next_day() -> None:
    order, venue = gtc_part_filled_and_done_for_day()
    step(order, venue.restated(R.GT_RENEWAL), E.RESTATED, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 2000, 8000)
    step(order, venue.pending_cancel("Y"), None, S.PENDING_CANCEL, 10000, 2000, 8000)
    step(order, venue.canceled("Y"), E.CANCELED, S.CANCELED, 10000, 2000, 0)


def test_d29_alternative_cancel_rejected_next_day() -> None:
    order, venue = gtc_part_filled_and_done_for_day()
    step(order, venue.restated(R.GT_RENEWAL), E.RESTATED, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    step(order, RequestCancel("Y"), E.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 2000, 8000)
    step(order, cancel_reject("Y"), E.CANCEL_REJECTED, S.PARTIALLY_FILLED, 10000, 2000, 8000)


def test_d30_gtc_part_filled_restated_then_replaced_to_increase_quantity() -> None:
    order, venue = gtc_part_filled_and_done_for_day()
    step(order, venue.restated(R.GT_RENEWAL), E.RESTATED, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    increase = RequestReplace("Y", quantity=Decimal(15000))
    step(order, increase, E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 2000, 8000)
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 2000, 8000)
    step(order, venue.trade(1000), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 3000, 7000)
    step(order, venue.replaced("Y", 15000), E.REPLACED, S.PARTIALLY_FILLED, 15000, 3000, 12000)


def test_d30_alternative_replace_rejected_next_day() -> None:
    order, venue = gtc_part_filled_and_done_for_day()
    step(order, venue.restated(R.GT_RENEWAL), E.RESTATED, S.PARTIALLY_FILLED, 10000, 2000, 8000)
    step(
        order,
        RequestReplace("Y", quantity=Decimal(15000)),
        E.PENDING_REPLACE,
        S.PENDING_REPLACE,
        10000,
        2000,
        8000,
    )
    step(
        order,
        cancel_reject("Y", RequestKind.REPLACE),
        E.REPLACE_REJECTED,
        S.PARTIALLY_FILLED,
        10000,
        2000,
        8000,
    )
