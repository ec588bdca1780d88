"""The order aggregate to and from its ``orders`` row.

Headline state has columns (the admin pages filter on them); what only the aggregate needs (the
fills by ExecID, requests in flight, flags) goes in the ``state`` JSONB column, with decimals as
strings so nothing passes through a float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from oms.domain.order_inputs import RequestKind
from oms.domain.order_records import Execution, FillBook, PendingRequest
from oms.domain.orders import Order
from oms.domain.values import OrdStatus, OrdType, Side, TimeInForce


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _state(order: Order) -> dict[str, Any]:
    fills = order.fills
    return {
        "fills": {k: [str(e.quantity), str(e.price)] for k, e in fills.executions.items()},
        "aliases": fills.aliases,
        "busted": sorted(fills.busted),
        "seen": sorted(order.seen_exec_ids),
        "pending": [
            {
                "kind": p.kind.value, "cl_ord_id": p.cl_ord_id, "orig": p.orig_cl_ord_id,
                "qty": _dec(p.quantity), "px": _dec(p.price), "stop": _dec(p.stop_price),
                "ack": p.acknowledged,
            }
            for p in order.pending
        ],
        "overfilled": order.overfilled,
        "sent": order.sent,
        "acknowledged": order.acknowledged,
        "paused_for_day": order.paused_for_day,
        "closed_as": order.closed_as.value if order.closed_as else None,
    }


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
        "state": _state(order), "version": version, "created_at": now, "updated_at": now,
    }


def order_from_row(row: dict[str, Any]) -> Order:
    state: dict[str, Any] = row["state"] or {}
    fills = FillBook()
    for exec_id, (qty, px) in state.get("fills", {}).items():
        fills.executions[exec_id] = Execution(Decimal(qty), Decimal(px))
        fills.cum_qty += Decimal(qty)
        fills.notional += Decimal(qty) * Decimal(px)
    fills.aliases = dict(state.get("aliases", {}))
    fills.busted = set(state.get("busted", []))
    pending = tuple(
        PendingRequest(
            kind=RequestKind(p["kind"]), cl_ord_id=p["cl_ord_id"], orig_cl_ord_id=p["orig"],
            quantity=_undec(p["qty"]), price=_undec(p["px"]), stop_price=_undec(p["stop"]),
            acknowledged=bool(p["ack"]),
        )
        for p in state.get("pending", [])
    )
    closed = state.get("closed_as")
    order = Order(
        order_id=row["order_id"], account=row["account"], symbol=row["symbol"],
        side=Side(row["side"]), ord_type=OrdType(row["ord_type"]),
        time_in_force=TimeInForce(row["time_in_force"]), quantity=row["quantity"],
        price=row["price"], stop_price=row["stop_price"], venue=row["venue"],
        expire_time=row["expire_time"], cl_ord_id=row["cl_ord_id"],
        orig_cl_ord_id=row["orig_cl_ord_id"], origin=row["origin"],
        status=OrdStatus(row["status"]), cum_qty=row["cum_qty"], leaves_qty=row["leaves_qty"],
        avg_px=row["avg_px"] if row["avg_px"] is not None else Decimal(0),
        venue_order_id=row["venue_order_id"], seq=row["seq"], pending=pending, fills=fills,
        seen_exec_ids=set(state.get("seen", [])), overfilled=bool(state.get("overfilled")),
        sent=bool(state.get("sent")), acknowledged=bool(state.get("acknowledged")),
        paused_for_day=bool(state.get("paused_for_day")),
        closed_as=OrdStatus(closed) if closed else None,
    )
    return order
