"""FIX bodies (tag -> value) of what the OMS sends a venue, always under its own ClOrdIDs.

Strategy and client ClOrdIDs never reach a venue: the core allocates a venue ClOrdID for every
new, cancel and replace, persists it, then builds the message here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from oms.domain.values import OrdType, Side, TimeInForce

SIDE_CODES = {Side.BUY: "1", Side.SELL: "2", Side.SELL_SHORT: "5"}
ORD_TYPE_CODES = {OrdType.MARKET: "1", OrdType.LIMIT: "2", OrdType.STOP: "3",
                  OrdType.STOP_LIMIT: "4"}
TIF_CODES = {TimeInForce.DAY: "0", TimeInForce.GTC: "1", TimeInForce.IOC: "3",
             TimeInForce.FOK: "4", TimeInForce.GTD: "6"}

NEW_ORDER_SINGLE = "D"
ORDER_CANCEL_REQUEST = "F"
ORDER_CANCEL_REPLACE_REQUEST = "G"
ORDER_STATUS_REQUEST = "H"


def fix_time(value: datetime) -> str:
    """UTCTimestamp with milliseconds (``20240601-20:00:00.123``)."""
    return _fix_second(value.replace(microsecond=0)) + f"{value.microsecond // 1000:03d}"


@lru_cache(maxsize=4)
def _fix_second(value: datetime) -> str:
    # strftime was the most expensive call of an order's NewOrderSingle; the second repeats
    return value.strftime("%Y%m%d-%H:%M:%S.")


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def new_order_single(
    *, venue_cl_ord_id: str, account: str, symbol: str, side: Side, ord_type: OrdType,
    quantity: Decimal, price: Decimal | None, stop_price: Decimal | None,
    time_in_force: TimeInForce, expire_time: datetime | None, now: datetime,
) -> dict[int, str]:
    body = {
        11: venue_cl_ord_id, 1: account, 21: "1", 55: symbol, 54: SIDE_CODES[side],
        60: fix_time(now), 38: _num(quantity), 40: ORD_TYPE_CODES[ord_type],
        59: TIF_CODES[time_in_force],
    }
    if price is not None:
        body[44] = _num(price)
    if stop_price is not None:
        body[99] = _num(stop_price)
    if expire_time is not None:
        body[126] = fix_time(expire_time)
    return body


def order_cancel_request(
    *, venue_cl_ord_id: str, orig_venue_cl_ord_id: str, account: str, symbol: str, side: Side,
    quantity: Decimal, venue_order_id: str | None, now: datetime,
) -> dict[int, str]:
    body = {
        11: venue_cl_ord_id, 41: orig_venue_cl_ord_id, 1: account, 55: symbol,
        54: SIDE_CODES[side], 38: _num(quantity), 60: fix_time(now),
    }
    if venue_order_id:
        body[37] = venue_order_id
    return body


def order_cancel_replace_request(
    *, venue_cl_ord_id: str, orig_venue_cl_ord_id: str, account: str, symbol: str, side: Side,
    ord_type: OrdType, quantity: Decimal, price: Decimal | None, stop_price: Decimal | None,
    time_in_force: TimeInForce, venue_order_id: str | None, now: datetime,
) -> dict[int, str]:
    body = {
        11: venue_cl_ord_id, 41: orig_venue_cl_ord_id, 1: account, 21: "1", 55: symbol,
        54: SIDE_CODES[side], 38: _num(quantity), 40: ORD_TYPE_CODES[ord_type],
        59: TIF_CODES[time_in_force], 60: fix_time(now),
    }
    if price is not None:
        body[44] = _num(price)
    if stop_price is not None:
        body[99] = _num(stop_price)
    if venue_order_id:
        body[37] = venue_order_id
    return body


def order_status_request(*, venue_cl_ord_id: str, symbol: str, side: Side) -> dict[int, str]:
    return {11: venue_cl_ord_id, 55: symbol, 54: SIDE_CODES[side]}
