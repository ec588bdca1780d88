"""The OMS expires day orders after the venue's close, and GTD orders after their time, when
the venue has not done it itself."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from oms.domain.order_inputs import OrderAccepted, SubmitOrder
from oms.domain.orders import Order
from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.expiry import due_for_expiry, last_close_before
from oms.settings import TradingHours

NEW_YORK = TradingHours(timezone="America/New_York", open=time(9, 30), close=time(16, 0))
BORN = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 10:00 in New York


def _order(tif: TimeInForce, expire_time: datetime | None = None) -> Order:
    order = Order.create("O1", SubmitOrder(
        cl_ord_id="c1", account="A", symbol="AAPL", side=Side.BUY, ord_type=OrdType.LIMIT,
        quantity=Decimal(10), price=Decimal(100), time_in_force=tif, expire_time=expire_time),
        "NYSE")
    order.apply(OrderAccepted(), BORN)
    return order


def test_the_last_close_is_the_venue_close_in_its_own_time_zone() -> None:
    assert last_close_before(NEW_YORK, datetime(2026, 11, 27, 22, 0, tzinfo=UTC)) == datetime(
        2026, 11, 27, 21, 0, tzinfo=UTC)  # 16:00 EST
    assert last_close_before(NEW_YORK, datetime(2026, 11, 27, 20, 0, tzinfo=UTC)) == datetime(
        2026, 11, 26, 21, 0, tzinfo=UTC)


def test_a_day_order_is_due_a_grace_after_the_close_and_not_before() -> None:
    order = _order(TimeInForce.DAY)
    hours, born = {"NYSE": NEW_YORK}, {"O1": BORN}
    assert due_for_expiry([order], hours, born, datetime(2026, 11, 27, 21, 0, 30, tzinfo=UTC)) == []
    due = due_for_expiry([order], hours, born, datetime(2026, 11, 27, 21, 1, 1, tzinfo=UTC))
    assert [o for o, _ in due] == [order] and "close" in due[0][1]


def test_a_gtc_order_is_never_expired_by_the_close() -> None:
    later = datetime(2026, 12, 5, tzinfo=UTC)
    assert due_for_expiry([_order(TimeInForce.GTC)], {"NYSE": NEW_YORK}, {"O1": BORN},
                          later) == []


def test_a_gtd_order_is_due_a_grace_after_its_expire_time() -> None:
    until = BORN + timedelta(hours=1)
    order = _order(TimeInForce.GTD, until)
    assert due_for_expiry([order], {}, {}, until + timedelta(seconds=59)) == []
    assert len(due_for_expiry([order], {}, {}, until + timedelta(seconds=61))) == 1
