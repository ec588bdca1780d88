"""An order as JSON-safe data and back, so the store can keep the whole aggregate.

Decimals travel as plain strings (exact), datetimes as ISO 8601 UTC, enums as their values.
Derived fields (status, cum_qty, leaves_qty, avg_px) are not stored: they are derived again on
load from the facts, so a snapshot can never disagree with itself.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from oms.domain.order_inputs import RequestKind
from oms.domain.order_records import FillBook, PendingRequest
from oms.domain.orders import Order
from oms.domain.values import OrdStatus, OrdType, Side, TimeInForce

SNAPSHOT_VERSION = 1


def order_to_dict(order: Order) -> dict[str, Any]:
    return {
        "snapshot_version": SNAPSHOT_VERSION,
        "order_id": order.order_id,
        "account": order.account,
        "symbol": order.symbol,
        "side": order.side.value,
        "ord_type": order.ord_type.value,
        "time_in_force": order.time_in_force.value,
        "quantity": str(order.quantity),
        "price": _str(order.price),
        "stop_price": _str(order.stop_price),
        "venue": order.venue,
        "expire_time": order.expire_time.isoformat() if order.expire_time else None,
        "cl_ord_id": order.cl_ord_id,
        "orig_cl_ord_id": order.orig_cl_ord_id,
        "origin": order.origin,
        "venue_order_id": order.venue_order_id,
        "seq": order.seq,
        "version": order.version,
        "pending": [
            {
                "kind": r.kind.value,
                "cl_ord_id": r.cl_ord_id,
                "orig_cl_ord_id": r.orig_cl_ord_id,
                "quantity": _str(r.quantity),
                "price": _str(r.price),
                "stop_price": _str(r.stop_price),
                "acknowledged": r.acknowledged,
            }
            for r in order.pending
        ],
        "executions": {
            exec_id: [str(e.quantity), str(e.price)]
            for exec_id, e in order.fills.executions.items()
        },
        "exec_aliases": dict(order.fills.aliases),
        "busted": sorted(order.fills.busted),
        "seen_exec_ids": sorted(order.seen_exec_ids),
        "overfilled": order.overfilled,
        "sent": order.sent,
        "acknowledged": order.acknowledged,
        "paused_for_day": order.paused_for_day,
        "closed_as": order.closed_as.value if order.closed_as else None,
    }


def order_from_dict(data: dict[str, Any]) -> Order:
    """The order ``order_to_dict`` wrote (raises KeyError/ValueError for anything else)."""
    if data.get("snapshot_version") != SNAPSHOT_VERSION:
        raise ValueError(f"unknown order snapshot version {data.get('snapshot_version')!r}")
    fills = FillBook()
    for exec_id, (quantity, price) in data["executions"].items():
        fills.add(exec_id, Decimal(quantity), Decimal(price))
    fills.aliases = dict(data["exec_aliases"])
    fills.busted = set(data["busted"])
    order = Order(
        order_id=data["order_id"],
        account=data["account"],
        symbol=data["symbol"],
        side=Side(data["side"]),
        ord_type=OrdType(data["ord_type"]),
        time_in_force=TimeInForce(data["time_in_force"]),
        quantity=Decimal(data["quantity"]),
        price=_decimal(data["price"]),
        stop_price=_decimal(data["stop_price"]),
        venue=data["venue"],
        expire_time=datetime.fromisoformat(data["expire_time"]) if data["expire_time"] else None,
        cl_ord_id=data["cl_ord_id"],
        orig_cl_ord_id=data["orig_cl_ord_id"],
        origin=data["origin"],
        venue_order_id=data["venue_order_id"],
        seq=int(data["seq"]),
        version=int(data["version"]),
        pending=tuple(
            PendingRequest(
                kind=RequestKind(r["kind"]),
                cl_ord_id=r["cl_ord_id"],
                orig_cl_ord_id=r["orig_cl_ord_id"],
                quantity=_decimal(r["quantity"]),
                price=_decimal(r["price"]),
                stop_price=_decimal(r["stop_price"]),
                acknowledged=bool(r["acknowledged"]),
            )
            for r in data["pending"]
        ),
        fills=fills,
        seen_exec_ids=set(data["seen_exec_ids"]),
        overfilled=bool(data["overfilled"]),
        sent=bool(data["sent"]),
        acknowledged=bool(data["acknowledged"]),
        paused_for_day=bool(data["paused_for_day"]),
        closed_as=OrdStatus(data["closed_as"]) if data["closed_as"] else None,
    )
    order._refresh()
    return order


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
