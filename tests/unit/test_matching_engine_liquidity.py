"""The seeded market maker: a ladder around the reference price that never runs dry."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fix_gateway.venue_sim.market_maker import LiquidityProfile, MarketMaker
from fix_gateway.venue_sim.matching import MatchingEngine
from fix_gateway.venue_sim.model import ExecKind, InstrumentRules, OrdStatus, Side
from tests.unit.test_matching_engine_helpers import NOW, D, execs, limit, market

BUY, SELL = Side.BUY, Side.SELL


def liquid_engine(seed: int = 1, profile: LiquidityProfile | None = None) -> MatchingEngine:
    eng = MatchingEngine([InstrumentRules("AAPL"), InstrumentRules("ZVZZT")], lambda: NOW)
    eng.add_market_maker(MarketMaker("AAPL", D("190.00"), D("0.01"), D("1"), seed, profile))
    return eng


def test_ladder_around_the_reference_price() -> None:
    eng = liquid_engine(profile=LiquidityProfile(levels=3, first_offset_ticks=1, spacing_ticks=2))
    book = eng.book("AAPL")
    assert [p for p, _ in book.bids.depth()] == [D("189.99"), D("189.97"), D("189.95")]
    assert [p for p, _ in book.asks.depth()] == [D("190.01"), D("190.03"), D("190.05")]
    for _, qty in book.bids.depth() + book.asks.depth():
        assert qty > 0 and qty % 100 == 0
    assert not eng.book("ZVZZT").bids and not eng.book("ZVZZT").asks


def test_same_seed_same_book_and_same_reports() -> None:
    def run(seed: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        eng = liquid_engine(seed)
        fills = []
        for i in range(20):
            side = BUY if i % 2 else SELL
            reports = execs(eng.submit(market(f"m{i}", side, "700", symbol="AAPL")))
            fills += [(r.last_qty, r.last_px) for r in reports if r.kind is ExecKind.TRADE]
        book = eng.book("AAPL")
        return book.bids.depth() + book.asks.depth(), fills

    assert run(7) == run(7)
    assert run(7)[0] != run(8)[0]


def test_market_maker_fills_are_not_reported() -> None:
    eng = liquid_engine()
    reports = execs(eng.submit(market("m1", BUY, "100", symbol="AAPL")))
    assert {r.owner for r in reports} == {"A"}
    fill = reports[1]
    assert (fill.kind, fill.status, fill.last_px) == (ExecKind.TRADE, OrdStatus.FILLED, D("190.01"))


def test_liquidity_is_replenished_after_being_taken() -> None:
    eng = liquid_engine()
    for i in range(50):
        reports = execs(eng.submit(market(f"m{i}", BUY, "5000", symbol="AAPL")))
        assert any(r.kind is ExecKind.TRADE for r in reports)
    book = eng.book("AAPL")
    assert len(book.asks.depth()) == 5 and len(book.bids.depth()) == 5
    assert eng.book("AAPL").asks.best_price() == D("190.01")


def test_a_taken_level_is_not_reposted_through_a_resting_order() -> None:
    eng = liquid_engine(profile=LiquidityProfile(levels=2, min_lots=100, max_lots=100))
    # Takes both ask levels (190.01, 190.03) and rests 100 at 190.03.
    eng.submit(limit("b1", BUY, "300", "190.03", symbol="AAPL"))
    assert eng.book("AAPL").asks.depth() == []  # nothing reposted that would cross
    assert eng.book("AAPL").bids.best_price() == D("190.03")
    # Once the resting order is gone, the ladder comes back.
    eng.cancel_unsolicited(eng.live_orders()[0].order_id)
    assert [p for p, _ in eng.book("AAPL").asks.depth()] == [D("190.01"), D("190.03")]


def test_ladder_skips_non_positive_prices() -> None:
    eng = MatchingEngine([InstrumentRules("PENNY")], lambda: NOW)
    eng.add_market_maker(MarketMaker("PENNY", D("0.02"), D("0.01"), D("1"), 1))
    assert all(p > 0 for p, _ in eng.book("PENNY").bids.depth())


def test_bad_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="levels"):
        LiquidityProfile(levels=0)
    with pytest.raises(KeyError):
        MatchingEngine([], lambda: NOW).add_market_maker(MarketMaker("X", D(1), D("0.01"), D(1), 1))
