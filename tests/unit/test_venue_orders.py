"""What the venue port's FIX adapter sends for each request the core makes: under our own
ClOrdIDs, prices and quantities exact, and every message accepted by quickfix's data dictionary
of the venue's FIX version."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import quickfix as fix

from fix_gateway.session_settings import data_dictionary
from fix_gateway.venue_orders import (
    NEW_ORDER_SINGLE,
    ORDER_CANCEL_REPLACE_REQUEST,
    ORDER_CANCEL_REQUEST,
    ORDER_STATUS_REQUEST,
    new_order_single,
    order_cancel_replace_request,
    order_cancel_request,
    order_status_request,
)
from fix_gateway.wire import build_message
from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.ports import VenueCancel, VenueNewOrder, VenueReplace, VenueStatusQuery

NOW = datetime(2026, 3, 2, 14, 30, 5, 123456, tzinfo=UTC)
GOOD_TILL = datetime(2026, 3, 6, 21, 0, tzinfo=UTC)

BUY_LIMIT = VenueNewOrder(
    venue_cl_ord_id="V1A", account="CLIENT1", symbol="AAPL", side=Side.BUY,
    ord_type=OrdType.STOP_LIMIT, quantity=Decimal("100"), price=Decimal("190.50"),
    stop_price=Decimal("191"), time_in_force=TimeInForce.GTD, expire_time=GOOD_TILL, now=NOW,
)
CANCEL = VenueCancel(
    venue_cl_ord_id="V1B", orig_venue_cl_ord_id="V1A", account="CLIENT1", symbol="AAPL",
    side=Side.BUY, quantity=Decimal("100"), venue_order_id="X-7", now=NOW,
)
REPLACE = VenueReplace(
    venue_cl_ord_id="V1C", orig_venue_cl_ord_id="V1A", account="CLIENT1", symbol="AAPL",
    side=Side.SELL_SHORT, ord_type=OrdType.LIMIT, quantity=Decimal("60"),
    price=Decimal("0.0001"), stop_price=None, time_in_force=TimeInForce.DAY,
    venue_order_id=None, now=NOW,
)
STATUS = VenueStatusQuery(venue_cl_ord_id="V1C", symbol="AAPL", side=Side.SELL)


def accepted_by_fix44(msg_type: str, body: dict[int, str]) -> None:
    """Raises if quickfix's FIX 4.4 data dictionary would reject the message."""
    message = build_message("FIX.4.4", msg_type, body)
    header = message.getHeader()
    for tag, value in ((49, "OMS"), (56, "SIM"), (34, "2"), (52, "20260302-14:30:05.123")):
        header.setField(tag, value)
    dictionary = fix.DataDictionary(data_dictionary("FIX.4.4"))
    dictionary.validate(fix.Message(message.toString(), dictionary))


def test_a_new_order_goes_with_every_term_it_was_accepted_with() -> None:
    body = new_order_single(BUY_LIMIT)
    assert body == {
        11: "V1A", 1: "CLIENT1", 21: "1", 55: "AAPL", 54: "1", 60: "20260302-14:30:05.123",
        38: "100", 40: "4", 59: "6", 44: "190.50", 99: "191", 126: "20260306-21:00:00.000",
    }


def test_a_cancel_names_the_order_by_the_venue_clordid_and_order_id_the_venue_knows() -> None:
    body = order_cancel_request(CANCEL)
    assert (body[11], body[41], body[37], body[38], body[54]) == ("V1B", "V1A", "X-7", "100",
                                                                  "1")


def test_a_replace_carries_its_new_terms_and_no_order_id_the_venue_never_gave() -> None:
    body = order_cancel_replace_request(REPLACE)
    assert (body[11], body[41], body[38], body[44], body[54], body[59]) == (
        "V1C", "V1A", "60", "0.0001", "5", "0")
    assert 37 not in body and 99 not in body


def test_a_status_request_asks_by_the_clordid_the_venue_knows_the_order_by() -> None:
    assert order_status_request(STATUS) == {11: "V1C", 55: "AAPL", 54: "2"}


@pytest.mark.parametrize(("msg_type", "body"), [
    (NEW_ORDER_SINGLE, new_order_single(BUY_LIMIT)),
    (ORDER_CANCEL_REQUEST, order_cancel_request(CANCEL)),
    (ORDER_CANCEL_REPLACE_REQUEST, order_cancel_replace_request(REPLACE)),
    (ORDER_STATUS_REQUEST, order_status_request(STATUS)),
], ids=["new order", "cancel", "replace", "status request"])
def test_every_request_is_a_valid_fix44_message(msg_type: str, body: dict[int, str]) -> None:
    accepted_by_fix44(msg_type, body)
