"""Everything a risk check depends on, passed in by the engine (risk fetches nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from oms.domain.risk.breaker import ExecutionBreaker
from oms.domain.risk.duplicates import DuplicateOrderGuard
from oms.domain.risk.kill_switch import KillSwitch
from oms.domain.risk.limits import RiskLimits
from oms.domain.risk.rate_window import RateWindows
from oms.domain.values import Instrument

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ReferencePrice:
    """The reference (mark) price of a symbol and when it was observed (UTC)."""

    price: Decimal
    as_of: datetime


@dataclass(frozen=True, slots=True)
class RiskContext:
    """The state one check reads.

    ``limits`` are the account's effective limits (``defaults.merged(overrides)``);
    ``breaker``, ``windows`` and ``duplicates`` belong to the order's account (and session);
    ``reference`` is ``None`` when no reference price is known.

    The account figures, all as they stand before this order (a replaced order's current
    leaves included): ``open_orders`` counts the account's open orders; ``position``,
    ``open_buy_leaves`` and ``open_sell_leaves`` are the account's in the order's symbol (sells
    and short sells together); ``other_gross_exposure`` is the account's worst-case gross
    exposure in every *other* symbol (see ``exposure.worst_case_exposure``).
    """

    limits: RiskLimits
    instrument: Instrument
    reference: ReferencePrice | None
    kill_switch: KillSwitch
    breaker: ExecutionBreaker
    windows: RateWindows
    duplicates: DuplicateOrderGuard
    open_orders: int = 0
    position: Decimal = _ZERO
    open_buy_leaves: Decimal = _ZERO
    open_sell_leaves: Decimal = _ZERO
    other_gross_exposure: Decimal = _ZERO
