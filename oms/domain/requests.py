"""What a client asked for, whatever the channel (AMQP strategy command or FIX client message).

Adapters decode their wire formats into these; the core validates, entitles, risk-checks and
applies them. A request is identified by (origin, cl_ord_id): the origin is ``amqp:<account>``
for strategies and ``fix:<session>`` for FIX clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from oms.domain.values import OrdType, Side, TimeInForce


def amqp_origin(account: str) -> str:
    return f"amqp:{account}"


def fix_origin(session: str) -> str:
    return f"fix:{session}"


@dataclass(frozen=True, slots=True)
class InstrumentDetails:
    """Optional instrument fields a strategy may send with a new order (CONTRACT.md)."""

    security_type: str | None = None
    currency: str | None = None
    maturity: str | None = None
    strike: Decimal | None = None
    put_or_call: str | None = None


@dataclass(frozen=True, slots=True)
class NewOrderRequest:
    origin: str
    user: str | None
    cl_ord_id: str
    account: str
    symbol: str
    side: Side
    ord_type: OrdType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    expire_time: datetime | None = None
    venue: str | None = None
    instrument: InstrumentDetails = field(default_factory=InstrumentDetails)


@dataclass(frozen=True, slots=True)
class CancelRequest:
    origin: str
    user: str | None
    cl_ord_id: str
    orig_cl_ord_id: str
    account: str
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class ReplaceRequest:
    """``quantity`` is the new total, including what is already filled (as in FIX)."""

    origin: str
    user: str | None
    cl_ord_id: str
    orig_cl_ord_id: str
    account: str
    quantity: Decimal | None = None
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class InvalidRequest:
    """A command that parsed as a command (type, cl_ord_id, account present) but whose fields are
    wrong. It still produces a ``rejected`` (or cancel/replace-rejected) event with the reason."""

    origin: str
    user: str | None
    kind: str
    cl_ord_id: str
    account: str
    symbol: str | None
    reason: str
    orig_cl_ord_id: str | None = None


ClientRequest = NewOrderRequest | CancelRequest | ReplaceRequest | InvalidRequest
