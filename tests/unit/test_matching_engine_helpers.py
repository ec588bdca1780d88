"""Builders shared by the matching-engine unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fix_gateway.venue_sim.matching import MatchingEngine
from fix_gateway.venue_sim.model import (
    CancelOrder,
    ExecKind,
    ExecutionReport,
    InstrumentRules,
    NewOrder,
    OrdType,
    ReplaceOrder,
    Report,
    Side,
    TimeInForce,
)

NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
D = Decimal


def engine(*symbols: str) -> MatchingEngine:
    rules = [InstrumentRules(s) for s in (symbols or ("ZVZZT",))]
    return MatchingEngine(rules, lambda: NOW)


def limit(
    cl_ord_id: str,
    side: Side,
    qty: str,
    price: str,
    *,
    owner: str = "A",
    tif: TimeInForce = TimeInForce.DAY,
    symbol: str = "ZVZZT",
) -> NewOrder:
    return NewOrder(owner, cl_ord_id, symbol, side, OrdType.LIMIT, D(qty), D(price), tif)


def market(
    cl_ord_id: str, side: Side, qty: str, *, owner: str = "A", symbol: str = "ZVZZT"
) -> NewOrder:
    return NewOrder(owner, cl_ord_id, symbol, side, OrdType.MARKET, D(qty), None)


def cancel(cl_ord_id: str, orig: str, *, owner: str = "A") -> CancelOrder:
    return CancelOrder(owner, cl_ord_id, orig)


def replace(
    cl_ord_id: str, orig: str, side: Side, qty: str, price: str, *, owner: str = "A"
) -> ReplaceOrder:
    return ReplaceOrder(owner, cl_ord_id, orig, "ZVZZT", side, OrdType.LIMIT, D(qty), D(price))


def execs(reports: list[Report]) -> list[ExecutionReport]:
    out = [r for r in reports if isinstance(r, ExecutionReport)]
    assert len(out) == len(reports), "expected only execution reports"
    return out


def kinds(reports: list[Report]) -> list[tuple[str | None, ExecKind]]:
    return [(r.cl_ord_id, r.kind) for r in execs(reports)]


def trades(reports: list[Report]) -> list[tuple[str, Decimal, Decimal]]:
    return [
        (r.cl_ord_id, r.last_qty, r.last_px) for r in execs(reports) if r.kind is ExecKind.TRADE
    ]
