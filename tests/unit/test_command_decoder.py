"""Strategy commands as CONTRACT.md defines them, decoded into client requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from oms.bus.command_decoder import DeadLetter, DecodeResult, decode_command
from oms.domain.requests import (
    CancelRequest,
    InstrumentDetails,
    InvalidRequest,
    NewOrderRequest,
    ReplaceRequest,
)
from oms.domain.values import OrdType, Side, TimeInForce


def new_order(**fields: Any) -> dict[str, Any]:
    command: dict[str, Any] = {
        "type": "new_order", "cl_ord_id": "c1", "account": "DEMO1", "symbol": "AAPL",
        "side": "buy", "order_type": "limit", "quantity": "100", "price": "190.25",
    }
    command.update(fields)
    return {k: v for k, v in command.items() if v is not ...}


def decode(command: dict[str, Any] | bytes, *, user_id: str | None = "strategy1",
           routing_key: str = "DEMO1",
           content_type: str | None = "application/json") -> DecodeResult:
    body = command if isinstance(command, bytes) else json.dumps(command).encode()
    return decode_command(body, content_type=content_type, user_id=user_id,
                          routing_key=routing_key)


def reason_of(result: DecodeResult) -> str:
    assert isinstance(result, InvalidRequest), result
    return result.reason


def test_a_limit_order_becomes_a_new_order_request_from_the_account_origin() -> None:
    assert decode(new_order()) == NewOrderRequest(
        origin="amqp:DEMO1", user="strategy1", cl_ord_id="c1", account="DEMO1", symbol="AAPL",
        side=Side.BUY, ord_type=OrdType.LIMIT, quantity=Decimal("100"),
        price=Decimal("190.25"), time_in_force=TimeInForce.DAY,
    )


def test_a_command_without_user_id_keeps_user_none_for_the_core_to_entitle() -> None:
    result = decode(new_order(), user_id=None)
    assert isinstance(result, NewOrderRequest)
    assert result.user is None


def test_every_side_order_type_and_time_in_force_of_the_contract_is_understood() -> None:
    for side in ("buy", "sell", "sell_short"):
        assert isinstance(decode(new_order(side=side)), NewOrderRequest)
    for tif in ("day", "gtc", "ioc", "fok"):
        result = decode(new_order(time_in_force=tif))
        assert isinstance(result, NewOrderRequest)
        assert result.time_in_force == TimeInForce(tif)
    market = decode(new_order(order_type="market", price=...))
    stop = decode(new_order(order_type="stop", price=..., stop_price="180"))
    stop_limit = decode(new_order(order_type="stop_limit", stop_price="180"))
    assert isinstance(market, NewOrderRequest) and market.price is None
    assert isinstance(stop, NewOrderRequest) and stop.stop_price == Decimal("180")
    assert isinstance(stop_limit, NewOrderRequest)
    assert (stop_limit.price, stop_limit.stop_price) == (Decimal("190.25"), Decimal("180"))


def test_enum_values_must_be_spelt_exactly_as_the_contract() -> None:
    assert reason_of(decode(new_order(side="BUY"))) == (
        "side 'BUY' is not one of buy, sell, sell_short"
    )
    assert "order_type 'LMT'" in reason_of(decode(new_order(order_type="LMT")))
    assert "time_in_force 'GTC'" in reason_of(decode(new_order(time_in_force="GTC")))


def test_decimals_are_exact_and_exponent_forms_are_normalised() -> None:
    result = decode(new_order(quantity="1e2", price="0.000001"))
    assert isinstance(result, NewOrderRequest)
    assert str(result.quantity) == "100"
    assert str(result.price) == "0.000001"
    trailing = decode(new_order(price="10.50"))
    assert isinstance(trailing, NewOrderRequest) and str(trailing.price) == "10.5"


def test_json_numbers_are_accepted_and_read_exactly_never_through_float() -> None:
    body = (b'{"type":"new_order","cl_ord_id":"c1","account":"DEMO1","symbol":"AAPL",'
            b'"side":"buy","order_type":"limit","quantity":100,"price":0.1000000000000000055}')
    assert "more than 10 decimal places" in reason_of(decode(body))
    exact = body.replace(b"0.1000000000000000055", b"0.1")
    result = decode(exact)
    assert isinstance(result, NewOrderRequest)
    assert (result.quantity, str(result.price)) == (Decimal(100), "0.1")


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [
        ("0", "quantity must be greater than zero (got '0')"),
        ("-5", "quantity must be greater than zero (got '-5')"),
        ("NaN", "quantity 'NaN' is not a decimal number"),
        ("Infinity", "quantity 'Infinity' is not a decimal number"),
        ("1e13", "quantity '1E+13' is absurdly large (the limit is 1e12)"),
        ("1_000", "quantity '1_000' is not a decimal number"),
        (" 100", "quantity ' 100' is not a decimal number"),
        ("0.000000001", "quantity '1E-9' has more than 8 decimal places"),
        (True, 'quantity must be a decimal string such as "100" (got true/false)'),
        (..., "quantity is required"),
    ],
)
def test_unusable_quantities_are_rejected_with_a_reason(quantity: Any, reason: str) -> None:
    assert reason_of(decode(new_order(quantity=quantity))) == reason


def test_json_nan_and_infinity_literals_are_rejected_not_trusted() -> None:
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        body = json.dumps(new_order(price="1")).encode().replace(b'"1"', literal)
        assert reason_of(decode(body)).startswith("price must be a finite number")


def test_price_is_required_for_limit_kinds_and_forbidden_for_market_kinds() -> None:
    assert reason_of(decode(new_order(price=...))) == "a limit order needs a price"
    assert reason_of(decode(new_order(order_type="market"))) == "a market order takes no price"
    assert reason_of(decode(new_order(order_type="stop", stop_price="1"))) == (
        "a stop order takes no price"
    )
    assert reason_of(decode(new_order(order_type="stop", price=...))) == (
        "a stop order needs a stop_price"
    )
    assert reason_of(decode(new_order(stop_price="1"))) == "a limit order takes no stop_price"


def test_good_till_date_needs_an_expire_time_with_an_offset_and_is_kept_in_utc() -> None:
    result = decode(new_order(time_in_force="gtd", expire_time="2030-06-01T16:00:00-04:00"))
    assert isinstance(result, NewOrderRequest)
    assert result.expire_time == datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
    assert result.expire_time.tzinfo is UTC
    assert reason_of(decode(new_order(time_in_force="gtd"))) == (
        "time_in_force gtd needs an expire_time"
    )
    assert "must include a UTC offset" in reason_of(
        decode(new_order(time_in_force="gtd", expire_time="2030-06-01T16:00:00"))
    )
    assert "is not an ISO 8601 time" in reason_of(
        decode(new_order(time_in_force="gtd", expire_time="tomorrow"))
    )
    assert reason_of(decode(new_order(expire_time="2030-06-01T16:00:00Z"))) == (
        "expire_time is only allowed with time_in_force gtd"
    )


def test_an_unknown_field_is_named_in_the_reject() -> None:
    assert reason_of(decode(new_order(qty="100"))) == (
        "unknown field 'qty' in a new_order command"
    )


def test_optional_instrument_fields_and_venue_are_carried() -> None:
    result = decode(new_order(venue="SIM", security_type="OPT", currency="USD",
                              maturity="202612", strike="200", put_or_call="call"))
    assert isinstance(result, NewOrderRequest)
    assert result.venue == "SIM"
    assert result.instrument == InstrumentDetails("OPT", "USD", "202612", Decimal(200), "call")
    assert "currency 'usd'" in reason_of(decode(new_order(currency="usd")))
    assert "put_or_call 'P'" in reason_of(decode(new_order(put_or_call="P")))


def test_null_means_absent_for_optional_fields() -> None:
    result = decode(new_order(order_type="market", price=None, venue=None))
    assert isinstance(result, NewOrderRequest) and result.venue is None


def test_a_cancel_names_the_order_it_cancels() -> None:
    command = {"type": "cancel", "cl_ord_id": "c2", "orig_cl_ord_id": "c1",
               "account": "DEMO1", "symbol": "AAPL"}
    assert decode(command) == CancelRequest(
        origin="amqp:DEMO1", user="strategy1", cl_ord_id="c2", orig_cl_ord_id="c1",
        account="DEMO1", symbol="AAPL",
    )
    del command["orig_cl_ord_id"]
    rejected = decode(command)
    assert isinstance(rejected, InvalidRequest)
    assert (rejected.kind, rejected.reason, rejected.symbol) == (
        "cancel", "orig_cl_ord_id is required", "AAPL",
    )


def test_a_cancel_or_replace_needs_a_new_cl_ord_id() -> None:
    command = {"type": "cancel", "cl_ord_id": "c1", "orig_cl_ord_id": "c1", "account": "DEMO1"}
    assert reason_of(decode(command)) == (
        "a cancel needs a new cl_ord_id, different from orig_cl_ord_id"
    )


def test_a_replace_carries_a_new_total_quantity_and_or_price() -> None:
    base = {"type": "replace", "cl_ord_id": "c3", "orig_cl_ord_id": "c1", "account": "DEMO1"}
    assert decode({**base, "quantity": "200"}) == ReplaceRequest(
        origin="amqp:DEMO1", user="strategy1", cl_ord_id="c3", orig_cl_ord_id="c1",
        account="DEMO1", quantity=Decimal(200),
    )
    both = decode({**base, "quantity": "200", "price": "191"})
    assert isinstance(both, ReplaceRequest) and both.price == Decimal(191)
    rejected = decode(base)
    assert isinstance(rejected, InvalidRequest)
    assert (rejected.kind, rejected.orig_cl_ord_id, rejected.reason) == (
        "replace", "c1", "a replace needs a new quantity or price (or both)",
    )


def test_an_unknown_command_type_is_rejected_with_the_type_named() -> None:
    rejected = decode(new_order(type="amend"))
    assert isinstance(rejected, InvalidRequest)
    assert rejected.kind == "unknown"
    assert rejected.reason == (
        "unknown command type 'amend' (expected new_order, cancel or replace)"
    )
    assert (rejected.cl_ord_id, rejected.account, rejected.symbol) == ("c1", "DEMO1", "AAPL")


def test_the_routing_key_must_be_the_account() -> None:
    assert reason_of(decode(new_order(), routing_key="DEMO2")) == (
        "routing key 'DEMO2' must be the account 'DEMO1'"
    )


def test_a_body_declared_as_something_other_than_json_is_rejected() -> None:
    assert isinstance(decode(new_order(), content_type=None), NewOrderRequest)
    assert isinstance(
        decode(new_order(), content_type="application/json; charset=utf-8"), NewOrderRequest
    )
    assert reason_of(decode(new_order(), content_type="text/plain")) == (
        "content_type 'text/plain' is not application/json"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "body is not UTF-8 text (invalid start byte at byte 0)"),
        (b"not json", "body is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        (b"[1, 2]", "body is JSON but not an object (got a list)"),
        (b'{"type": "new_order", "account": "DEMO1"}',
         "cl_ord_id is missing: a command needs type, cl_ord_id and account"),
        (b'{"type": "new_order", "cl_ord_id": 7, "account": "DEMO1"}',
         "cl_ord_id must be a string (got a number)"),
        (b'{"type": null, "cl_ord_id": "c1", "account": "DEMO1"}',
         "type is missing: a command needs type, cl_ord_id and account"),
        (b'{"type": "cancel", "cl_ord_id": "", "account": "DEMO1"}',
         "cl_ord_id must be 1 to 64 printable characters without leading or trailing spaces "
         "(got '')"),
        (b'{"type": "cancel", "cl_ord_id": "c1", "cl_ord_id": "c2", "account": "DEMO1"}',
         "body is not valid JSON (field 'cl_ord_id' appears twice)"),
    ],
)
def test_a_body_that_is_not_an_identifiable_command_is_dead_lettered(
    body: bytes, reason: str
) -> None:
    assert decode(body) == DeadLetter(reason)


def test_an_overlong_or_unprintable_identity_is_dead_lettered() -> None:
    assert isinstance(decode(new_order(cl_ord_id="x" * 65)), DeadLetter)
    assert isinstance(decode(new_order(account="DEMO\n1")), DeadLetter)
    assert isinstance(decode(new_order(cl_ord_id="x" * 64)), NewOrderRequest)


def test_a_huge_body_is_dead_lettered_without_parsing() -> None:
    result = decode(b" " * (64 * 1024 + 1))
    assert result == DeadLetter("body of 65537 bytes is larger than 65536 bytes")


def test_deeply_nested_json_is_dead_lettered_not_a_crash() -> None:
    result = decode(b"[" * 60_000 + b"]" * 60_000)
    assert isinstance(result, DeadLetter)
