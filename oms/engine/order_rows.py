"""The order aggregate to and from its ``orders`` row.

Headline state has columns (the admin pages filter and sort on them); the whole aggregate is
kept in the ``state`` JSONB column as the domain's own snapshot (``order_snapshot``), from
which it is rebuilt exactly: decimals as strings, nothing through a float.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms.domain.order_snapshot import order_from_dict, order_to_dict
from oms.domain.orders import Order


def order_row(
    order: Order, *, version: int, now: datetime, in_doubt: bool = False
) -> dict[str, Any]:
    """The row for ``order``; ``version`` is the row version it was read at (1 when new)."""
    return {
        "order_id": order.order_id, "origin": order.origin, "cl_ord_id": order.cl_ord_id,
        "orig_cl_ord_id": order.orig_cl_ord_id, "account": order.account,
        "symbol": order.symbol, "side": order.side.value, "ord_type": order.ord_type.value,
        "time_in_force": order.time_in_force.value, "quantity": order.quantity,
        "price": order.price, "stop_price": order.stop_price,
        "expire_time": order.expire_time, "venue": order.venue, "status": order.status.value,
        "cum_qty": order.cum_qty, "leaves_qty": order.leaves_qty, "avg_px": order.avg_px,
        "venue_order_id": order.venue_order_id, "in_doubt": in_doubt, "seq": order.seq,
        "state": order_to_dict(order), "version": version, "created_at": now, "updated_at": now,
    }


def order_from_row(row: dict[str, Any]) -> Order:
    return order_from_dict(row["state"])
