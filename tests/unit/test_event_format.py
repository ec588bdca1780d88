"""Order events are published with the routing keys and JSON bodies of CONTRACT.md."""

from __future__ import annotations

import json
import string
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oms.contract.event_format import (
    decimal_text,
    encode_event,
    event_json,
    event_routing_key,
    utc_text,
)
from oms.domain.values import ExecType, OrdStatus, Side

KEY_SAFE = set(string.ascii_letters + string.digits + "_-")


def test_routing_key_is_account_symbol_and_exec_type() -> None:
    assert event_routing_key("DEMO1", "AAPL", "fill") == "DEMO1.AAPL.fill"


def test_routing_key_replaces_characters_a_topic_would_misread() -> None:
    assert event_routing_key("desk.1", "BRK.B", "new") == "desk_1.BRK_B.new"
    assert event_routing_key("a*b", "ES Z4#", "fill") == "a_b.ES_Z4_.fill"
    assert event_routing_key("ünï", "6758/T", "new") == "_n_.6758_T.new"


def test_routing_key_uses_underscore_for_an_unknown_symbol() -> None:
    assert event_routing_key("DEMO1", None, "rejected") == "DEMO1._.rejected"


@given(st.text(max_size=30), st.none() | st.text(max_size=30),
       st.sampled_from([e.value for e in ExecType]))
def test_routing_key_always_has_three_safe_words(
    account: str, symbol: str | None, exec_type: str
) -> None:
    key = event_routing_key(account, symbol, exec_type)
    account_part, symbol_part, exec_part = key.split(".")
    assert set(account_part) <= KEY_SAFE and set(symbol_part) <= KEY_SAFE
    assert len(account_part) == len(account)
    assert exec_part == exec_type


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E+2"), "100"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("10.50"), "10.50"),
        (Decimal("-0"), "0"),
        (Decimal("-2.5"), "-2.5"),
        (Decimal("123456789012.1234567890"), "123456789012.1234567890"),
    ],
)
def test_decimals_are_plain_strings_without_exponent(value: Decimal, text: str) -> None:
    assert decimal_text(value) == text


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_finite_decimal_round_trips_exactly_without_exponent(value: Decimal) -> None:
    text = decimal_text(value)
    assert "E" not in text and "e" not in text
    assert Decimal(text) == value


def test_non_finite_decimals_are_refused() -> None:
    with pytest.raises(ValueError, match="only finite decimals"):
        decimal_text(Decimal("NaN"))


def test_times_are_utc_with_z_and_microseconds() -> None:
    new_york = timezone(timedelta(hours=-4))
    assert utc_text(datetime(2024, 6, 1, 16, 0, tzinfo=new_york)) == (
        "2024-06-01T20:00:00.000000Z"
    )
    assert utc_text(datetime(2024, 6, 1, 20, 0, 0, 123000, tzinfo=UTC)) == (
        "2024-06-01T20:00:00.123000Z"
    )
    with pytest.raises(ValueError, match="naive datetime"):
        utc_text(datetime(2024, 6, 1))


def test_a_whole_event_serialises_with_contract_types() -> None:
    event_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    event = {
        "event_id": event_id, "order_id": "O1", "seq": 3, "cl_ord_id": "c1",
        "orig_cl_ord_id": None, "account": "DEMO1", "symbol": "AAPL", "side": Side.BUY,
        "exec_type": ExecType.PARTIAL_FILL, "ord_status": OrdStatus.PARTIALLY_FILLED,
        "quantity": Decimal("1E+2"), "last_px": Decimal("190.25"),
        "transact_time": datetime(2024, 6, 1, 20, 0, tzinfo=UTC),
    }
    assert event_json(event) == {
        "event_id": "12345678-1234-5678-1234-567812345678", "order_id": "O1", "seq": 3,
        "cl_ord_id": "c1", "orig_cl_ord_id": None, "account": "DEMO1", "symbol": "AAPL",
        "side": "buy", "exec_type": "partial_fill", "ord_status": "partially_filled",
        "quantity": "100", "last_px": "190.25", "transact_time": "2024-06-01T20:00:00.000000Z",
    }
    body = encode_event(event)
    assert json.loads(body) == event_json(event)
    assert body.startswith(b'{"event_id":"12345678-')


def test_floats_are_refused_so_money_never_goes_through_binary_fractions() -> None:
    with pytest.raises(TypeError, match="must be Decimal"):
        encode_event({"price": 1.1})


def test_unicode_text_is_published_as_utf8() -> None:
    assert encode_event({"text": "prix refusé"}) == '{"text":"prix refusé"}'.encode()
