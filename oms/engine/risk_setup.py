"""Risk limits and instruments from the settings file, in the domain's terms."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from oms.domain.risk import RateLimit, RiskLimits
from oms.domain.values import Instrument
from oms.settings import RiskLimitSettings, SettingsFile

ONE_SECOND = timedelta(seconds=1)


def _seconds(value: Decimal | None) -> timedelta | None:
    return None if value is None or value == 0 else timedelta(seconds=float(value))


def limits_from_settings(s: RiskLimitSettings) -> RiskLimits:
    window = _seconds(s.breaker_window_s) or ONE_SECOND
    return RiskLimits(
        max_order_qty=s.max_order_qty,
        max_order_notional=s.max_order_notional,
        price_collar=None if s.price_collar_pct is None else s.price_collar_pct / 100,
        max_reference_age=_seconds(s.reference_price_max_age_s),
        max_open_orders=s.max_open_orders,
        max_position=s.max_position,
        max_gross_exposure=s.max_gross_exposure,
        account_order_rate=(
            RateLimit(s.max_orders_per_s, ONE_SECOND) if s.max_orders_per_s else None
        ),
        account_message_rate=(
            RateLimit(s.max_messages_per_s, ONE_SECOND) if s.max_messages_per_s else None
        ),
        duplicate_window=_seconds(s.duplicate_window_s),
        max_executions=(
            RateLimit(s.breaker_max_executions, window) if s.breaker_max_executions else None
        ),
        restricted_symbols=frozenset(s.restricted_symbols or ()),
    )


def account_limits(file: SettingsFile) -> tuple[RiskLimits, dict[str, RiskLimits]]:
    """(global defaults, each configured account's own overrides) as the settings file says."""
    defaults = limits_from_settings(file.risk.defaults)
    return defaults, {a.name: limits_from_settings(a.limits) for a in file.accounts}


def instruments(file: SettingsFile) -> dict[str, Instrument]:
    return {
        i.symbol: Instrument(
            symbol=i.symbol, venue=i.venue, currency=i.currency, tick_size=i.tick_size,
            lot_size=i.lot_size, multiplier=i.multiplier, reference_price=i.reference_price,
        )
        for i in file.instruments
    }
