"""An order survives the trip to its database row and back, fills and pending requests too."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from oms.domain.order_inputs import (
    OrderAccepted,
    RequestCancel,
    SubmitOrder,
    VenueExecutionReport,
)
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus, OrdType, Side
from oms.engine.order_rows import order_from_row, order_row

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def _part_filled_order_with_cancel_pending() -> Order:
    order = Order.create(
        "O1",
        SubmitOrder(
            cl_ord_id="c1",
            account="DEMO1",
            symbol="ZVZZT",
            side=Side.BUY,
            ord_type=OrdType.LIMIT,
            quantity=Decimal("100"),
            price=Decimal("10.01"),
            origin="amqp:DEMO1",
        ),
        "SIM",
    )
    order.apply(OrderAccepted(), NOW)
    order.apply(
        VenueExecutionReport(
            exec_type=ExecType.NEW,
            exec_id="e0",
            cl_ord_id="c1",
            ord_status=OrdStatus.NEW,
            venue_order_id="V9",
        ),
        NOW,
    )
    order.apply(
        VenueExecutionReport(
            exec_type=ExecType.PARTIAL_FILL,
            exec_id="e1",
            cl_ord_id="c1",
            last_qty=Decimal("30"),
            last_px=Decimal("10.01"),
        ),
        NOW,
    )
    order.apply(RequestCancel("c2"), NOW)
    return order


def test_a_part_filled_order_with_a_cancel_pending_round_trips() -> None:
    order = _part_filled_order_with_cancel_pending()
    restored = order_from_row(order_row(order, version=3, now=NOW))
    assert restored.status is OrdStatus.PENDING_CANCEL
    assert (restored.cum_qty, restored.leaves_qty, restored.avg_px) == (
        order.cum_qty,
        order.leaves_qty,
        order.avg_px,
    )
    assert restored.pending == order.pending and restored.seen_exec_ids == order.seen_exec_ids
    assert restored.fills.executions == order.fills.executions
    assert restored.phase == order.phase and restored.seq == order.seq


def test_a_restored_order_still_ignores_a_resent_fill_and_takes_the_cancel() -> None:
    restored = order_from_row(
        order_row(_part_filled_order_with_cancel_pending(), version=1, now=NOW)
    )
    resent = restored.apply(
        VenueExecutionReport(
            exec_type=ExecType.PARTIAL_FILL,
            exec_id="e1",
            cl_ord_id="c1",
            last_qty=Decimal("30"),
            last_px=Decimal("10.01"),
            poss_dup=True,
        ),
        NOW,
    )
    assert resent.duplicate and restored.cum_qty == Decimal("30")
    canceled = restored.apply(
        VenueExecutionReport(
            exec_type=ExecType.CANCELED, exec_id="e2", cl_ord_id="c2", orig_cl_ord_id="c1"
        ),
        NOW,
    )
    assert canceled.applied and restored.status is OrdStatus.CANCELED
