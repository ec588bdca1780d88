"""Strategy commands as CONTRACT.md defines them (pure: no I/O).

Each builder returns the JSON-ready body of one command. Money and quantities are given as
``Decimal``, ``int`` or decimal text and always sent as plain decimal strings (``"100"``,
``"10.25"``); a ``float`` is refused, because binary floating point cannot say 0.1.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import count
from typing import Literal

Side = Literal["buy", "sell", "sell_short"]
OrderType = Literal["market", "limit", "stop", "stop_limit"]
TimeInForce = Literal["day", "gtc", "ioc", "fok", "gtd"]
PutOrCall = Literal["put", "call"]
Amount = Decimal | int | str
"""A price or quantity: a ``Decimal``, an ``int`` or decimal text such as ``"10.25"``."""

CommandBody = dict[str, str]

MAX_CL_ORD_ID_LENGTH = 64
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class InstrumentFields:
    """Optional instrument details of a new order (for symbols the OMS does not know)."""

    security_type: str | None = None
    currency: str | None = None
    maturity: str | None = None
    strike: Amount | None = None
    put_or_call: PutOrCall | None = None


def amount_text(value: Amount, name: str) -> str:
    """``value`` as a plain decimal string without exponent, or ``TypeError``/``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(
            f"{name} must be a Decimal, an int or decimal text, not {type(value).__name__}"
            " (money and quantities are never floats)"
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{name} {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"{name} {value!r} is not a finite number")
    if number.is_zero():
        number = abs(number)
    return format(number, "f")


def utc_text(moment: datetime) -> str:
    """An aware datetime as ISO 8601 UTC (``2024-06-01T20:00:00.000000Z``)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("expire_time must be an aware datetime (give it a time zone)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def infer_order_type(price: Amount | None, stop_price: Amount | None) -> OrderType:
    """limit with a price, stop with a stop price, stop_limit with both, market with neither."""
    if stop_price is not None:
        return "stop_limit" if price is not None else "stop"
    return "limit" if price is not None else "market"


def new_order_body(
    *,
    cl_ord_id: str,
    account: str,
    symbol: str,
    side: Side,
    quantity: Amount,
    order_type: OrderType,
    price: Amount | None = None,
    stop_price: Amount | None = None,
    time_in_force: TimeInForce = "day",
    expire_time: datetime | None = None,
    venue: str | None = None,
    instrument: InstrumentFields | None = None,
) -> CommandBody:
    body: CommandBody = {
        "type": "new_order", "cl_ord_id": cl_ord_id, "account": account, "symbol": symbol,
        "side": side, "order_type": order_type, "quantity": amount_text(quantity, "quantity"),
        "time_in_force": time_in_force,
    }
    if price is not None:
        body["price"] = amount_text(price, "price")
    if stop_price is not None:
        body["stop_price"] = amount_text(stop_price, "stop_price")
    if expire_time is not None:
        body["expire_time"] = utc_text(expire_time)
    if venue is not None:
        body["venue"] = venue
    if instrument is not None:
        body.update(_instrument_fields(instrument))
    return body


def _instrument_fields(instrument: InstrumentFields) -> CommandBody:
    fields: CommandBody = {}
    for name in ("security_type", "currency", "maturity", "put_or_call"):
        value = getattr(instrument, name)
        if value is not None:
            fields[name] = value
    if instrument.strike is not None:
        fields["strike"] = amount_text(instrument.strike, "strike")
    return fields


def cancel_body(
    *, cl_ord_id: str, orig_cl_ord_id: str, account: str, symbol: str | None = None
) -> CommandBody:
    body: CommandBody = {
        "type": "cancel", "cl_ord_id": cl_ord_id, "orig_cl_ord_id": orig_cl_ord_id,
        "account": account,
    }
    if symbol is not None:
        body["symbol"] = symbol
    return body


def replace_body(
    *,
    cl_ord_id: str,
    orig_cl_ord_id: str,
    account: str,
    quantity: Amount | None = None,
    price: Amount | None = None,
) -> CommandBody:
    """``quantity`` is the new total, including what is already filled (as in FIX)."""
    if quantity is None and price is None:
        raise ValueError("a replace needs a new quantity or price (or both)")
    body: CommandBody = {
        "type": "replace", "cl_ord_id": cl_ord_id, "orig_cl_ord_id": orig_cl_ord_id,
        "account": account,
    }
    if quantity is not None:
        body["quantity"] = amount_text(quantity, "quantity")
    if price is not None:
        body["price"] = amount_text(price, "price")
    return body


def check_identifier(value: str, name: str) -> str:
    """The OMS's rule for ``cl_ord_id`` and ``account``: 1 to 64 printable characters without
    leading or trailing spaces (anything else is dead-lettered, with nobody told)."""
    if not (
        isinstance(value, str) and 0 < len(value) <= MAX_CL_ORD_ID_LENGTH
        and value.isprintable() and value == value.strip()
    ):
        raise ValueError(
            f"{name} must be 1 to {MAX_CL_ORD_ID_LENGTH} printable characters without "
            f"leading or trailing spaces (got {value!r})"
        )
    return value


class ClOrdIdGenerator:
    """``<prefix>-<n>``: the prefix is the start time in base 36 plus random letters, so ids
    differ from run to run (the OMS rejects a ``cl_ord_id`` an account has used before)."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = check_identifier(prefix or default_prefix(), "id prefix")
        self._counter = count(1)

    def __call__(self) -> str:
        return f"{self.prefix}-{next(self._counter)}"


def default_prefix(now_ms: int | None = None) -> str:
    value = int(time.time() * 1000) if now_ms is None else now_ms
    digits = ""
    while value:
        value, rest = divmod(value, 36)
        digits = _BASE36[rest] + digits
    return f"{digits or '0'}{secrets.token_hex(2)}"
