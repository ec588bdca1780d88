"""Order events as a strategy receives them (pure: no I/O).

``OrderEvent.from_body`` reads one JSON body of CONTRACT.md into typed fields: decimals as
``Decimal`` (read exactly from their text), ``transact_time`` as an aware UTC ``datetime``.
Fields a later version of the contract adds are kept in ``extra``; ``exec_type`` and
``ord_status`` stay strings, so a new value never breaks a strategy. ``gap`` and ``late`` are
the client's own notes on the event's place in its order's sequence (``sequencing.py``).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from oms.client.sequencing import SequenceGap

FILL_TYPES = frozenset({"partial_fill", "fill"})
REJECT_TYPES = frozenset({"rejected", "cancel_rejected", "replace_rejected"})
TERMINAL_STATUSES = frozenset({"filled", "canceled", "rejected", "expired", "done_for_day"})
"""Order statuses after which a venue does nothing more with the order (barring a bust)."""

_KNOWN_FIELDS = frozenset({
    "event_id", "order_id", "seq", "cl_ord_id", "orig_cl_ord_id", "account", "symbol", "side",
    "venue", "exec_type", "ord_status", "quantity", "price", "cum_qty", "leaves_qty", "avg_px",
    "last_qty", "last_px", "text", "reject_source", "venue_order_id", "venue_exec_id",
    "transact_time",
})


class MalformedEventError(ValueError):
    """A message on the events exchange that is not an order event of the contract."""


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One change of one order's state (or a reject of a command that created no order)."""

    event_id: str
    order_id: str | None
    seq: int | None
    cl_ord_id: str | None
    orig_cl_ord_id: str | None
    account: str | None
    symbol: str | None
    side: str | None
    venue: str | None
    exec_type: str
    ord_status: str | None
    quantity: Decimal | None
    price: Decimal | None
    cum_qty: Decimal | None
    leaves_qty: Decimal | None
    avg_px: Decimal | None
    last_qty: Decimal | None
    last_px: Decimal | None
    text: str | None
    reject_source: str | None
    venue_order_id: str | None
    venue_exec_id: str | None
    transact_time: datetime | None
    routing_key: str = ""
    redelivered: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    gap: SequenceGap | None = None
    """Events of this order that came before this one never arrived (within the client's
    ``gap_timeout_s``): their seqs. None when this event follows the last one handed out."""
    late: bool = False
    """This event arrived after events of its order that come after it (already handed out)."""

    @property
    def is_fill(self) -> bool:
        return self.exec_type in FILL_TYPES

    @property
    def is_reject(self) -> bool:
        return self.exec_type in REJECT_TYPES

    @property
    def is_terminal(self) -> bool:
        return self.ord_status in TERMINAL_STATUSES

    @classmethod
    def from_body(
        cls, body: bytes | str, *, routing_key: str = "", redelivered: bool = False
    ) -> OrderEvent:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedEventError(f"event body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedEventError("event body is not a JSON object")
        return cls.from_mapping(data, routing_key=routing_key, redelivered=redelivered)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, routing_key: str = "", redelivered: bool = False
    ) -> OrderEvent:
        event_id, exec_type = data.get("event_id"), data.get("exec_type")
        if not isinstance(event_id, str) or not event_id:
            raise MalformedEventError("event without an event_id")
        if not isinstance(exec_type, str) or not exec_type:
            raise MalformedEventError(f"event {event_id} without an exec_type")
        seq = data.get("seq")
        if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)):
            raise MalformedEventError(f"event {event_id}: seq {seq!r} is not an integer")
        return cls(
            event_id=event_id, order_id=_text(data, "order_id"), seq=seq,
            cl_ord_id=_text(data, "cl_ord_id"), orig_cl_ord_id=_text(data, "orig_cl_ord_id"),
            account=_text(data, "account"), symbol=_text(data, "symbol"),
            side=_text(data, "side"), venue=_text(data, "venue"), exec_type=exec_type,
            ord_status=_text(data, "ord_status"), quantity=_decimal(data, "quantity"),
            price=_decimal(data, "price"), cum_qty=_decimal(data, "cum_qty"),
            leaves_qty=_decimal(data, "leaves_qty"), avg_px=_decimal(data, "avg_px"),
            last_qty=_decimal(data, "last_qty"), last_px=_decimal(data, "last_px"),
            text=_text(data, "text"), reject_source=_text(data, "reject_source"),
            venue_order_id=_text(data, "venue_order_id"),
            venue_exec_id=_text(data, "venue_exec_id"),
            transact_time=_utc_time(data, "transact_time"),
            routing_key=routing_key, redelivered=redelivered,
            extra={k: v for k, v in data.items() if k not in _KNOWN_FIELDS},
        )


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise MalformedEventError(f"{name} {value!r} is not a string")


def _decimal(data: Mapping[str, Any], name: str) -> Decimal | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedEventError(f"{name} {value!r} is not decimal text")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise MalformedEventError(f"{name} {value!r} is not decimal text") from None


def _utc_time(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise MalformedEventError(f"{name} {value!r} is not an ISO 8601 UTC time")
    return moment.astimezone(UTC)


class EventDeduplicator:
    """Remembers the last ``capacity`` event ids: delivery is at-least-once, and the same
    event (same ``event_id``) may arrive twice after a reconnect or a gateway restart."""

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.duplicates = 0

    def is_new(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen (and remembers it); False afterwards."""
        if event_id in self._seen:
            self._seen.move_to_end(event_id)
            self.duplicates += 1
            return False
        self._seen[event_id] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True
