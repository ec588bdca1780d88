"""Field rules for strategy commands (pure). Each reader returns the field's value or raises
``FieldError`` with a sentence a strategy developer can act on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from oms.domain.values import MAX_AMOUNT

QUANTITY_PLACES = 8
"""Decimal places a quantity may have (the scale of the NUMERIC column that stores it)."""
PRICE_PLACES = 10
"""Decimal places a price may have (the scale of the NUMERIC column that stores it)."""
MAX_ID_LENGTH = 64
MAX_SYMBOL_LENGTH = 32
MAX_DECIMAL_TEXT = 64

_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)

E = TypeVar("E", bound=StrEnum)


class FieldError(Exception):
    """A field is missing, of the wrong type or out of range. ``str(error)`` is the reason."""


def quote(value: str, limit: int = 40) -> str:
    """``value`` quoted for a reason text: escaped, and cut short if long."""
    if len(value) > limit:
        return repr(value[:limit])[:-1] + "...'"
    return repr(value)


def json_kind(value: object) -> str:
    """How JSON would name the type of a decoded value, for reasons."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def is_identifier_text(value: object, max_length: int = MAX_ID_LENGTH) -> bool:
    """1..max_length printable characters, not starting or ending with whitespace."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and value.isprintable()
        and value == value.strip()
    )


def identifier_rule(name: str, max_length: int = MAX_ID_LENGTH) -> str:
    return (
        f"{name} must be 1 to {max_length} printable characters "
        "without leading or trailing spaces"
    )


def optional_text(
    obj: Mapping[str, object], name: str, max_length: int = MAX_ID_LENGTH
) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(f"{name} must be a string (got {json_kind(value)})")
    if not is_identifier_text(value, max_length):
        raise FieldError(f"{identifier_rule(name, max_length)} (got {quote(value)})")
    return value


def required_text(obj: Mapping[str, object], name: str, max_length: int = MAX_ID_LENGTH) -> str:
    value = optional_text(obj, name, max_length)
    if value is None:
        raise FieldError(f"{name} is required")
    return value


def optional_enum(obj: Mapping[str, object], name: str, enum: type[E]) -> E | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(f"{name} must be one of {_allowed(enum)} (got {json_kind(value)})")
    try:
        return enum(value)
    except ValueError:
        raise FieldError(f"{name} {quote(value)} is not one of {_allowed(enum)}") from None


def _allowed(enum: type[StrEnum]) -> str:
    return ", ".join(member.value for member in enum)


def required_enum(obj: Mapping[str, object], name: str, enum: type[E]) -> E:
    value = optional_enum(obj, name, enum)
    if value is None:
        raise FieldError(f"{name} is required (one of {_allowed(enum)})")
    return value


def optional_amount(obj: Mapping[str, object], name: str, places: int) -> Decimal | None:
    """A positive decimal, given as a string ("10.25", "1e2") or as an exact JSON number.

    The result is normalised: held with no positive exponent and no trailing fractional zeros
    ("1e2" -> Decimal("100"), "10.50" -> Decimal("10.5")). The value is never rounded: too many
    decimal places is an error. (``str()`` of a tiny Decimal still prints E-notation; events are
    printed with ``oms.contract.event_format.decimal_text``.)
    """
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > MAX_DECIMAL_TEXT or not _DECIMAL_TEXT.fullmatch(value):
            raise FieldError(f"{name} {quote(value)} is not a decimal number")
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    else:
        raise FieldError(f'{name} must be a decimal string such as "100" (got {json_kind(value)})')
    if not number.is_finite():
        raise FieldError(f"{name} must be a finite number (got {number})")
    if number <= 0:
        raise FieldError(f"{name} must be greater than zero (got {quote(str(number))})")
    if number > MAX_AMOUNT:
        raise FieldError(f"{name} {quote(str(number))} is absurdly large (the limit is 1e12)")
    plain = plain_decimal(number)
    exponent = plain.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > places:
        raise FieldError(
            f"{name} {quote(str(number))} has more than {places} decimal places"
        )
    return plain


def required_amount(obj: Mapping[str, object], name: str, places: int) -> Decimal:
    value = optional_amount(obj, name, places)
    if value is None:
        raise FieldError(f"{name} is required")
    return value


def plain_decimal(number: Decimal) -> Decimal:
    """The same finite value with no exponent and no trailing fractional zeros, exactly (no
    rounding context is involved): Decimal("1E+2") -> Decimal("100"), "1.50" -> "1.5"."""
    sign, digit_tuple, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    digits = list(digit_tuple)
    while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    if exponent > 0:
        digits.extend([0] * exponent)
        exponent = 0
    return Decimal((sign, tuple(digits), exponent))


def optional_utc_time(obj: Mapping[str, object], name: str) -> datetime | None:
    """An ISO 8601 date and time with a UTC offset ("2024-06-01T20:00:00Z",
    "2024-06-01T16:00:00-04:00"), converted to UTC."""
    value = obj.get(name)
    if value is None:
        return None
    example = "e.g. 2024-06-01T20:00:00Z"
    if not isinstance(value, str):
        raise FieldError(f"{name} must be an ISO 8601 string, {example} (got {json_kind(value)})")
    try:
        if len(value) > MAX_DECIMAL_TEXT:
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(f"{name} {quote(value)} is not an ISO 8601 time, {example}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FieldError(f"{name} {quote(value)} must include a UTC offset, {example}")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise FieldError(f"{name} {quote(value)} is out of range") from None


def reject_unknown_fields(obj: Mapping[str, object], allowed: frozenset[str], kind: str) -> None:
    unknown = sorted(key for key in obj if key not in allowed)
    if not unknown:
        return
    names = ", ".join(quote(key) for key in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    plural = "s" if len(unknown) > 1 else ""
    raise FieldError(f"unknown field{plural} {names}{more} in a {kind} command")
