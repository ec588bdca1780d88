"""Whatever arrives on the intake queue, the decoder answers with one of its result types."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.bus.command_decoder import (
    DeadLetter,
    decode_command,
)
from oms.domain.requests import CancelRequest, InvalidRequest, NewOrderRequest, ReplaceRequest

RESULT_TYPES = (NewOrderRequest, CancelRequest, ReplaceRequest, InvalidRequest, DeadLetter)
FIELDS = (
    "type", "cl_ord_id", "account", "symbol", "side", "order_type", "quantity", "price",
    "stop_price", "time_in_force", "expire_time", "venue", "orig_cl_ord_id", "security_type",
    "currency", "maturity", "strike", "put_or_call", "extra",
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80)
    | st.sampled_from(
        ["new_order", "cancel", "replace", "buy", "sell_short", "limit", "market", "stop",
         "stop_limit", "gtd", "day", "1e2", "1E+400", "-0", "0.0000000001", "NaN", "1e12",
         "1000000000000.1", "2030-06-01T20:00:00Z", "0001-01-01T00:00:00+01:00",
         "9999-12-31T23:59:59-01:00", "DEMO1", "AAPL", "\ud800", "\u0000", "é" * 70]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)
commands = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), json_values,
                           max_size=12)


def plain(amount: Decimal) -> bool:
    """No positive exponent (1E+2 is held as 100) and no trailing fractional zeros."""
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    return exponent <= 0 and (exponent == 0 or amount.as_tuple().digits[-1] != 0)


def check(body: bytes, content_type: str | None, user_id: str | None, key: str) -> None:
    result = decode_command(body, content_type=content_type, user_id=user_id, routing_key=key)
    assert isinstance(result, RESULT_TYPES)
    if isinstance(result, (NewOrderRequest, ReplaceRequest)):
        for amount in (result.quantity, result.price):
            assert amount is None or (amount.is_finite() and Decimal(0) < amount <= 10**12)
            assert amount is None or plain(amount)
    if isinstance(result, (InvalidRequest, DeadLetter)):
        assert result.reason and len(result.reason) < 400


@settings(max_examples=400)
@given(st.binary(max_size=300), st.none() | st.text(max_size=20), st.none() | st.text(max_size=8),
       st.text(max_size=8))
def test_random_bytes_never_crash_the_decoder(
    body: bytes, content_type: str | None, user_id: str | None, key: str
) -> None:
    check(body, content_type, user_id, key)


@settings(max_examples=600)
@given(commands, st.sampled_from(["DEMO1", "other"]), st.booleans())
def test_random_json_objects_never_crash_the_decoder(
    command: dict[str, Any], key: str, with_identity: bool
) -> None:
    if with_identity:
        command = {"type": "new_order", "cl_ord_id": "c1", "account": "DEMO1", **command}
    body = json.dumps(command, allow_nan=True).encode("utf-8", "surrogatepass")
    check(body, "application/json", None, key)


@settings(max_examples=300)
@given(
    st.sampled_from(["new_order", "cancel", "replace"]),
    st.dictionaries(st.sampled_from(FIELDS[3:]), json_scalars, max_size=8),
)
def test_near_valid_commands_of_each_type_never_crash_the_decoder(
    kind: str, fields: dict[str, Any]
) -> None:
    command = {"type": kind, "cl_ord_id": "c2", "account": "DEMO1", "orig_cl_ord_id": "c1",
               "symbol": "AAPL", "side": "buy", "order_type": "limit", "quantity": "5",
               "price": "1"}
    command.update(fields)
    body = json.dumps(command, allow_nan=True).encode("utf-8", "surrogatepass")
    check(body, None, "u", "DEMO1")


@settings(max_examples=200)
@given(st.text(alphabet="0123456789.eE+-", min_size=1, max_size=30))
def test_any_decimal_looking_text_yields_an_exact_positive_amount_or_a_reason(text: str) -> None:
    command = {"type": "new_order", "cl_ord_id": "c1", "account": "DEMO1", "symbol": "AAPL",
               "side": "buy", "order_type": "market", "quantity": text}
    result = decode_command(json.dumps(command).encode(), content_type=None, user_id=None,
                            routing_key="DEMO1")
    assert isinstance(result, (NewOrderRequest, InvalidRequest))
    if isinstance(result, NewOrderRequest):
        assert result.quantity == Decimal(text)


amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1e12"), places=8,
                      allow_nan=False, allow_infinity=False)


@settings(max_examples=300)
@given(
    amounts,
    st.sampled_from(["{:f}", "{:e}", "{:E}"]),
    st.sampled_from(["buy", "sell", "sell_short"]),
    st.sampled_from(["market", "limit"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
            max_size=64),
)
def test_every_valid_new_order_decodes_to_exactly_what_was_sent(
    quantity: Decimal, form: str, side: str, order_type: str, cl_ord_id: str
) -> None:
    command = {"type": "new_order", "cl_ord_id": cl_ord_id, "account": "DEMO1",
               "symbol": "AAPL", "side": side, "order_type": order_type,
               "quantity": form.format(quantity)}
    if order_type == "limit":
        command["price"] = "190.25"
    result = decode_command(json.dumps(command).encode(), content_type="application/json",
                            user_id="u", routing_key="DEMO1")
    assert isinstance(result, NewOrderRequest)
    assert result.quantity == quantity and plain(result.quantity)
    assert (result.cl_ord_id, result.side.value, result.ord_type.value) == (
        cl_ord_id, side, order_type
    )
