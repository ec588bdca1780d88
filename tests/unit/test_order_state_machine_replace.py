"""FIX Appendix D, cancel/replace scenarios (D6-D17): quantity changes, sequencing, chaining."""

from __future__ import annotations

from decimal import Decimal

from oms.domain.order_inputs import RequestKind, RequestReplace
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus
from tests.unit.test_order_state_machine_support import (
    Venue,
    cancel_reject,
    new_order,
    step,
)

E, S = ExecType, OrdStatus
REPLACE = RequestKind.REPLACE


def replace(
    cl_ord_id: str, quantity: int | None = None, price: str | None = None
) -> RequestReplace:
    return RequestReplace(
        cl_ord_id,
        quantity=None if quantity is None else Decimal(quantity),
        price=None if price is None else Decimal(price),
    )


def acked_part_filled(filled: int) -> tuple[Order, Venue]:
    order, venue = new_order(), Venue()
    step(order, venue.new(), E.NEW, S.NEW, 10000, 0, 10000)
    if filled:
        step(
            order,
            venue.trade(filled),
            E.PARTIAL_FILL,
            S.PARTIALLY_FILLED,
            10000,
            filled,
            10000 - filled,
        )
    return order, venue


def test_d6_zero_filled_order_replaced_to_increase_quantity() -> None:
    order, venue = acked_part_filled(0)
    outcome = step(
        order, replace("Y", 11000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 0, 10000
    )
    assert (outcome.events[0].cl_ord_id, outcome.events[0].orig_cl_ord_id) == ("Y", "X")
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 0, 10000)
    outcome = step(order, venue.replaced("Y", 11000), E.REPLACED, S.NEW, 11000, 0, 11000)
    assert (outcome.events[0].cl_ord_id, outcome.events[0].orig_cl_ord_id) == ("Y", "X")
    assert (order.cl_ord_id, order.orig_cl_ord_id) == ("Y", "X")


