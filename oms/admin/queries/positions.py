"""Positions and exposure per account: filled positions from ``positions``, what open orders
could add from ``orders``, valued at the reference prices in Redis."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, case, func, select

from oms.admin.queries.tables import ORDERS, POSITIONS, TERMINAL_STATUSES
from oms.domain.risk import RiskLimits

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionLine:
    account: str
    symbol: str
    net_qty: Decimal
    bought_qty: Decimal
    sold_qty: Decimal
    avg_buy: Decimal | None
    avg_sell: Decimal | None
    open_buy: Decimal
    open_sell: Decimal
    reference_price: Decimal | None
    reference_as_of: datetime | None
    market_value: Decimal | None
    """net quantity x reference price x multiplier"""
    pnl: Decimal | None
    """Marked to the reference price: sold - bought notional + net x price, x multiplier."""
    worst_case_exposure: Decimal | None
    """The larger of the position if every open buy fills and if every open sell fills,
    valued at the reference price: what the gross exposure limit counts."""


@dataclass(slots=True)
class AccountExposure:
    account: str
    lines: list[PositionLine] = field(default_factory=list)
    max_position: Decimal | None = None
    max_gross_exposure: Decimal | None = None

    @property
    def gross_exposure(self) -> Decimal:
        return sum((abs(x.market_value) for x in self.lines if x.market_value is not None), ZERO)

    @property
    def worst_case_gross(self) -> Decimal:
        return sum((x.worst_case_exposure or ZERO for x in self.lines), ZERO)

    @property
    def pnl(self) -> Decimal:
        return sum((x.pnl for x in self.lines if x.pnl is not None), ZERO)

    @property
    def unpriced(self) -> bool:
        return any(x.reference_price is None for x in self.lines)

    @property
    def utilisation_pct(self) -> Decimal | None:
        if not self.max_gross_exposure:
            return None
        return (self.worst_case_gross / self.max_gross_exposure * 100).quantize(Decimal("0.1"))


@dataclass(frozen=True, slots=True)
class ExposureTotal:
    """The sum over some accounts: one shard's, those no shard owns, or all of them."""

    label: str
    """The shard's name, ``no shard`` or ``all shards``."""
    accounts: int
    gross_exposure: Decimal
    worst_case_gross: Decimal
    pnl: Decimal
    unpriced: bool


def exposure_totals(
    accounts: Sequence[AccountExposure], shard_of: Callable[[str], str | None],
    shard_names: Sequence[str],
) -> tuple[list[ExposureTotal], ExposureTotal]:
    """(one total per shard, in ``shard_names`` order, then one for the accounts no shard owns
    if there are any; the total over every account)."""
    by_shard: dict[str | None, list[AccountExposure]] = {name: [] for name in shard_names}
    for account in accounts:
        by_shard.setdefault(shard_of(account.account), []).append(account)
    per_shard = [_total(shard if shard is not None else "no shard", members)
                 for shard, members in by_shard.items() if shard is not None or members]
    return per_shard, _total("all shards", accounts)


def _total(label: str, accounts: Sequence[AccountExposure]) -> ExposureTotal:
    return ExposureTotal(
        label=label, accounts=len(accounts),
        gross_exposure=sum((a.gross_exposure for a in accounts), ZERO),
        worst_case_gross=sum((a.worst_case_gross for a in accounts), ZERO),
        pnl=sum((a.pnl for a in accounts), ZERO),
        unpriced=any(a.unpriced for a in accounts),
    )


def exposures(
    conn: Connection,
    prices: Mapping[str, tuple[Decimal, datetime]],
    multipliers: Mapping[str, Decimal],
    limits: Mapping[str, RiskLimits],
) -> list[AccountExposure]:
    positions = {
        (r.account, r.symbol): r for r in conn.execute(select(POSITIONS))
    }
    open_qty: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    buy = ORDERS.c.side == "buy"
    for r in conn.execute(
        select(
            ORDERS.c.account, ORDERS.c.symbol,
            func.coalesce(func.sum(case((buy, ORDERS.c.leaves_qty), else_=0)), 0).label("buy"),
            func.coalesce(func.sum(case((buy, 0), else_=ORDERS.c.leaves_qty)), 0).label("sell"),
        )
        .where(ORDERS.c.status.not_in(TERMINAL_STATUSES))
        .group_by(ORDERS.c.account, ORDERS.c.symbol)
    ):
        open_qty[(r.account, r.symbol)] = (Decimal(r.buy), Decimal(r.sell))
    accounts: dict[str, AccountExposure] = {}
    for account, symbol in sorted(set(positions) | set(open_qty)):
        pos = positions.get((account, symbol))
        open_buy, open_sell = open_qty.get((account, symbol), (ZERO, ZERO))
        price = prices.get(symbol)
        line = _line(account, symbol, pos, open_buy, open_sell, price,
                     multipliers.get(symbol, Decimal(1)))
        acct = accounts.get(account)
        if acct is None:
            effective = limits.get(account)
            acct = accounts[account] = AccountExposure(
                account,
                max_position=effective.max_position if effective else None,
                max_gross_exposure=effective.max_gross_exposure if effective else None,
            )
        acct.lines.append(line)
    return list(accounts.values())


def _line(
    account: str, symbol: str, pos: object | None, open_buy: Decimal, open_sell: Decimal,
    price: tuple[Decimal, datetime] | None, multiplier: Decimal,
) -> PositionLine:
    net = Decimal(getattr(pos, "net_qty", ZERO))
    bought = Decimal(getattr(pos, "bought_qty", ZERO))
    sold = Decimal(getattr(pos, "sold_qty", ZERO))
    bought_n = Decimal(getattr(pos, "bought_notional", ZERO))
    sold_n = Decimal(getattr(pos, "sold_notional", ZERO))
    px = price[0] if price else None
    worst_qty = max(abs(net + open_buy), abs(net - open_sell))
    return PositionLine(
        account=account, symbol=symbol, net_qty=net, bought_qty=bought, sold_qty=sold,
        avg_buy=(bought_n / bought) if bought else None,
        avg_sell=(sold_n / sold) if sold else None,
        open_buy=open_buy, open_sell=open_sell,
        reference_price=px, reference_as_of=price[1] if price else None,
        market_value=None if px is None else net * px * multiplier,
        pnl=None if px is None else (sold_n - bought_n + net * px) * multiplier,
        worst_case_exposure=None if px is None else worst_qty * px * multiplier,
    )
