"""The OMS's own expiry of orders a venue did not expire: day orders after the venue's close
(plus a grace for the venue's own expiry reports to arrive) and GTD orders past their time.

Pure: the venue's trading hours come from the settings file and ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from oms.domain.orders import Order
from oms.domain.values import TimeInForce
from oms.settings import TradingHours

GRACE = timedelta(seconds=60)


def last_close_before(hours: TradingHours, now: datetime) -> datetime:
    """The most recent close of the venue's session at or before ``now`` (UTC)."""
    local = now.astimezone(hours.zone)
    close = datetime.combine(local.date(), hours.close, hours.zone)
    if close > local:
        close -= timedelta(days=1)
    return close.astimezone(now.tzinfo)


def due_for_expiry(
    orders: Iterable[Order], hours: Mapping[str, TradingHours], created: Mapping[str, datetime],
    now: datetime,
) -> list[tuple[Order, str]]:
    """(order, reason) for every open order the OMS must expire now.

    A day order is due once a close of its venue has passed since it was created (plus the
    grace); a GTD order once its expire time has passed (plus the grace)."""
    due: list[tuple[Order, str]] = []
    closes: dict[str, datetime] = {}  # one per venue: the same for each of its orders
    for order in orders:
        if not order.is_open:
            continue
        if order.time_in_force is TimeInForce.GTD and order.expire_time is not None:
            if now >= order.expire_time + GRACE:
                due.append((order, f"GTD order expired at {order.expire_time.isoformat()} "
                                   "(expired by the OMS)"))
            continue
        if order.time_in_force is not TimeInForce.DAY:
            continue
        venue_hours = hours.get(order.venue)
        born = created.get(order.order_id)
        if venue_hours is None or born is None:
            continue
        close = closes.get(order.venue)
        if close is None:
            close = closes[order.venue] = last_close_before(venue_hours, now - GRACE)
        if close >= born:
            due.append((order, f"day order expired at the {order.venue} close of "
                               f"{close.isoformat()} (expired by the OMS)"))
    return due
