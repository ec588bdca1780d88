"""The core's open-order exposure, kept as orders change, equals a scan of the open orders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from oms.domain.order_inputs import OrderAccepted, RejectOrder, SubmitOrder
from oms.domain.orders import Order
from oms.domain.values import OrdType, RejectSource, Side, TimeInForce
from oms.engine.exposure import OpenExposure
from oms.engine.state import CoreState

NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def _order(n: int, account: str, side: Side, qty: str) -> Order:
    command = SubmitOrder(
        cl_ord_id=f"c{n}", account=account, symbol="AAPL", side=side, ord_type=OrdType.LIMIT,
        quantity=Decimal(qty), price=Decimal("190.00"), stop_price=None,
        time_in_force=TimeInForce.DAY, expire_time=None, venue="SIM", origin=f"amqp:{account}",
    )
    return Order.create(f"O{n}", command, "SIM")


def _scan(orders: list[Order], account: str) -> tuple[int, Decimal, Decimal]:
    live = [o for o in orders if o.account == account and o.is_open]
    buy = sum((o.leaves_qty for o in live if o.side.sign > 0), Decimal(0))
    sell = sum((o.leaves_qty for o in live if o.side.sign < 0), Decimal(0))
    return len(live), buy, sell


def test_exposure_follows_orders_as_they_open_and_close() -> None:
    exposure = OpenExposure()
    orders = [_order(i, "DEMO1" if i % 3 else "DEMO2", Side.BUY if i % 2 else Side.SELL,
                     str(10 * i)) for i in range(1, 13)]
    for order in orders:
        exposure.update(order)  # created: not open yet
    assert exposure.open_orders("DEMO1") == 0
    for order in orders[::4]:  # rejected at once: never open
        order.apply(RejectOrder(RejectSource.RISK, "no"), NOW)
        exposure.update(order)
        exposure.update(order)  # idempotent
    for order in orders:
        if order.status.value != "rejected":
            order.apply(OrderAccepted(), NOW)
        exposure.update(order)
    for account in ("DEMO1", "DEMO2", "NOBODY"):
        count, buy, sell = _scan(orders, account)
        assert exposure.open_orders(account) == count
        assert exposure.open_leaves(account, "AAPL") == (buy, sell)


def test_state_forgets_closed_orders_and_their_exposure() -> None:
    state = CoreState()
    open_order, closed = _order(1, "DEMO1", Side.BUY, "100"), _order(2, "DEMO1", Side.BUY, "50")
    state.adopt(open_order, 1)
    state.adopt(closed, 1)
    open_order.apply(OrderAccepted(), NOW)
    state.exposure.update(open_order)
    closed.apply(RejectOrder(RejectSource.RISK, "no"), NOW)
    state.exposure.update(closed)
    state.forget_closed(["O1", "O2", "O3"])
    assert set(state.orders) == {"O1"}
    assert "O2" not in state.row_versions
    assert ("amqp:DEMO1", "c2") not in state.by_request  # found again through the database
    assert state.by_request[("amqp:DEMO1", "c1")] == "O1"
    assert state.exposure.open_orders("DEMO1") == 1
    assert state.exposure.open_leaves("DEMO1", "AAPL") == (Decimal(100), Decimal(0))
