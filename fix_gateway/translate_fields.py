"""Reading and writing single FIX field values, strictly: a bad value is a TranslationError.

A FIX message here is a plain ``dict[int, str]`` (tag -> value), as the quickfix adapter copies
it; nothing in this module knows about quickfix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from oms.domain.values import MAX_AMOUNT

FixFields = Mapping[int, str]

# FIX float: optional minus, ASCII digits, optional fraction. No exponent, no sign plus, no
# NaN or Infinity (Decimal would take them all).
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_TIMESTAMP = re.compile(
    r"([0-9]{4})([0-9]{2})([0-9]{2})-([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?",
    re.ASCII,
)
_MAX_NUMBER_LENGTH = 40


class TranslationError(ValueError):
    """A FIX message that cannot be turned into a domain value: which tag, and why."""

    def __init__(self, tag: int | None, reason: str) -> None:
        super().__init__(f"tag {tag}: {reason}" if tag is not None else reason)
        self.tag = tag
        self.reason = reason


def required(fields: FixFields, tag: int) -> str:
    value = fields.get(tag)
    if value is None or value == "":
        raise TranslationError(tag, "required field is missing")
    if not isinstance(value, str):
        raise TranslationError(tag, f"value must be a string, not {type(value).__name__}")
    return value


def optional(fields: FixFields, tag: int) -> str | None:
    value = fields.get(tag)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TranslationError(tag, f"value must be a string, not {type(value).__name__}")
    return value


def parse_decimal(tag: int, value: str) -> Decimal:
    """A FIX float no larger in size than ``MAX_AMOUNT`` (a price, quantity or amount)."""
    if len(value) > _MAX_NUMBER_LENGTH or not _DECIMAL.fullmatch(value):
        raise TranslationError(tag, f"not a FIX decimal: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid ones
        raise TranslationError(tag, f"not a FIX decimal: {value!r}") from exc
    if abs(number) > MAX_AMOUNT:
        raise TranslationError(tag, f"{value} is out of range: no price or quantity the OMS "
                                    f"takes is above {MAX_AMOUNT:,.0f}")
    return number


def optional_decimal(fields: FixFields, tag: int) -> Decimal | None:
    value = optional(fields, tag)
    return None if value is None else parse_decimal(tag, value)


def optional_quantity(fields: FixFields, tag: int) -> Decimal | None:
    """A quantity: a FIX decimal that is not negative."""
    quantity = optional_decimal(fields, tag)
    if quantity is not None and quantity < 0:
        raise TranslationError(tag, f"a quantity cannot be negative: {quantity}")
    return quantity


def optional_int(fields: FixFields, tag: int) -> int | None:
    value = optional(fields, tag)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise TranslationError(tag, f"not a FIX int: {value!r}")
    return int(value)


def optional_bool(fields: FixFields, tag: int) -> bool:
    value = optional(fields, tag)
    if value is None:
        return False
    if value not in ("Y", "N"):
        raise TranslationError(tag, f"a FIX boolean is Y or N, not {value!r}")
    return value == "Y"


def parse_timestamp(tag: int, value: str) -> datetime:
    """FIX UTCTimestamp ``YYYYMMDD-HH:MM:SS[.fff...]``; digits past microseconds are dropped."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise TranslationError(tag, f"not a FIX UTCTimestamp: {value!r}")
    year, month, day, hour, minute, second, fraction = match.groups()
    micros = int((fraction or "").ljust(6, "0")[:6])
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, UTC
        )
    except ValueError as exc:
        raise TranslationError(tag, f"not a valid UTC time: {value!r} ({exc})") from exc


def optional_timestamp(fields: FixFields, tag: int) -> datetime | None:
    value = optional(fields, tag)
    return None if value is None else parse_timestamp(tag, value)


def format_decimal(value: Decimal) -> str:
    """Plain notation, never an exponent: FIX floats are digits and a point."""
    if not value.is_finite():
        raise TranslationError(None, f"cannot send {value} in FIX")
    text = format(value, "f")
    return "0" if text in ("-0", "") else text


def format_timestamp(value: datetime) -> str:
    """UTCTimestamp with milliseconds (what both FIX 4.2 and 4.4 define)."""
    if value.tzinfo is None:
        raise TranslationError(60, "a FIX timestamp needs a timezone-aware datetime")
    value = value.astimezone(UTC)
    return value.strftime("%Y%m%d-%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def format_bool(value: bool) -> str:
    return "Y" if value else "N"
