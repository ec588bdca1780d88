"""A FIX client's orders as the OMS's client requests (pure translation): examples per message
type, the account rules, bad fields as rejects with the reason, and a property: every new order
a client can express comes out exactly as sent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fix_gateway.client_translate import SessionProfile, client_input, client_request
from fix_gateway.translate_fields import TranslationError, format_decimal, format_timestamp
from oms.domain.requests import CancelRequest, InvalidRequest, NewOrderRequest, ReplaceRequest
from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.inputs import ClientFixRequest, ClientStatusRequest

CLIENT1 = SessionProfile("CLIENT1", ("CLIENT1",))
TWO_ACCOUNTS = SessionProfile("MULTI", ("A1", "A2"))


def nos(**fields: str) -> dict[int, str]:
    base = {35: "D", 34: "7", 11: "C-1", 55: "ZVZZT", 54: "1", 38: "100", 40: "2", 44: "10.25",
            60: "20260101-10:00:00.000"}
    base.update({int(tag[1:]): value for tag, value in fields.items()})
    return base


def test_a_new_order_single_is_a_new_order_request_of_the_session() -> None:
    request = client_request(nos(), CLIENT1)
    assert request == NewOrderRequest(
        origin="fix:CLIENT1", user="fix:CLIENT1", cl_ord_id="C-1", account="CLIENT1",
        symbol="ZVZZT", side=Side.BUY, ord_type=OrdType.LIMIT, quantity=Decimal("100"),
        price=Decimal("10.25"),
    )


def test_the_account_tag_is_taken_as_given_for_the_core_to_entitle() -> None:
    request = client_request(nos(t1="DEMO1"), CLIENT1)
    assert request.account == "DEMO1"


def test_a_session_with_several_accounts_must_name_one() -> None:
    with pytest.raises(TranslationError) as raised:
        client_request(nos(), TWO_ACCOUNTS)
    assert raised.value.tag == 1
    assert client_request(nos(t1="A2"), TWO_ACCOUNTS).account == "A2"


def test_a_good_till_date_order_keeps_its_expire_time_and_destination() -> None:
    request = client_request(nos(t59="6", t126="20260102-21:00:00", t100="SIM"), CLIENT1)
    assert isinstance(request, NewOrderRequest)
    assert request.time_in_force is TimeInForce.GTD
    assert request.expire_time == datetime(2026, 1, 2, 21, 0, tzinfo=UTC)
    assert request.venue == "SIM"


@pytest.mark.parametrize(("fields", "reason"), [
    ({"t40": "P"}, "unsupported OrdType 'P'"),
    ({"t59": "2"}, "unsupported TimeInForce '2'"),
    ({"t38": "0"}, "a quantity must be positive"),
    ({"t38": "-5"}, "a quantity must be positive"),
    ({"t44": "1e3"}, "not a FIX decimal"),
    ({"t54": "8"}, "unknown Side '8'"),
    ({"t126": "tomorrow"}, "not a FIX UTCTimestamp"),
])
def test_a_field_the_oms_cannot_take_is_an_invalid_request_naming_it(
    fields: dict[str, str], reason: str
) -> None:
    request = client_request(nos(**fields), CLIENT1)
    assert isinstance(request, InvalidRequest)
    assert reason in request.reason
    assert (request.kind, request.cl_ord_id, request.account) == ("new_order", "C-1", "CLIENT1")


def test_a_new_order_without_symbol_or_quantity_is_invalid() -> None:
    no_symbol = nos()
    del no_symbol[55]
    no_qty = nos()
    del no_qty[38]
    assert "Symbol (55)" in getattr(client_request(no_symbol, CLIENT1), "reason", "")
    assert "OrderQty (38)" in getattr(client_request(no_qty, CLIENT1), "reason", "")


def test_an_order_cancel_request_is_a_cancel_request() -> None:
    fields = {35: "F", 11: "X-1", 41: "C-1", 55: "ZVZZT", 54: "1", 60: "20260101-10:00:00"}
    assert client_request(fields, CLIENT1) == CancelRequest(
        origin="fix:CLIENT1", user="fix:CLIENT1", cl_ord_id="X-1", orig_cl_ord_id="C-1",
        account="CLIENT1", symbol="ZVZZT",
    )


def test_a_cancel_replace_request_changes_quantity_and_price() -> None:
    fields = {35: "G", 11: "R-1", 41: "C-1", 55: "ZVZZT", 54: "1", 38: "150", 40: "2",
              44: "10.30", 60: "20260101-10:00:00"}
    assert client_request(fields, CLIENT1) == ReplaceRequest(
        origin="fix:CLIENT1", user="fix:CLIENT1", cl_ord_id="R-1", orig_cl_ord_id="C-1",
        account="CLIENT1", quantity=Decimal("150"), price=Decimal("10.30"),
    )


def test_a_replace_with_a_bad_price_is_an_invalid_replace() -> None:
    fields = {35: "G", 11: "R-2", 41: "C-1", 54: "1", 38: "150", 40: "2", 44: "x"}
    request = client_request(fields, CLIENT1)
    assert isinstance(request, InvalidRequest)
    assert (request.kind, request.orig_cl_ord_id) == ("replace", "C-1")


def test_a_resent_order_is_marked_redelivered_with_its_sequence_number() -> None:
    item = client_input(nos(t43="Y"), CLIENT1)
    assert isinstance(item, ClientFixRequest)
    assert (item.redelivered, item.seq_num, item.side, item.symbol) == (True, 7, "1", "ZVZZT")
    assert not client_input(nos(), CLIENT1).redelivered  # type: ignore[union-attr]
    assert client_input(nos(t97="Y"), CLIENT1).redelivered  # type: ignore[union-attr]


def test_an_order_status_request_is_a_status_request() -> None:
    item = client_input({35: "H", 34: "9", 11: "C-1", 54: "1", 55: "ZVZZT", 790: "Q"}, CLIENT1)
    assert item == ClientStatusRequest(session="CLIENT1", cl_ord_id="C-1", seq_num=9,
                                       side="1", symbol="ZVZZT", status_req_id="Q")


def test_a_message_without_cl_ord_id_cannot_be_answered_as_an_order() -> None:
    fields = nos()
    del fields[11]
    with pytest.raises(TranslationError):
        client_request(fields, CLIENT1)


def test_another_message_type_is_not_an_order() -> None:
    with pytest.raises(ValueError, match="not an order message"):
        client_input({35: "q", 11: "M"}, CLIENT1)


# -- property: what a client can express comes out exactly ------------------------------------

quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e9"), places=4,
                         allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e7"), places=6,
                     allow_nan=False, allow_infinity=False)
ids = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="="),
              min_size=1, max_size=20)
SIDES = {"1": Side.BUY, "2": Side.SELL, "5": Side.SELL_SHORT}
TYPES = {"1": OrdType.MARKET, "2": OrdType.LIMIT, "3": OrdType.STOP, "4": OrdType.STOP_LIMIT}
TIFS = {"0": TimeInForce.DAY, "1": TimeInForce.GTC, "3": TimeInForce.IOC, "4": TimeInForce.FOK,
        "6": TimeInForce.GTD}


@given(cl_ord_id=ids, symbol=ids, side=st.sampled_from(sorted(SIDES)),
       ord_type=st.sampled_from(sorted(TYPES)), tif=st.sampled_from(sorted(TIFS)),
       quantity=quantities, price=prices, stop=prices,
       expire=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1),
                           timezones=st.just(UTC)))
def test_every_new_order_a_client_can_express_is_translated_exactly(
    cl_ord_id: str, symbol: str, side: str, ord_type: str, tif: str, quantity: Decimal,
    price: Decimal, stop: Decimal, expire: datetime,
) -> None:
    expire = expire.replace(microsecond=expire.microsecond // 1000 * 1000)
    fields = {35: "D", 11: cl_ord_id, 55: symbol, 54: side, 40: ord_type, 59: tif,
              38: format_decimal(quantity), 44: format_decimal(price),
              99: format_decimal(stop), 126: format_timestamp(expire)}
    request = client_request(fields, CLIENT1)
    assert isinstance(request, NewOrderRequest)
    assert (request.cl_ord_id, request.symbol, request.account) == (cl_ord_id, symbol, "CLIENT1")
    assert (request.side, request.ord_type) == (SIDES[side], TYPES[ord_type])
    assert request.time_in_force is TIFS[tif]
    assert (request.quantity, request.price, request.stop_price) == (quantity, price, stop)
    assert request.expire_time == expire
    assert request.origin == request.user == "fix:CLIENT1"
