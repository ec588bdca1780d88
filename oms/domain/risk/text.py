"""Formatting of figures in rejection texts: plain decimals (no exponent), seconds, percents.

Only called when a check rejects, so none of this is on the accepting path.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

_MICROSECOND = timedelta(microseconds=1)
_HUNDRED = Decimal(100)


def num(value: Decimal | int) -> str:
    """A decimal as written, without exponent: ``Decimal("1E+3")`` -> ``"1000"``."""
    return format(value, "f")


def computed(value: Decimal) -> str:
    """A computed figure with trailing zeros dropped: ``110.0000`` -> ``"110"``."""
    return format(value.normalize(), "f")


def seconds(span: timedelta) -> str:
    """A duration in seconds: ``"5s"``, ``"0.25s"``."""
    return f"{num(timedelta_to_seconds(span))}s"


def percent(fraction: Decimal) -> str:
    """A fraction as a percent: ``Decimal("0.10")`` -> ``"10%"``."""
    return f"{computed(fraction * _HUNDRED)}%"


def seconds_to_timedelta(value: Decimal | int | str) -> timedelta:
    """Exact conversion of a number of seconds to a timedelta (no float on the way)."""
    return timedelta(microseconds=int(Decimal(value).scaleb(6)))


def timedelta_to_seconds(span: timedelta) -> Decimal:
    return Decimal(span // _MICROSECOND).scaleb(-6).normalize()
