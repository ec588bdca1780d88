"""Template filters: exact decimals, UTC times, status colours."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from jinja2 import Undefined

OPEN_STATUSES = frozenset({"pending_new", "new", "partially_filled", "pending_cancel",
                           "pending_replace", "done_for_day"})


def decimal_text(value: Any, places: int | None = None) -> str:
    """A plain decimal without exponent or trailing zeros ("100", "10.25"); "" for None."""
    if value is None or value == "" or isinstance(value, Undefined):
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places))
        return f"{number:,.{places}f}"
    return format(number.normalize(), "f")


def price_text(value: Any) -> str:
    """A price with at least two decimals ("9.00", "10.125"); "" for None."""
    if value is None or value == "" or isinstance(value, Undefined):
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    exponent = number.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{number:,.{places}f}"


def pairs(value: Any) -> str:
    """A JSON object as ``key=value`` pairs, for command payloads and audit details."""
    if not isinstance(value, dict):
        return compact_json(value)
    return "  ".join(
        f"{k}={v if isinstance(v, str | int) else compact_json(v)}" for k, v in value.items()
    )


def grouped(value: Any, places: int = 0) -> str:
    """Thousands separators for large amounts (exposure, notional)."""
    return decimal_text(value, places)


def utc_time(value: datetime | None, with_date: bool = True) -> str:
    if value is None:
        return ""
    moment = value.astimezone(UTC)
    text = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return f"{moment:%Y-%m-%d} {text}" if with_date else text


def age(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - value).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def status_class(status: Any) -> str:
    """CSS class of an order status or exec type pill."""
    return f"st st-{str(status).replace('_', '-')}"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, default=str)


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(", ", ": "))


def fix_text(raw: str) -> str:
    """A FIX message with its SOH separators shown as ``|``."""
    return raw.replace("\x01", "|")


def register(app: Flask) -> None:
    app.add_template_filter(decimal_text, "dec")
    app.add_template_filter(grouped, "grouped")
    app.add_template_filter(price_text, "px")
    app.add_template_filter(pairs, "pairs")
    app.add_template_filter(utc_time, "ts")
    app.add_template_filter(age, "age")
    app.add_template_filter(status_class, "status_class")
    app.add_template_filter(pretty_json, "pretty_json")
    app.add_template_filter(compact_json, "compact_json")
    app.add_template_filter(fix_text, "fix")
    app.jinja_env.globals["OPEN_STATUSES"] = OPEN_STATUSES
