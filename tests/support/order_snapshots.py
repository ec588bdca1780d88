"""A valid ``orders.state`` snapshot for rows tests write past the domain.

The core loads every open order from its snapshot; a test row with an empty one would stop any
later core sharing the run's database from starting (``UnreadableOrderError``). The snapshot
is that of the order as just submitted: enough to load it; its columns say the rest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from oms.domain.order_inputs import SubmitOrder
from oms.domain.order_snapshot import order_to_dict
from oms.domain.orders import Order
from oms.domain.values import OrdType, Side, TimeInForce


def submitted_snapshot(row: dict[str, Any]) -> dict[str, Any]:
    """The snapshot of the order ``row`` describes (its id, origin, ClOrdID, terms)."""
    command = SubmitOrder(
        cl_ord_id=row["cl_ord_id"], account=row["account"], symbol=row["symbol"],
        side=Side(row["side"]), ord_type=OrdType(row["ord_type"]),
        quantity=Decimal(row["quantity"]), price=row["price"], stop_price=row["stop_price"],
        time_in_force=TimeInForce(row["time_in_force"]), expire_time=row["expire_time"],
        venue=row["venue"], origin=row["origin"],
    )
    return order_to_dict(Order.create(row["order_id"], command, row["venue"]))
