"""FIX bodies (tag -> value) of what the OMS sends a venue, always under its own ClOrdIDs.

Strategy and client ClOrdIDs never reach a venue: the core allocates a venue ClOrdID for every
new, cancel and replace, persists it, and hands the request, in domain terms
(``oms.engine.ports``), to the venue port; the port's adapter (``VenueSender``) builds the
message here, by tag number (the fast path: no quickfix field classes).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.ports import VenueCancel, VenueNewOrder, VenueReplace, VenueStatusQuery

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


def new_order_single(order: VenueNewOrder) -> dict[int, str]:
    body = {
        11: order.venue_cl_ord_id, 1: order.account, 21: "1", 55: order.symbol,
        54: SIDE_CODES[order.side], 60: fix_time(order.now), 38: _num(order.quantity),
        40: ORD_TYPE_CODES[order.ord_type], 59: TIF_CODES[order.time_in_force],
    }
    if order.price is not None:
        body[44] = _num(order.price)
    if order.stop_price is not None:
        body[99] = _num(order.stop_price)
    if order.expire_time is not None:
        body[126] = fix_time(order.expire_time)
    return body


def order_cancel_request(request: VenueCancel) -> dict[int, str]:
    body = {
        11: request.venue_cl_ord_id, 41: request.orig_venue_cl_ord_id, 1: request.account,
        55: request.symbol, 54: SIDE_CODES[request.side], 38: _num(request.quantity),
        60: fix_time(request.now),
    }
    if request.venue_order_id:
        body[37] = request.venue_order_id
    return body


def order_cancel_replace_request(request: VenueReplace) -> dict[int, str]:
    body = {
        11: request.venue_cl_ord_id, 41: request.orig_venue_cl_ord_id, 1: request.account,
        21: "1", 55: request.symbol, 54: SIDE_CODES[request.side], 38: _num(request.quantity),
        40: ORD_TYPE_CODES[request.ord_type], 59: TIF_CODES[request.time_in_force],
        60: fix_time(request.now),
    }
    if request.price is not None:
        body[44] = _num(request.price)
    if request.stop_price is not None:
        body[99] = _num(request.stop_price)
    if request.venue_order_id:
        body[37] = request.venue_order_id
    return body


def order_status_request(query: VenueStatusQuery) -> dict[int, str]:
    return {11: query.venue_cl_ord_id, 55: query.symbol, 54: SIDE_CODES[query.side]}
