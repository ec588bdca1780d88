"""The strategy client's command bodies: exactly the fields of CONTRACT.md, decimals as text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from oms.bus.command_decoder import decode_command
from oms.client.commands import (
    ClOrdIdGenerator,
    InstrumentFields,
    amount_text,
    cancel_body,
    check_identifier,
    default_prefix,
    infer_order_type,
    new_order_body,
    replace_body,
)
from oms.domain.requests import CancelRequest, NewOrderRequest, ReplaceRequest


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("10.50"), "10.50"), (100, "100"), ("1E+2", "100"), (Decimal("-0"), "0"),
     ("0.000001", "0.000001"), (Decimal("1.2E-7"), "0.00000012")],
)
def test_amounts_are_plain_decimal_text(value: Decimal | int | str, text: str) -> None:
    assert amount_text(value, "price") == text


@pytest.mark.parametrize("value", [10.5, True, None, b"10"])
def test_floats_and_other_types_are_refused(value: object) -> None:
    with pytest.raises(TypeError, match="price"):
        amount_text(value, "price")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["ten", "NaN", "Infinity", ""])
def test_text_that_is_not_a_finite_decimal_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        amount_text(value, "quantity")


@pytest.mark.parametrize(
    ("price", "stop", "kind"),
    [(None, None, "market"), ("1", None, "limit"), (None, "1", "stop"), ("1", "1", "stop_limit")],
)
def test_order_type_follows_the_prices_given(price: str | None, stop: str | None,
                                             kind: str) -> None:
    assert infer_order_type(price, stop) == kind


def _decoded(body: dict[str, str]) -> object:
    return decode_command(json.dumps(body).encode(), content_type="application/json",
                          user_id="guest", routing_key=body["account"])


def test_a_new_order_body_decodes_to_exactly_what_was_asked() -> None:
    expiry = datetime(2030, 1, 2, 15, 30, tzinfo=timezone(timedelta(hours=-5)))
    body = new_order_body(
        cl_ord_id="c-1", account="DEMO1", symbol="AAPL", side="buy", quantity=100,
        order_type="limit", price=Decimal("190.05"), time_in_force="gtd", expire_time=expiry,
        venue="SIM", instrument=InstrumentFields(currency="USD", strike="5"),
    )
    assert body["price"] == "190.05" and body["quantity"] == "100"
    assert body["expire_time"] == "2030-01-02T20:30:00.000000Z"
    request = _decoded(body)
    assert isinstance(request, NewOrderRequest)
    assert (request.quantity, request.price) == (Decimal(100), Decimal("190.05"))
    assert request.venue == "SIM"
    assert request.expire_time == datetime(2030, 1, 2, 20, 30, tzinfo=UTC)
    assert request.instrument.currency == "USD" and request.instrument.strike == 5


def test_a_market_order_has_no_price_field() -> None:
    body = new_order_body(cl_ord_id="m", account="DEMO1", symbol="MSFT", side="sell",
                          quantity="5", order_type="market")
    assert "price" not in body and "stop_price" not in body
    assert isinstance(_decoded(body), NewOrderRequest)


def test_a_naive_expire_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        new_order_body(cl_ord_id="g", account="A", symbol="S", side="buy", quantity=1,
                       order_type="limit", price=1, time_in_force="gtd",
                       expire_time=datetime(2030, 1, 1))


def test_cancel_and_replace_bodies_decode() -> None:
    cancel = cancel_body(cl_ord_id="x-2", orig_cl_ord_id="x-1", account="DEMO2", symbol="ZVZZT")
    assert isinstance(_decoded(cancel), CancelRequest)
    replace = replace_body(cl_ord_id="x-3", orig_cl_ord_id="x-1", account="DEMO2",
                           quantity=150, price="9.60")
    request = _decoded(replace)
    assert isinstance(request, ReplaceRequest)
    assert (request.quantity, request.price) == (Decimal(150), Decimal("9.60"))


def test_a_replace_must_change_something() -> None:
    with pytest.raises(ValueError, match="quantity or price"):
        replace_body(cl_ord_id="a", orig_cl_ord_id="b", account="DEMO1")


@pytest.mark.parametrize("bad", ["", " x", "x ", "a\nb", "x" * 65])
def test_identifiers_the_oms_would_dead_letter_are_refused_before_sending(bad: str) -> None:
    with pytest.raises(ValueError, match="printable"):
        check_identifier(bad, "cl_ord_id")


def test_generated_ids_are_unique_within_and_across_generators() -> None:
    first, second = ClOrdIdGenerator(), ClOrdIdGenerator()
    ids = [first() for _ in range(1000)] + [second() for _ in range(1000)]
    assert len(set(ids)) == 2000
    assert ClOrdIdGenerator("run7")() == "run7-1"
    assert default_prefix(now_ms=0).startswith("0")
