"""An order event becomes three rows in the batch: the audit row, the outbox row (published on
``oms.events``), and, for orders of a FIX client, a client-outbox row (issue 10)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms.contract.event_format import (
    JsonValue,
    decimal_text,
    event_json,
    event_routing_key,
    json_value,
    utc_text,
)
from oms.domain.order_events import OrderEvent
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus, RejectSource

EVENTS_EXCHANGE = "oms.events"
_RANDOM = random.Random()  # seeded from os.urandom when created


def new_event_id() -> uuid.UUID:
    """A random (version 4) UUID from a generator seeded once from the OS, not ``uuid4``:
    that reads ``os.urandom`` for every id, a system call that gives up the GIL, and the core
    makes three ids per order. Event ids must be unique, not unpredictable."""
    return uuid.UUID(int=_RANDOM.getrandbits(128), version=4)


def event_body(event: OrderEvent, event_id: uuid.UUID) -> dict[str, Any]:
    """The contract's event body, JSON-ready (decimals as plain strings, times in UTC).

    Built field by field (the generic ``event_json`` walk was a tenth of the core's CPU);
    ``tests/unit/test_event_rows.py`` holds it to ``event_json``'s output."""
    return {
        "event_id": str(event_id), "order_id": event.order_id, "seq": event.seq,
        "cl_ord_id": event.cl_ord_id, "orig_cl_ord_id": event.orig_cl_ord_id,
        "account": event.account, "symbol": event.symbol, "side": event.side.value,
        "venue": event.venue, "exec_type": event.exec_type.value,
        "ord_status": event.ord_status.value, "quantity": _number(event.quantity),
        "price": _number(event.price), "cum_qty": _number(event.cum_qty),
        "leaves_qty": _number(event.leaves_qty), "avg_px": _number(event.avg_px),
        "last_qty": _number(event.last_qty), "last_px": _number(event.last_px),
        "text": event.text,
        "reject_source": event.reject_source.value if event.reject_source else None,
        "venue_order_id": event.venue_order_id, "venue_exec_id": event.venue_exec_id,
        "transact_time": utc_text(event.transact_time),
    }


def _number(value: Decimal | None) -> JsonValue:
    return decimal_text(value) if isinstance(value, Decimal) else json_value(value)


def event_rows(
    event: OrderEvent, cause: dict[str, Any], now: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(order_events row, outbox row) for one event."""
    event_id = new_event_id()
    body = event_body(event, event_id)
    audit = {
        "event_id": event_id, "order_id": event.order_id, "seq": event.seq,
        "account": event.account, "exec_type": event.exec_type.value,
        "ord_status": event.ord_status.value, "body": body, "cause": cause, "created_at": now,
    }
    outbox = {
        "event_id": event_id, "exchange": EVENTS_EXCHANGE,
        "routing_key": event_routing_key(event.account, event.symbol, event.exec_type.value),
        "body": body, "created_at": now,
    }
    return audit, outbox


def orderless_body_rows(
    subject: Any, *, exec_type: ExecType, source: RejectSource, text: str, now: datetime,
    request_cl_ord_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(order_events row, outbox row) for a rejection that changes no order.

    ``subject`` is the client request (duplicate, unknown original, entitlement, invalid
    fields: ``order_id`` is null) or, for a cancel/replace the order cannot take, the order
    itself (its identity and current state, unchanged; ``seq`` stays null as nothing changed).
    """
    event_id = new_event_id()
    is_order = isinstance(subject, Order)
    side = getattr(subject, "side", None)
    symbol = getattr(subject, "symbol", None)
    body: dict[str, Any] = dict(event_json({
        "event_id": str(event_id),
        "order_id": subject.order_id if is_order else None,
        "seq": None,
        "cl_ord_id": request_cl_ord_id if is_order else subject.cl_ord_id,
        "orig_cl_ord_id": subject.cl_ord_id if is_order else getattr(
            subject, "orig_cl_ord_id", None),
        "account": subject.account, "symbol": symbol,
        "side": side.value if side is not None else None,
        "venue": getattr(subject, "venue", None) or None,
        "exec_type": exec_type.value,
        "ord_status": subject.status.value if is_order else OrdStatus.REJECTED.value,
        "quantity": getattr(subject, "quantity", None),
        "price": getattr(subject, "price", None),
        "cum_qty": subject.cum_qty if is_order else Decimal(0),
        "leaves_qty": subject.leaves_qty if is_order else Decimal(0),
        "avg_px": subject.avg_px if is_order else Decimal(0),
        "last_qty": None, "last_px": None, "text": text, "reject_source": source.value,
        "venue_order_id": subject.venue_order_id if is_order else None,
        "venue_exec_id": None, "transact_time": now,
    }))
    audit = {
        "event_id": event_id, "order_id": subject.order_id if is_order else None, "seq": None,
        "account": subject.account, "exec_type": exec_type.value,
        "ord_status": body["ord_status"], "body": body,
        "cause": {"input": "rejected request", "reject_source": source.value}, "created_at": now,
    }
    outbox = {
        "event_id": event_id, "exchange": EVENTS_EXCHANGE,
        "routing_key": event_routing_key(subject.account, symbol, exec_type.value),
        "body": body, "created_at": now,
    }
    return audit, outbox
