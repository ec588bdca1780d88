"""Fast conversion between quickfix messages and plain ``dict[int, str]`` of tag -> value.

The hot path reads and writes fields by tag number with strings: quickfix's field classes and
module constants go through slow SWIG lookups (measured: twice as slow end to end).
"""

from __future__ import annotations

from collections.abc import Mapping

import quickfix as fix

SOH = "\x01"
HEADER_TAGS = frozenset({8, 9, 35, 34, 49, 56, 52, 43, 97, 122, 115, 128, 50, 57})


def parse_raw(raw: str) -> dict[int, str]:
    """Every field of a raw FIX string; for a repeated tag the first occurrence wins."""
    fields: dict[int, str] = {}
    for part in raw.split(SOH):
        if not part:
            continue
        tag, sep, value = part.partition("=")
        if not sep or not tag.isdigit():
            continue
        key = int(tag)
        if key not in fields:
            fields[key] = value
    return fields


def message_fields(message: fix.Message) -> dict[int, str]:
    """Header and body fields of a received message, by tag."""
    return parse_raw(message.toString())


def build_message(begin_string: str, msg_type: str, body: Mapping[int, str]) -> fix.Message:
    message = fix.Message()
    header = message.getHeader()
    header.setField(8, begin_string)
    header.setField(35, msg_type)
    for tag, value in body.items():
        message.setField(tag, value)
    return message
