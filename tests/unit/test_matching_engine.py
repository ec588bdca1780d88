"""The matching engine as a pure unit: crossing, price-time priority, fills, IOC/FOK, market."""

from __future__ import annotations

from decimal import Decimal

from fix_gateway.venue_sim.model import (
    ExecKind,
    NewOrder,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from tests.unit.test_matching_engine_helpers import D, engine, execs, kinds, limit, market, trades

BUY, SELL = Side.BUY, Side.SELL


def test_new_limit_order_is_acknowledged_and_rests() -> None:
    eng = engine()
    [ack] = execs(eng.submit(limit("b1", BUY, "100", "10.00", tif=TimeInForce.GTC)))
    assert ack.kind is ExecKind.NEW
    assert ack.status is OrdStatus.NEW
    assert (ack.cum_qty, ack.leaves_qty, ack.avg_px) == (0, 100, 0)
    assert ack.order_id and ack.exec_id and ack.transact_time
    assert eng.book("ZVZZT").bids.depth() == [(D("10.00"), D("100"))]


def test_orders_from_two_owners_at_the_same_price_cross_and_both_are_filled() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "100", "10.00", owner="B"))
    reports = execs(eng.submit(limit("b1", BUY, "100", "10.00", owner="A")))
    assert kinds(reports) == [("b1", ExecKind.NEW), ("b1", ExecKind.TRADE), ("s1", ExecKind.TRADE)]
    buy_fill, sell_fill = reports[1], reports[2]
    assert buy_fill.owner == "A" and sell_fill.owner == "B"
    for fill in (buy_fill, sell_fill):
        assert fill.status is OrdStatus.FILLED
        assert (fill.last_qty, fill.last_px, fill.cum_qty, fill.leaves_qty) == (
            100,
            D("10.00"),
            100,
            0,
        )
        assert fill.avg_px == D("10.00")
    assert buy_fill.exec_id != sell_fill.exec_id
    assert not eng.book("ZVZZT").bids and not eng.book("ZVZZT").asks


def test_orders_that_do_not_cross_both_rest() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "100", "10.01"))
    assert trades(eng.submit(limit("b1", BUY, "100", "10.00"))) == []
    book = eng.book("ZVZZT")
    assert book.bids.best_price() == D("10.00") and book.asks.best_price() == D("10.01")


def test_trade_happens_at_the_resting_price() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "100", "9.95"))
    assert trades(eng.submit(limit("b1", BUY, "100", "10.05"))) == [
        ("b1", D("100"), D("9.95")),
        ("s1", D("100"), D("9.95")),
    ]


def test_price_priority_then_time_priority() -> None:
    eng = engine()
    eng.submit(limit("s-late-best", SELL, "100", "10.01", owner="B"))
    eng.submit(limit("s-worse", SELL, "100", "10.02", owner="B"))
    eng.submit(limit("s-first-at-best", SELL, "100", "10.00", owner="B"))
    eng.submit(limit("s-second-at-best", SELL, "100", "10.00", owner="C"))
    filled = [t[0] for t in trades(eng.submit(limit("b", BUY, "350", "10.02"))) if t[0] != "b"]
    assert filled == ["s-first-at-best", "s-second-at-best", "s-late-best", "s-worse"]
    assert eng.book("ZVZZT").asks.depth() == [(D("10.02"), D("50"))]


def test_partial_fills_accumulate_with_average_price() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "30", "10.00", owner="B"))
    eng.submit(limit("s2", SELL, "50", "10.10", owner="B"))
    reports = execs(eng.submit(limit("b1", BUY, "100", "10.10")))
    mine = [r for r in reports if r.cl_ord_id == "b1" and r.kind is ExecKind.TRADE]
    assert [(r.last_qty, r.cum_qty, r.leaves_qty, r.status) for r in mine] == [
        (30, 30, 70, OrdStatus.PARTIALLY_FILLED),
        (50, 80, 20, OrdStatus.PARTIALLY_FILLED),
    ]
    assert mine[-1].avg_px == (D("30") * D("10.00") + D("50") * D("10.10")) / D("80")
    assert eng.book("ZVZZT").bids.depth() == [(D("10.10"), D("20"))]


def test_resting_order_partially_filled_keeps_its_place() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "100", "10.00", owner="B"))
    eng.submit(limit("s2", SELL, "100", "10.00", owner="B"))
    eng.submit(limit("b1", BUY, "40", "10.00"))
    [(who, qty, _), *_] = [
        t for t in trades(eng.submit(limit("b2", BUY, "10", "10.00"))) if t[0] != "b2"
    ]
    assert (who, qty) == ("s1", D("10"))
    order = eng.find("B", "s1")
    assert (
        order is not None and order.status is OrdStatus.PARTIALLY_FILLED and order.leaves_qty == 50
    )


def test_market_order_takes_liquidity_and_the_rest_is_canceled() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "60", "10.00", owner="B"))
    eng.submit(limit("s2", SELL, "20", "11.00", owner="B"))
    reports = execs(eng.submit(market("m1", BUY, "100")))
    assert kinds(reports)[0] == ("m1", ExecKind.NEW)
    assert trades(reports) == [
        ("m1", D("60"), D("10.00")),
        ("s1", D("60"), D("10.00")),
        ("m1", D("20"), D("11.00")),
        ("s2", D("20"), D("11.00")),
    ]
    last = reports[-1]
    assert (last.cl_ord_id, last.kind, last.status) == ("m1", ExecKind.CANCELED, OrdStatus.CANCELED)
    assert (last.cum_qty, last.leaves_qty) == (80, 0)
    assert not eng.book("ZVZZT").bids


