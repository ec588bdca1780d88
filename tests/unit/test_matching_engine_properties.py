"""Invariants of the matching engine under random order flow (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fix_gateway.venue_sim.market_maker import MarketMaker
from fix_gateway.venue_sim.matching import MatchingEngine
from fix_gateway.venue_sim.model import (
    CancelOrder,
    ExecKind,
    ExecutionReport,
    InstrumentRules,
    NewOrder,
    OrdStatus,
    OrdType,
    ReplaceOrder,
    Report,
    Side,
    TimeInForce,
)
from tests.unit.test_matching_engine_helpers import NOW

OWNERS = ("A", "B")
prices = st.integers(min_value=990, max_value=1010).map(lambda c: Decimal(c) / 100)
quantities = st.integers(min_value=1, max_value=500).map(Decimal)
new_orders = st.builds(
    lambda owner, side, ord_type, tif, qty, px: ("new", owner, side, ord_type, tif, qty, px),
    st.sampled_from(OWNERS),
    st.sampled_from(list(Side)),
    st.sampled_from([OrdType.LIMIT, OrdType.LIMIT, OrdType.LIMIT, OrdType.MARKET]),
    st.sampled_from(list(TimeInForce)),
    quantities,
    prices,
)
cancels = st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=60))
replaces = st.tuples(st.just("replace"), st.integers(min_value=0, max_value=60), quantities, prices)
actions = st.lists(st.one_of(new_orders, new_orders, cancels, replaces), max_size=60)


def run(flow: list[tuple[object, ...]], with_maker: bool) -> tuple[MatchingEngine, list[Report]]:
    eng = MatchingEngine([InstrumentRules("X")], lambda: NOW)
    if with_maker:
        eng.add_market_maker(MarketMaker("X", Decimal("10.00"), Decimal("0.01"), Decimal(1), 3))
    reports: list[Report] = []
    sent: list[tuple[str, str, Side]] = []
    for n, action in enumerate(flow):
        if action[0] == "new":
            _, owner, side, ord_type, tif, qty, px = action
            assert isinstance(owner, str) and isinstance(side, Side) and isinstance(qty, Decimal)
            assert isinstance(ord_type, OrdType) and isinstance(tif, TimeInForce)
            price = px if ord_type is OrdType.LIMIT else None
            assert price is None or isinstance(price, Decimal)
            reports += eng.submit(NewOrder(owner, f"n{n}", "X", side, ord_type, qty, price, tif))
            sent.append((owner, f"n{n}", side))
        elif sent:
            index = action[1]
            assert isinstance(index, int)
            owner, target, side = sent[index % len(sent)]
            order = eng.find(owner, target)
            current = order.cl_ord_id if order is not None else target
            if action[0] == "cancel":
                reports += eng.cancel(CancelOrder(owner, f"c{n}", current))
            else:
                _, _, qty, px = action
                assert isinstance(qty, Decimal) and isinstance(px, Decimal)
                cmd = ReplaceOrder(owner, f"r{n}", current, "X", side, OrdType.LIMIT, qty, px)
                reports += eng.replace(cmd)
                sent.append((owner, f"r{n}", side))
        book = eng.book("X")
        bid, ask = book.bids.best_price(), book.asks.best_price()
        assert bid is None or ask is None or bid < ask, "the book is never left crossed"
    return eng, reports


@settings(max_examples=150, deadline=None)
@given(actions, st.booleans())
def test_invariants_under_random_flow(flow: list[tuple[object, ...]], with_maker: bool) -> None:
    eng, reports = run(flow, with_maker)
    execs = [r for r in reports if isinstance(r, ExecutionReport)]
    exec_ids = [r.exec_id for r in execs]
    assert len(exec_ids) == len(set(exec_ids)), "ExecIDs are unique"
    filled: dict[Side, Decimal] = {Side.BUY: Decimal(0), Side.SELL: Decimal(0)}
    for r in execs:
        assert r.cum_qty >= 0 and r.leaves_qty >= 0
        if r.status.is_live:
            assert r.cum_qty + r.leaves_qty == r.quantity
        if r.status in (OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.EXPIRED):
            assert r.leaves_qty == 0
        if r.status is OrdStatus.FILLED:
            assert r.cum_qty == r.quantity
        if r.kind is ExecKind.TRADE:
            assert r.last_qty > 0
            filled[r.side] += r.last_qty
    if not with_maker:
        assert filled[Side.BUY] == filled[Side.SELL], "every trade has two reported sides"
    for order in eng.live_orders():
        assert order.is_live and order.leaves_qty > 0 and order.ord_type is OrdType.LIMIT
        assert order.tif in (TimeInForce.DAY, TimeInForce.GTC)


@settings(max_examples=30, deadline=None)
@given(actions)
def test_same_flow_same_reports(flow: list[tuple[object, ...]]) -> None:
    assert run(flow, True)[1] == run(flow, True)[1]
