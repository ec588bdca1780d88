"""Value types shared by the whole domain. String values are the wire values of CONTRACT.md."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

MAX_AMOUNT = Decimal("1e12")
"""No quantity or price the OMS takes, from a strategy, a FIX client or a venue, is above this:
beyond it a number is a typo or garbage, not a trade, and the product of two (a notional) still
fits the NUMERIC columns that store them, so a bad number is refused where it enters, never at
a commit."""


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"
    SELL_SHORT = "sell_short"

    @property
    def sign(self) -> int:
        """+1 for buys, -1 for sells: the direction a fill moves a position."""
        return 1 if self is Side.BUY else -1


class OrdType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"

    @property
    def needs_price(self) -> bool:
        return self in (OrdType.LIMIT, OrdType.STOP_LIMIT)

    @property
    def needs_stop_price(self) -> bool:
        return self in (OrdType.STOP, OrdType.STOP_LIMIT)


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    GTD = "gtd"


class OrdStatus(StrEnum):
    PENDING_NEW = "pending_new"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DONE_FOR_DAY = "done_for_day"

    @property
    def is_terminal(self) -> bool:
        """No further fills or requests can change an order in a terminal state.

        ``done_for_day`` is not terminal: a GTC order can be restated the next day, and a
        correction or bust may still arrive for any state (handled by the state machine).
        """
        return self in (OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED)


class ExecType(StrEnum):
    PENDING_NEW = "pending_new"
    NEW = "new"
    REJECTED = "rejected"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    CANCEL_REJECTED = "cancel_rejected"
    PENDING_REPLACE = "pending_replace"
    REPLACED = "replaced"
    REPLACE_REJECTED = "replace_rejected"
    EXPIRED = "expired"
    DONE_FOR_DAY = "done_for_day"
    RESTATED = "restated"
    TRADE_CORRECT = "trade_correct"
    TRADE_CANCEL = "trade_cancel"


class RejectSource(StrEnum):
    VALIDATION = "validation"
    ENTITLEMENT = "entitlement"
    RISK = "risk"
    VENUE = "venue"
    OPERATOR = "operator"


class OperatorRole(StrEnum):
    """Role of an operator account (``oms user add NAME --role viewer|trader|admin``)."""

    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"


class KillScope(StrEnum):
    """What a kill switch stops: everything, or one account, venue or symbol."""

    GLOBAL = "global"
    ACCOUNT = "account"
    VENUE = "venue"
    SYMBOL = "symbol"


@dataclass(frozen=True, slots=True)
class Instrument:
    """Reference data for one tradable symbol (from the settings file)."""

    symbol: str
    venue: str
    currency: str = "USD"
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("1")
    multiplier: Decimal = Decimal("1")
    reference_price: Decimal | None = None

    def notional(self, quantity: Decimal, price: Decimal) -> Decimal:
        return quantity * price * self.multiplier

    def on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def on_lot(self, quantity: Decimal) -> bool:
        return quantity % self.lot_size == 0
