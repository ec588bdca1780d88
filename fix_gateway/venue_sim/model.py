"""The exchange's vocabulary: order fields, commands in, reports out.

Enum values are the FIX wire values, so translating to and from FIX is a lookup. Commands and
reports are plain data; ``owner`` names the FIX session an order came from (``None`` for the
simulator's own market maker, whose executions are never reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum, StrEnum

ZERO = Decimal(0)


class Side(StrEnum):
    BUY = "1"
    SELL = "2"


class OrdType(StrEnum):
    MARKET = "1"
    LIMIT = "2"


class TimeInForce(StrEnum):
    DAY = "0"
    GTC = "1"
    IOC = "3"
    FOK = "4"


class OrdStatus(StrEnum):
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    CANCELED = "4"
    REJECTED = "8"
    EXPIRED = "C"

    @property
    def is_live(self) -> bool:
        return self is OrdStatus.NEW or self is OrdStatus.PARTIALLY_FILLED


class ExecKind(Enum):
    """What an execution report says happened; the FIX layer picks each version's ExecType."""

    NEW = "new"
    TRADE = "trade"
    CANCELED = "canceled"
    REPLACED = "replaced"
    REJECTED = "rejected"
    EXPIRED = "expired"
    STATUS = "status"


class OrdRejReason(StrEnum):
    """OrdRejReason (103) as FIX 4.4 spells it; the 4.2 encoder maps OTHER to 0."""

    BROKER_OPTION = "0"
    UNKNOWN_SYMBOL = "1"
    DUPLICATE_ORDER = "6"
    OTHER = "99"


class CxlRejReason(StrEnum):
    """CxlRejReason (102) as FIX 4.4 spells it; the 4.2 encoder maps DUPLICATE to 2."""

    TOO_LATE = "0"
    UNKNOWN_ORDER = "1"
    EXCHANGE_OPTION = "2"
    DUPLICATE_CL_ORD_ID = "6"


class CxlRejResponseTo(StrEnum):
    CANCEL = "1"
    REPLACE = "2"


Owner = str | None


@dataclass(slots=True, eq=False)
class Order:
    """A live or completed order. Mutable: only the matching engine changes it."""

    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    owner: Owner
    account: str | None
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    quantity: Decimal
    price: Decimal | None
    status: OrdStatus = OrdStatus.NEW
    cum_qty: Decimal = ZERO
    notional: Decimal = ZERO
    #: Every ClOrdID this order has carried (new, replaces, cancel): all of them find it.
    cl_ord_ids: list[str] = field(default_factory=list)

    @property
    def leaves_qty(self) -> Decimal:
        return self.quantity - self.cum_qty if self.status.is_live else ZERO

    @property
    def is_live(self) -> bool:
        return self.status.is_live

    @property
    def avg_px(self) -> Decimal:
        return self.notional / self.cum_qty if self.cum_qty else ZERO


@dataclass(frozen=True, slots=True)
class NewOrder:
    owner: Owner
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    quantity: Decimal
    price: Decimal | None = None
    tif: TimeInForce = TimeInForce.DAY
    account: str | None = None
    #: Set by the FIX decoder when the message asks for something this exchange does not
    #: offer (a stop order, GTD): the engine rejects the order with this text.
    unsupported: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    owner: Owner
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str = ""
    side: Side = Side.BUY


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    """Cancel/replace: ``quantity`` is the new total, including what is already filled."""

    owner: Owner
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    quantity: Decimal
    price: Decimal | None = None
    unsupported: str | None = None


@dataclass(frozen=True, slots=True)
class StatusRequest:
    owner: Owner
    cl_ord_id: str
    symbol: str = ""
    side: Side = Side.BUY


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One report to one session: a snapshot of the order at the moment of the event."""

    owner: Owner
    kind: ExecKind
    exec_id: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    account: str | None
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    quantity: Decimal
    price: Decimal | None
    status: OrdStatus
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    transact_time: datetime
    last_qty: Decimal = ZERO
    last_px: Decimal = ZERO
    text: str | None = None
    rej_reason: OrdRejReason | None = None


@dataclass(frozen=True, slots=True)
class CancelReject:
    owner: Owner
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str
    status: OrdStatus
    response_to: CxlRejResponseTo
    reason: CxlRejReason
    text: str
    transact_time: datetime


Report = ExecutionReport | CancelReject


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """What the exchange checks about an order in one symbol."""

    symbol: str
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("1")