def test_market_order_with_no_liquidity_is_canceled() -> None:
    eng = engine()
    reports = execs(eng.submit(market("m1", SELL, "100")))
    assert kinds(reports) == [("m1", ExecKind.NEW), ("m1", ExecKind.CANCELED)]
    assert reports[-1].text == "no liquidity"


def test_ioc_fills_what_it_can_and_cancels_the_rest() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "30", "10.00", owner="B"))
    reports = execs(eng.submit(limit("i1", BUY, "100", "10.00", tif=TimeInForce.IOC)))
    assert kinds(reports) == [
        ("i1", ExecKind.NEW),
        ("i1", ExecKind.TRADE),
        ("s1", ExecKind.TRADE),
        ("i1", ExecKind.CANCELED),
    ]
    assert (reports[-1].cum_qty, reports[-1].leaves_qty) == (30, 0)
    assert not eng.book("ZVZZT").bids


def test_fok_that_cannot_fill_in_full_is_canceled_without_trading() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "30", "10.00", owner="B"))
    eng.submit(limit("s2", SELL, "100", "10.05", owner="B"))
    reports = execs(eng.submit(limit("f1", BUY, "100", "10.00", tif=TimeInForce.FOK)))
    assert kinds(reports) == [("f1", ExecKind.NEW), ("f1", ExecKind.CANCELED)]
    assert reports[-1].cum_qty == 0
    assert eng.book("ZVZZT").asks.depth() == [(D("10.00"), D("30")), (D("10.05"), D("100"))]


def test_fok_that_can_fill_in_full_trades_across_levels() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "30", "10.00", owner="B"))
    eng.submit(limit("s2", SELL, "100", "10.05", owner="B"))
    reports = execs(eng.submit(limit("f1", BUY, "100", "10.05", tif=TimeInForce.FOK)))
    assert reports[-1].kind is ExecKind.TRADE
    mine = [r for r in reports if r.cl_ord_id == "f1"]
    assert mine[-1].status is OrdStatus.FILLED and mine[-1].cum_qty == 100


def test_self_match_is_allowed_and_both_sides_are_reported() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "10", "10.00", owner="A"))
    reports = execs(eng.submit(limit("b1", BUY, "10", "10.00", owner="A")))
    assert {r.cl_ord_id for r in reports if r.kind is ExecKind.TRADE} == {"b1", "s1"}


def test_unknown_symbol_is_rejected_with_text() -> None:
    eng = engine()
    [rej] = execs(eng.submit(limit("x1", BUY, "100", "10.00", symbol="NOPE")))
    assert (rej.kind, rej.status) == (ExecKind.REJECTED, OrdStatus.REJECTED)
    assert rej.rej_reason is OrdRejReason.UNKNOWN_SYMBOL
    assert rej.text == "unknown symbol NOPE"
    assert rej.leaves_qty == 0


def test_invalid_orders_are_rejected() -> None:
    eng = engine()
    bad = {
        "off-tick": limit("t", BUY, "100", "10.005"),
        "zero qty": limit("q", BUY, "0", "10.00"),
        "fractional lot": limit("l", BUY, "1.5", "10.00"),
        "no price": NewOrder("A", "p", "ZVZZT", BUY, OrdType.LIMIT, D("1"), None),
        "unsupported": NewOrder("A", "u", "ZVZZT", BUY, OrdType.LIMIT, D("1"), D("10"),
                                unsupported="unsupported OrdType 3"),
    }  # fmt: skip
    for why, cmd in bad.items():
        [rej] = execs(eng.submit(cmd))
        assert rej.kind is ExecKind.REJECTED, why
        assert rej.text, why
    assert not eng.book("ZVZZT").bids


def test_duplicate_cl_ord_id_is_rejected_and_leaves_the_first_order_alone() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    [rej] = execs(eng.submit(limit("b1", BUY, "50", "10.00")))
    assert rej.rej_reason is OrdRejReason.DUPLICATE_ORDER
    first = eng.find("A", "b1")
    assert first is not None and first.is_live and first.quantity == 100
    # The same ClOrdID from another session is a different order.
    [ack] = execs(eng.submit(limit("b1", BUY, "50", "10.00", owner="B")))
    assert ack.kind is ExecKind.NEW


def test_exec_ids_and_order_ids_are_unique() -> None:
    eng = engine()
    reports = []
    for i in range(50):
        side = BUY if i % 2 else SELL
        reports += execs(eng.submit(limit(f"o{i}", side, "10", "10.00", owner=f"S{i % 3}")))
    exec_ids = [r.exec_id for r in reports]
    assert len(set(exec_ids)) == len(exec_ids)
    assert len({r.order_id for r in reports}) == 50


def test_id_prefix_distinguishes_runs() -> None:
    from fix_gateway.venue_sim.matching import MatchingEngine
    from fix_gateway.venue_sim.model import InstrumentRules
    from tests.unit.test_matching_engine_helpers import NOW

    eng = MatchingEngine([InstrumentRules("ZVZZT")], lambda: NOW, id_prefix="R7-")
    [ack] = execs(eng.submit(limit("b1", BUY, "1", "10.00")))
    assert ack.exec_id.startswith("R7-") and ack.order_id.startswith("R7-")


def test_quantities_stay_decimal() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "3", "10.01", owner="B"))
    reports = execs(eng.submit(limit("b1", BUY, "3", "10.01")))
    for r in reports:
        for value in (r.cum_qty, r.leaves_qty, r.avg_px, r.last_qty, r.last_px):
            assert isinstance(value, Decimal)
