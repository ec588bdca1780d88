"""Strategy commands: one AMQP message body -> one client request (pure: no I/O, no clock).

The outcome is one of:

- a ``NewOrderRequest``, ``CancelRequest`` or ``ReplaceRequest``;
- an ``InvalidRequest`` when the body is a command we can answer (a JSON object whose ``type``,
  ``cl_ord_id`` and ``account`` are usable strings) but some field is wrong: the core turns it
  into a ``rejected`` / ``cancel_rejected`` / ``replace_rejected`` event carrying ``reason``;
- a ``DeadLetter`` when there is nobody to answer: not JSON, not an object, or ``type``,
  ``cl_ord_id`` or ``account`` missing, not strings, or unusable as identifiers (empty, longer
  than 64 characters, unprintable). CONTRACT.md sends those to ``oms.orders.dlq``.

Numbers are read exactly from the JSON text (``parse_float=Decimal``), never through float.
``decode_command`` never raises: every input gives one of the result types above.

``InvalidRequest.kind`` is the command type (``new_order``, ``cancel``, ``replace``), or
``unknown`` for a type we do not know: the core answers ``cancel`` with ``cancel_rejected``,
``replace`` with ``replace_rejected`` and anything else with ``rejected``.

``user`` on every request is the AMQP ``user_id`` exactly as received (None when absent):
entitlement, including the development-only default user, is the core's decision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oms.bus.command_fields import (
    MAX_SYMBOL_LENGTH,
    PRICE_PLACES,
    QUANTITY_PLACES,
    FieldError,
    identifier_rule,
    is_identifier_text,
    json_kind,
    optional_amount,
    optional_enum,
    optional_text,
    optional_utc_time,
    quote,
    reject_unknown_fields,
    required_amount,
    required_enum,
    required_text,
)
from oms.domain.requests import (
    CancelRequest,
    InstrumentDetails,
    InvalidRequest,
    NewOrderRequest,
    ReplaceRequest,
    amqp_origin,
)
from oms.domain.values import OrdType, Side, TimeInForce

MAX_BODY_BYTES = 64 * 1024
"""A command is a few hundred bytes; anything this large is not one."""

JSON_CONTENT_TYPE = "application/json"

NEW_ORDER = "new_order"
CANCEL = "cancel"
REPLACE = "replace"
UNKNOWN = "unknown"

_IDENTITY = frozenset({"type", "cl_ord_id", "account"})
_INSTRUMENT = frozenset({"security_type", "currency", "maturity", "strike", "put_or_call"})
NEW_ORDER_FIELDS = _IDENTITY | _INSTRUMENT | {
    "symbol", "side", "order_type", "quantity", "price", "stop_price", "time_in_force",
    "expire_time", "venue",
}
CANCEL_FIELDS = _IDENTITY | {"orig_cl_ord_id", "symbol"}
REPLACE_FIELDS = _IDENTITY | {"orig_cl_ord_id", "quantity", "price"}
PUT_OR_CALL = ("put", "call")
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """The message cannot be answered as a command: republish it to the dead-letter queue."""

    reason: str


Command = NewOrderRequest | CancelRequest | ReplaceRequest | InvalidRequest
DecodeResult = Command | DeadLetter


@dataclass(frozen=True, slots=True)
class _Identity:
    kind: str
    cl_ord_id: str
    account: str
    user: str | None

    @property
    def origin(self) -> str:
        return amqp_origin(self.account)


def decode_command(
    body: bytes,
    *,
    content_type: str | None,
    user_id: str | None,
    routing_key: str,
) -> DecodeResult:
    """Decode one delivery from ``oms.orders.intake``. See the module docstring."""
    parsed = _parse_object(body)
    if isinstance(parsed, DeadLetter):
        return parsed
    identity = _identity(parsed, user_id)
    if isinstance(identity, DeadLetter):
        return identity
    try:
        _check_envelope(identity, content_type, routing_key)
        if identity.kind == NEW_ORDER:
            return _new_order(parsed, identity)
        if identity.kind == CANCEL:
            return _cancel(parsed, identity)
        if identity.kind == REPLACE:
            return _replace(parsed, identity)
        raise FieldError(
            f"unknown command type {quote(parsed['type'])} "
            f"(expected {NEW_ORDER}, {CANCEL} or {REPLACE})"
        )
    except FieldError as error:
        return _invalid(parsed, identity, str(error))


def _parse_object(body: bytes) -> dict[str, Any] | DeadLetter:
    if len(body) > MAX_BODY_BYTES:
        return DeadLetter(f"body of {len(body)} bytes is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return DeadLetter(f"body is not UTF-8 text ({error.reason} at byte {error.start})")
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=Decimal,
            object_pairs_hook=_object_without_duplicates,
        )
    except RecursionError:
        return DeadLetter("body is not valid JSON (nested too deeply)")
    except ValueError as error:
        return DeadLetter(f"body is not valid JSON ({error})")
    if not isinstance(value, dict):
        return DeadLetter(f"body is JSON but not an object (got {json_kind(value)})")
    return value


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"field {quote(key)} appears twice")
        result[key] = value
    return result


def _identity(obj: Mapping[str, Any], user_id: str | None) -> _Identity | DeadLetter:
    for name in ("type", "cl_ord_id", "account"):
        value = obj.get(name)
        if value is None:
            return DeadLetter(f"{name} is missing: a command needs type, cl_ord_id and account")
        if not isinstance(value, str):
            return DeadLetter(f"{name} must be a string (got {json_kind(value)})")
    for name in ("cl_ord_id", "account"):
        if not is_identifier_text(obj[name]):
            return DeadLetter(f"{identifier_rule(name)} (got {quote(obj[name])})")
    kind = obj["type"] if obj["type"] in (NEW_ORDER, CANCEL, REPLACE) else UNKNOWN
    return _Identity(kind, obj["cl_ord_id"], obj["account"], user_id)


def _check_envelope(identity: _Identity, content_type: str | None, routing_key: str) -> None:
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type != JSON_CONTENT_TYPE:
            raise FieldError(
                f"content_type {quote(content_type)} is not {JSON_CONTENT_TYPE}"
            )
    if routing_key != identity.account:
        raise FieldError(
            f"routing key {quote(routing_key)} must be the account {quote(identity.account)}"
        )


def _new_order(obj: Mapping[str, Any], identity: _Identity) -> NewOrderRequest:
    reject_unknown_fields(obj, NEW_ORDER_FIELDS, NEW_ORDER)
    symbol = required_text(obj, "symbol", MAX_SYMBOL_LENGTH)
    side = required_enum(obj, "side", Side)
    ord_type = required_enum(obj, "order_type", OrdType)
    quantity = required_amount(obj, "quantity", QUANTITY_PLACES)
    price = optional_amount(obj, "price", PRICE_PLACES)
    stop_price = optional_amount(obj, "stop_price", PRICE_PLACES)
    if ord_type.needs_price and price is None:
        raise FieldError(f"a {ord_type.value} order needs a price")
    if not ord_type.needs_price and price is not None:
        raise FieldError(f"a {ord_type.value} order takes no price")
    if ord_type.needs_stop_price and stop_price is None:
        raise FieldError(f"a {ord_type.value} order needs a stop_price")
    if not ord_type.needs_stop_price and stop_price is not None:
        raise FieldError(f"a {ord_type.value} order takes no stop_price")
    time_in_force = optional_enum(obj, "time_in_force", TimeInForce) or TimeInForce.DAY
    expire_time = optional_utc_time(obj, "expire_time")
    if time_in_force is TimeInForce.GTD and expire_time is None:
        raise FieldError("time_in_force gtd needs an expire_time")
    if time_in_force is not TimeInForce.GTD and expire_time is not None:
        raise FieldError("expire_time is only allowed with time_in_force gtd")
    return NewOrderRequest(
        origin=identity.origin,
        user=identity.user,
        cl_ord_id=identity.cl_ord_id,
        account=identity.account,
        symbol=symbol,
        side=side,
        ord_type=ord_type,
        quantity=quantity,
        price=price,
        stop_price=stop_price,
        time_in_force=time_in_force,
        expire_time=expire_time,
        venue=optional_text(obj, "venue"),
        instrument=_instrument(obj),
    )


def _instrument(obj: Mapping[str, Any]) -> InstrumentDetails:
    currency = optional_text(obj, "currency")
    if currency is not None and not _CURRENCY.fullmatch(currency):
        raise FieldError(f"currency {quote(currency)} must be three capital letters (ISO 4217)")
    put_or_call = optional_text(obj, "put_or_call")
    if put_or_call is not None and put_or_call not in PUT_OR_CALL:
        raise FieldError(f"put_or_call {quote(put_or_call)} is not one of put, call")
    return InstrumentDetails(
        security_type=optional_text(obj, "security_type", 16),
        currency=currency,
        maturity=optional_text(obj, "maturity", 16),
        strike=optional_amount(obj, "strike", PRICE_PLACES),
        put_or_call=put_or_call,
    )


def _cancel(obj: Mapping[str, Any], identity: _Identity) -> CancelRequest:
    reject_unknown_fields(obj, CANCEL_FIELDS, CANCEL)
    orig_cl_ord_id = _orig_cl_ord_id(obj, identity)
    return CancelRequest(
        origin=identity.origin,
        user=identity.user,
        cl_ord_id=identity.cl_ord_id,
        orig_cl_ord_id=orig_cl_ord_id,
        account=identity.account,
        symbol=optional_text(obj, "symbol", MAX_SYMBOL_LENGTH),
    )


def _replace(obj: Mapping[str, Any], identity: _Identity) -> ReplaceRequest:
    reject_unknown_fields(obj, REPLACE_FIELDS, REPLACE)
    orig_cl_ord_id = _orig_cl_ord_id(obj, identity)
    quantity = optional_amount(obj, "quantity", QUANTITY_PLACES)
    price = optional_amount(obj, "price", PRICE_PLACES)
    if quantity is None and price is None:
        raise FieldError("a replace needs a new quantity or price (or both)")
    return ReplaceRequest(
        origin=identity.origin,
        user=identity.user,
        cl_ord_id=identity.cl_ord_id,
        orig_cl_ord_id=orig_cl_ord_id,
        account=identity.account,
        quantity=quantity,
        price=price,
    )


def _orig_cl_ord_id(obj: Mapping[str, Any], identity: _Identity) -> str:
    orig_cl_ord_id = required_text(obj, "orig_cl_ord_id")
    if orig_cl_ord_id == identity.cl_ord_id:
        raise FieldError(
            f"a {identity.kind} needs a new cl_ord_id, different from orig_cl_ord_id"
        )
    return orig_cl_ord_id


def _invalid(obj: Mapping[str, Any], identity: _Identity, reason: str) -> InvalidRequest:
    """The reject carries whatever identifying fields are themselves valid."""
    symbol = obj.get("symbol")
    orig_cl_ord_id = obj.get("orig_cl_ord_id")
    return InvalidRequest(
        origin=identity.origin,
        user=identity.user,
        kind=identity.kind,
        cl_ord_id=identity.cl_ord_id,
        account=identity.account,
        symbol=symbol if is_identifier_text(symbol, MAX_SYMBOL_LENGTH) else None,
        reason=reason,
        orig_cl_ord_id=orig_cl_ord_id if is_identifier_text(orig_cl_ord_id) else None,
    )