def test_d6_alternative_replace_rejected() -> None:
    order, _ = acked_part_filled(0)
    step(order, replace("Y", 11000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 0, 10000)
    outcome = step(order, cancel_reject("Y", REPLACE), E.REPLACE_REJECTED, S.NEW, 10000, 0, 10000)
    assert outcome.events[0].cl_ord_id == "Y"
    assert order.cl_ord_id == "X"


def test_d7_part_filled_order_replaced_to_increase_quantity_fill_while_pending() -> None:
    order, venue = acked_part_filled(1000)
    step(order, replace("Y", 12000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 1000, 9000)
    outcome = step(order, venue.trade(100), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 1100, 8900)
    assert outcome.events[0].cl_ord_id == "X"  # fills while pending carry the original
    step(order, venue.replaced("Y", 12000), E.REPLACED, S.PARTIALLY_FILLED, 12000, 1100, 10900)
    outcome = step(order, venue.trade(10900), E.FILL, S.FILLED, 12000, 12000, 0)
    assert outcome.events[0].cl_ord_id == "Y"


def test_d8_filled_order_replaced_to_increase_quantity() -> None:
    order, venue = acked_part_filled(0)
    step(order, venue.trade(10000), E.FILL, S.FILLED, 10000, 10000, 0)
    step(order, replace("Y", 12000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 10000, 0)
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 10000, 0)
    step(order, venue.replaced("Y", 12000), E.REPLACED, S.PARTIALLY_FILLED, 12000, 10000, 2000)
    step(order, venue.trade(2000), E.FILL, S.FILLED, 12000, 12000, 0)


def test_d8_alternative_replace_of_filled_order_rejected_stays_filled() -> None:
    order, venue = acked_part_filled(0)
    step(order, venue.trade(10000), E.FILL, S.FILLED, 10000, 10000, 0)
    step(order, replace("Y", 12000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 10000, 0)
    step(order, cancel_reject("Y", REPLACE), E.REPLACE_REJECTED, S.FILLED, 10000, 10000, 0)


def test_d9_price_replace_rejected_because_a_fill_occurred() -> None:
    order, venue = acked_part_filled(1000)
    step(order, replace("Y", price="10.5"), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, venue.trade(9000), E.FILL, S.PENDING_REPLACE, 10000, 10000, 0)
    step(order, cancel_reject("Y", REPLACE), E.REPLACE_REJECTED, S.FILLED, 10000, 10000, 0)
    assert order.price == Decimal("10")


def test_d10_replace_down_crossing_a_fill_quantity_above_cum() -> None:
    order, venue = acked_part_filled(1000)
    step(order, replace("Y", 8000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, venue.trade(500), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 1500, 8500)
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 1500, 8500)
    step(order, venue.trade(100), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 1600, 8400)
    step(order, venue.replaced("Y", 8000), E.REPLACED, S.PARTIALLY_FILLED, 8000, 1600, 6400)
    step(order, venue.trade(6400), E.FILL, S.FILLED, 8000, 8000, 0)


def test_d10_alternative_replace_rejected_after_fills() -> None:
    order, venue = acked_part_filled(1000)
    step(order, replace("Y", 8000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, venue.trade(600), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 1600, 8400)
    step(
        order,
        cancel_reject("Y", REPLACE),
        E.REPLACE_REJECTED,
        S.PARTIALLY_FILLED,
        10000,
        1600,
        8400,
    )


def test_d11_replace_down_to_exactly_the_cum_qty_completes_the_order() -> None:
    order, venue = acked_part_filled(0)
    step(order, replace("Y", 7000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 0, 10000)
    step(order, venue.trade(7000), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 7000, 3000)
    # filled takes precedence over replaced
    step(order, venue.replaced("Y", 7000), E.REPLACED, S.FILLED, 7000, 7000, 0)


def test_d12_replace_below_the_cum_qty_is_amended_to_the_cum_qty() -> None:
    order, venue = acked_part_filled(0)
    step(order, replace("Y", 7000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 0, 10000)
    step(order, venue.trade(8000), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 8000, 2000)
    outcome = step(order, venue.replaced("Y", 8000), E.REPLACED, S.FILLED, 8000, 8000, 0)
    assert not order.overfilled and not outcome.anomalies


def test_d12_without_order_qty_in_the_report_the_oms_amends_to_cum_qty() -> None:
    order, venue = acked_part_filled(0)
    step(order, replace("Y", 7000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 0, 10000)
    step(order, venue.trade(8000), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 8000, 2000)
    step(order, venue.replaced("Y"), E.REPLACED, S.FILLED, 8000, 8000, 0)
    assert not order.overfilled


def test_d13_two_replaces_in_turn_both_accepted() -> None:
    order, venue = acked_part_filled(1000)
    step(order, replace("Y", 8000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, venue.trade(500), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 1500, 8500)
    step(order, venue.replaced("Y", 8000), E.REPLACED, S.PARTIALLY_FILLED, 8000, 1500, 6500)
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 8000, 3500, 4500)
    outcome = step(
        order, replace("Z", 6000), E.PENDING_REPLACE, S.PENDING_REPLACE, 8000, 3500, 4500
    )
    assert (outcome.events[0].cl_ord_id, outcome.events[0].orig_cl_ord_id) == ("Z", "Y")
    step(order, venue.pending_replace("Z"), None, S.PENDING_REPLACE, 8000, 3500, 4500)
    outcome = step(
        order, venue.replaced("Z", 6000), E.REPLACED, S.PARTIALLY_FILLED, 6000, 3500, 2500
    )
    assert (outcome.events[0].cl_ord_id, outcome.events[0].orig_cl_ord_id) == ("Z", "Y")
    step(order, venue.trade(2500), E.FILL, S.FILLED, 6000, 6000, 0)


def test_d14_replace_rejected_before_pending_then_another_accepted() -> None:
    order, venue = acked_part_filled(1000)
    step(order, replace("Y", 8000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(
        order,
        cancel_reject("Y", REPLACE),
        E.REPLACE_REJECTED,
        S.PARTIALLY_FILLED,
        10000,
        1000,
        9000,
    )
    step(order, venue.trade(500), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 1500, 8500)
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 3500, 6500)
    outcome = step(
        order, replace("Z", 6000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 3500, 6500
    )
    assert outcome.events[0].orig_cl_ord_id == "X"  # the last id not rejected
    step(order, venue.pending_replace("Z"), None, S.PENDING_REPLACE, 10000, 3500, 6500)
    step(order, venue.replaced("Z", 6000), E.REPLACED, S.PARTIALLY_FILLED, 6000, 3500, 2500)
    step(order, venue.trade(1500), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 6000, 5000, 1000)


def test_d15_replace_rejected_after_pending_then_another_accepted() -> None:
    order, venue = acked_part_filled(1000)
    step(order, replace("Y", 8000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, venue.trade(500), E.PARTIAL_FILL, S.PENDING_REPLACE, 10000, 1500, 8500)
    step(
        order,
        cancel_reject("Y", REPLACE),
        E.REPLACE_REJECTED,
        S.PARTIALLY_FILLED,
        10000,
        1500,
        8500,
    )
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 10000, 3500, 6500)
    outcome = step(
        order, replace("Z", 6000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 3500, 6500
    )
    assert outcome.events[0].orig_cl_ord_id == "X"
    step(order, venue.pending_replace("Z"), None, S.PENDING_REPLACE, 10000, 3500, 6500)
    step(order, venue.replaced("Z", 6000), E.REPLACED, S.PARTIALLY_FILLED, 6000, 3500, 2500)
    step(order, venue.trade(1500), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 6000, 5000, 1000)


def test_d16_two_replaces_back_to_back_processed_in_sequence() -> None:
    order, venue = acked_part_filled(1000)
    step(order, replace("Y", 8000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    outcome = step(
        order, replace("Z", 7000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000
    )
    assert outcome.events[0].orig_cl_ord_id == "Y"  # chained on the replace in flight
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 1000, 9000)
    # Z is still in flight, so the order stays pending replace (the sell side shows
    # partially filled here because it has not yet taken Z up)
    step(order, venue.replaced("Y", 8000), E.REPLACED, S.PENDING_REPLACE, 8000, 1000, 7000)
    step(order, venue.pending_replace("Z"), None, S.PENDING_REPLACE, 8000, 1000, 7000)
    outcome = step(
        order, venue.replaced("Z", 7000), E.REPLACED, S.PARTIALLY_FILLED, 7000, 1000, 6000
    )
    assert (outcome.events[0].cl_ord_id, outcome.events[0].orig_cl_ord_id) == ("Z", "Y")
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 7000, 3000, 4000)


def test_d17_two_replaces_back_to_back_second_rejected_while_pending() -> None:
    order, venue = acked_part_filled(1000)
    step(order, replace("Y", 8000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, replace("Z", 7000), E.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000)
    step(order, venue.pending_replace("Y"), None, S.PENDING_REPLACE, 10000, 1000, 9000)
    reject = cancel_reject("Z", REPLACE, "order already in pending replace status")
    outcome = step(order, reject, E.REPLACE_REJECTED, S.PENDING_REPLACE, 10000, 1000, 9000)
    assert outcome.events[0].cl_ord_id == "Z"
    step(order, venue.replaced("Y", 8000), E.REPLACED, S.PARTIALLY_FILLED, 8000, 1000, 7000)
    step(order, venue.trade(2000), E.PARTIAL_FILL, S.PARTIALLY_FILLED, 8000, 3000, 5000)
    assert order.cl_ord_id == "Y"
