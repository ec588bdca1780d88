"""Order events on the wire (pure): routing keys and JSON bodies as CONTRACT.md defines them.

- Routing key ``<account>.<symbol>.<exec_type>``: any character of account or symbol outside
  ``[A-Za-z0-9_-]`` becomes ``_``, and ``_`` stands for an unknown symbol.
- Decimals are plain strings without exponent (``Decimal("1E+2")`` -> ``"100"``), exactly as
  given otherwise (no rounding, trailing zeros kept: ``"10.50"`` stays ``"10.50"``).
- Datetimes are ISO 8601 UTC ending in ``Z`` with microseconds, always the same width:
  ``2024-06-01T20:00:00.000000Z``. A naive datetime is refused (we never guess a zone).
- ``None`` is ``null``; enums are their wire values; UUIDs are their canonical text.

``event_json`` gives the JSON-ready mapping (what the core stores in ``outbox.body``, JSONB);
``encode_event`` gives the bytes to publish.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

JsonValue = str | int | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

_NOT_KEY_SAFE = re.compile(r"[^A-Za-z0-9_-]", re.ASCII)
UNKNOWN_SYMBOL = "_"


def routing_key_part(value: str) -> str:
    """``value`` with every character outside ``[A-Za-z0-9_-]`` replaced by ``_``."""
    return _NOT_KEY_SAFE.sub("_", value)


def event_routing_key(account: str, symbol: str | None, exec_type: str) -> str:
    """``<account>.<symbol>.<exec_type>``, safe for a topic exchange."""
    symbol_part = UNKNOWN_SYMBOL if symbol is None else routing_key_part(symbol)
    return f"{routing_key_part(account)}.{symbol_part}.{exec_type}"


def decimal_text(value: Decimal) -> str:
    """A finite decimal as a plain string: no exponent, no rounding, no negative zero."""
    if not value.is_finite():
        raise ValueError(f"{value} cannot be published: only finite decimals can")
    if value.is_zero():
        value = abs(value)
    return format(value, "f")


def utc_text(value: datetime) -> str:
    """``2024-06-01T20:00:00.000000Z``: any aware datetime, converted to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be published: give a zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_value(value: object) -> JsonValue:
    """One value of an event as JSON-ready data (see the module docstring for the rules)."""
    if isinstance(value, Enum):
        return json_value(value.value)
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float):
        raise TypeError(f"float {value!r} in an event: money and quantities must be Decimal")
    if isinstance(value, Mapping):
        return {_key(key): json_value(item) for key, item in value.items()}
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes):
        return [json_value(item) for item in value]
    raise TypeError(f"{type(value).__name__} value {value!r} cannot be put in an event")


def event_json(event: Mapping[str, object]) -> dict[str, JsonValue]:
    """The event as a JSON-ready dict (for ``outbox.body``)."""
    return {_key(key): json_value(value) for key, value in event.items()}


def encode_event(event: Mapping[str, object]) -> bytes:
    """The event as compact UTF-8 JSON bytes, keys in the order given."""
    return json.dumps(
        event_json(event), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"event keys must be strings, not {type(key).__name__} {key!r}")
    return key
