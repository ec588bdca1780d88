"""Risk limits: global defaults, per-account overrides, and the merge of the two.

Every limit is optional (``None`` = not enforced). The effective limits of an account are
``defaults.merged(account_overrides)``: an override that is set replaces the default, except
``restricted_symbols``, which is the union of both (an account can add restricted symbols, never
lift a firm-wide restriction).

The mapping form (``from_mapping`` / ``to_mapping``) is the JSON stored in ``risk_limits`` and
edited on the admin pages: decimals as strings, durations in seconds, rate limits as
``{"count": 10, "seconds": "1"}``, restricted symbols as a list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any

from oms.domain.risk.rate_window import KEPT_FOR
from oms.domain.risk.text import num, seconds, seconds_to_timedelta, timedelta_to_seconds

_ONE = Decimal(1)
_ZERO_SPAN = timedelta(0)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` events in any sliding window of length ``per``."""

    count: int
    per: timedelta

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError(f"rate limit count must not be negative, got {self.count}")
        if self.per <= _ZERO_SPAN:
            raise ValueError(f"rate limit window must be positive, got {self.per}")
        if self.per > KEPT_FOR:
            raise ValueError(f"rate limit window must be at most {KEPT_FOR}, got {self.per}")

    def describe(self) -> str:
        return f"{self.count} per {seconds(self.per)}"

    def to_mapping(self) -> dict[str, Any]:
        return {"count": self.count, "seconds": num(timedelta_to_seconds(self.per))}

    @staticmethod
    def from_mapping(value: dict[str, Any]) -> RateLimit:
        return _rate(value)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Pre-trade limits; see the module docstring for how defaults and overrides combine."""

    max_order_qty: Decimal | None = None
    max_order_notional: Decimal | None = None
    price_collar: Decimal | None = None
    """Largest distance of an order's limit price, and of its stop price, from the reference
    price, as a fraction (0.10 = 10%); at the distance is allowed, beyond it is rejected.
    Orders without a limit price are valued at the reference price moved this far against
    them (up for buys, down for sells) for the notional limit."""
    max_reference_age: timedelta | None = None
    """A reference price older than this is stale: orders needing it are rejected."""
    max_open_orders: int | None = None
    max_position: Decimal | None = None
    """Largest worst-case position in one symbol, long or short, counting open orders."""
    max_gross_exposure: Decimal | None = None
    """Largest worst-case gross exposure of the account over all symbols, at reference prices."""
    account_order_rate: RateLimit | None = None
    account_message_rate: RateLimit | None = None
    session_order_rate: RateLimit | None = None
    session_message_rate: RateLimit | None = None
    duplicate_window: timedelta | None = None
    """Reject an order identical (account, symbol, side, quantity, prices) to one accepted less
    than this long ago. ``None``: duplicate detection off."""
    max_executions: RateLimit | None = None
    """Execution breaker: more executions than this for the account halts it."""
    max_identical_executions: RateLimit | None = None
    """Execution breaker: more identical executions (symbol, side, quantity, price) than this
    halts the account."""
    restricted_symbols: frozenset[str] = frozenset()

    # Derived once at construction so that checks do not recompute them per order.
    collar_up: Decimal = field(init=False, repr=False, compare=False)
    """1 + collar (1 without a collar): multiplier of the reference price for market buys."""
    collar_down: Decimal = field(init=False, repr=False, compare=False)
    """1 - collar (1 without a collar): multiplier of the reference price for market sells."""

    def __post_init__(self) -> None:
        for name in ("max_order_qty", "max_order_notional", "price_collar", "max_position",
                     "max_gross_exposure", "max_open_orders"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        for name in ("max_reference_age", "duplicate_window"):
            span = getattr(self, name)
            if span is not None and span <= _ZERO_SPAN:
                raise ValueError(f"{name} must be positive, got {span}")
        collar = self.price_collar
        object.__setattr__(self, "collar_up", _ONE if collar is None else _ONE + collar)
        object.__setattr__(self, "collar_down", _ONE if collar is None else _ONE - collar)

    def merged(self, overrides: RiskLimits | None) -> RiskLimits:
        """These limits as defaults, with every limit set in ``overrides`` taking precedence."""
        if overrides is None:
            return self
        values: dict[str, Any] = {}
        for f in fields(self):
            if not f.init:
                continue
            mine, theirs = getattr(self, f.name), getattr(overrides, f.name)
            if f.name == "restricted_symbols":
                values[f.name] = mine | theirs
            else:
                values[f.name] = mine if theirs is None else theirs
        return RiskLimits(**values)

    def to_mapping(self) -> dict[str, Any]:
        """The JSON-ready form of the limits that are set (unset limits are left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not f.init or value is None:
                continue
            if isinstance(value, RateLimit):
                out[f.name] = value.to_mapping()
            elif isinstance(value, timedelta):
                out[f.name] = num(timedelta_to_seconds(value))
            elif isinstance(value, Decimal):
                out[f.name] = num(value)
            elif isinstance(value, frozenset):
                if value:
                    out[f.name] = sorted(value)
            else:
                out[f.name] = value
        return out

    @staticmethod
    def from_mapping(mapping: dict[str, Any]) -> RiskLimits:
        """Parse the JSON form; unknown keys are an error (a typo must not drop a limit)."""
        known = {f.name: f for f in fields(RiskLimits) if f.init}
        unknown = sorted(set(mapping) - set(known))
        if unknown:
            raise ValueError(f"unknown risk limit(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, raw in mapping.items():
            if raw is None:
                continue
            values[name] = _PARSERS[name](raw)
        return RiskLimits(**values)


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | str | Decimal):
        raise ValueError(f"expected a decimal written as a string, got {raw!r}")
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise ValueError(f"not a decimal: {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {raw!r}")
    return value


def _count(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(f"expected a whole number, got {raw!r}")
    return int(raw)


def _span(raw: Any) -> timedelta:
    return seconds_to_timedelta(_decimal(raw))


def _rate(raw: Any) -> RateLimit:
    if not isinstance(raw, dict):
        raise ValueError(f"expected {{'count': N, 'seconds': S}}, got {raw!r}")
    return RateLimit(_count(raw["count"]), _span(raw["seconds"]))


def _symbols(raw: Any) -> frozenset[str]:
    if isinstance(raw, str) or not all(isinstance(s, str) for s in raw):
        raise ValueError(f"expected a list of symbols, got {raw!r}")
    return frozenset(raw)


_PARSERS: dict[str, Callable[[Any], object]] = {
    "max_order_qty": _decimal,
    "max_order_notional": _decimal,
    "price_collar": _decimal,
    "max_reference_age": _span,
    "max_open_orders": _count,
    "max_position": _decimal,
    "max_gross_exposure": _decimal,
    "account_order_rate": _rate,
    "account_message_rate": _rate,
    "session_order_rate": _rate,
    "session_message_rate": _rate,
    "duplicate_window": _span,
    "max_executions": _rate,
    "max_identical_executions": _rate,
    "restricted_symbols": _symbols,
}
