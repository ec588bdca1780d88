"""Cancel, cancel/replace priority rules, status requests and end-of-day expiry."""

from __future__ import annotations

from fix_gateway.venue_sim.book import BookSide
from fix_gateway.venue_sim.model import (
    CancelReject,
    CxlRejReason,
    CxlRejResponseTo,
    ExecKind,
    OrdStatus,
    Side,
    StatusRequest,
    TimeInForce,
)
from tests.unit.test_matching_engine_helpers import (
    D,
    cancel,
    engine,
    execs,
    kinds,
    limit,
    replace,
    trades,
)

BUY, SELL = Side.BUY, Side.SELL


def resting_queue(book_side: BookSide) -> list[str]:
    return [o.cl_ord_id for _, orders in book_side.levels() for o in orders]


def test_cancel_removes_the_order_and_reports_canceled() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    [rep] = execs(eng.cancel(cancel("c1", "b1")))
    assert (rep.kind, rep.status) == (ExecKind.CANCELED, OrdStatus.CANCELED)
    assert (rep.cl_ord_id, rep.orig_cl_ord_id) == ("c1", "b1")
    assert (rep.cum_qty, rep.leaves_qty) == (0, 0)
    assert not eng.book("ZVZZT").bids


def test_cancel_of_partially_filled_order_keeps_cum_qty() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("s1", SELL, "40", "10.00", owner="B"))
    [rep] = execs(eng.cancel(cancel("c1", "b1")))
    assert (rep.status, rep.cum_qty, rep.leaves_qty, rep.avg_px) == (
        OrdStatus.CANCELED, 40, 0, D("10.00"),
    )  # fmt: skip


def test_cancel_of_unknown_order_is_rejected_unknown_order() -> None:
    eng = engine()
    [rej] = eng.cancel(cancel("c1", "nope"))
    assert isinstance(rej, CancelReject)
    assert (rej.reason, rej.response_to, rej.order_id) == (
        CxlRejReason.UNKNOWN_ORDER, CxlRejResponseTo.CANCEL, "NONE",
    )  # fmt: skip
    assert (rej.cl_ord_id, rej.orig_cl_ord_id) == ("c1", "nope")


def test_cancel_of_filled_order_is_rejected_too_late() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("s1", SELL, "100", "10.00", owner="B"))
    [rej] = eng.cancel(cancel("c1", "b1"))
    assert isinstance(rej, CancelReject)
    assert (rej.reason, rej.status) == (CxlRejReason.TOO_LATE, OrdStatus.FILLED)
    assert rej.order_id != "NONE"


def test_cancel_of_canceled_order_is_rejected_too_late() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.cancel(cancel("c1", "b1"))
    [rej] = eng.cancel(cancel("c2", "b1"))
    assert isinstance(rej, CancelReject) and rej.reason is CxlRejReason.TOO_LATE
    assert rej.status is OrdStatus.CANCELED


def test_cancel_from_another_session_does_not_find_the_order() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00", owner="A"))
    [rej] = eng.cancel(cancel("c1", "b1", owner="B"))
    assert isinstance(rej, CancelReject) and rej.reason is CxlRejReason.UNKNOWN_ORDER


def test_cancel_with_a_used_cl_ord_id_is_rejected() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("b2", BUY, "100", "10.00"))
    [rej] = eng.cancel(cancel("b2", "b1"))
    assert isinstance(rej, CancelReject) and rej.reason is CxlRejReason.DUPLICATE_CL_ORD_ID
    assert eng.find("A", "b1") is not None and eng.book("ZVZZT").bids.depth()[0][1] == 200


def test_size_decrease_keeps_time_priority() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("b2", BUY, "100", "10.00"))
    [rep] = execs(eng.replace(replace("b1r", "b1", BUY, "60", "10.00")))
    assert (rep.kind, rep.status) == (ExecKind.REPLACED, OrdStatus.NEW)
    assert (rep.cl_ord_id, rep.orig_cl_ord_id, rep.quantity, rep.leaves_qty) == (
        "b1r",
        "b1",
        60,
        60,
    )
    assert resting_queue(eng.book("ZVZZT").bids) == ["b1r", "b2"]


def test_size_increase_loses_time_priority() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("b2", BUY, "100", "10.00"))
    eng.replace(replace("b1r", "b1", BUY, "150", "10.00"))
    assert resting_queue(eng.book("ZVZZT").bids) == ["b2", "b1r"]


def test_price_change_loses_time_priority() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("b2", BUY, "100", "9.99"))
    eng.replace(replace("b1r", "b1", BUY, "100", "9.99"))
    assert resting_queue(eng.book("ZVZZT").bids) == ["b2", "b1r"]


def test_replace_to_a_crossing_price_trades_at_once() -> None:
    eng = engine()
    eng.submit(limit("s1", SELL, "50", "10.05", owner="B"))
    eng.submit(limit("b1", BUY, "100", "10.00"))
    reports = execs(eng.replace(replace("b1r", "b1", BUY, "100", "10.05")))
    assert kinds(reports) == [
        ("b1r", ExecKind.REPLACED), ("b1r", ExecKind.TRADE), ("s1", ExecKind.TRADE),
    ]  # fmt: skip
    assert reports[1].status is OrdStatus.PARTIALLY_FILLED and reports[1].leaves_qty == 50
    assert eng.book("ZVZZT").bids.depth() == [(D("10.05"), D("50"))]


def test_replace_keeps_cum_qty_and_new_quantity_is_the_total() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("s1", SELL, "30", "10.00", owner="B"))
    [rep] = execs(eng.replace(replace("b1r", "b1", BUY, "50", "10.00")))
    assert (rep.status, rep.cum_qty, rep.leaves_qty) == (OrdStatus.PARTIALLY_FILLED, 30, 20)


def test_replace_below_filled_quantity_is_rejected() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("s1", SELL, "30", "10.00", owner="B"))
    [rej] = eng.replace(replace("b1r", "b1", BUY, "30", "10.00"))
    assert isinstance(rej, CancelReject)
    assert (rej.response_to, rej.reason) == (CxlRejResponseTo.REPLACE, CxlRejReason.EXCHANGE_OPTION)
    assert rej.status is OrdStatus.PARTIALLY_FILLED


def test_replace_that_changes_the_side_is_rejected() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    [rej] = eng.replace(replace("b1r", "b1", SELL, "100", "10.00"))
    assert isinstance(rej, CancelReject) and "side" in rej.text


def test_replace_of_unknown_and_of_filled_orders() -> None:
    eng = engine()
    [unknown] = eng.replace(replace("r1", "nope", BUY, "100", "10.00"))
    assert isinstance(unknown, CancelReject) and unknown.reason is CxlRejReason.UNKNOWN_ORDER
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("s1", SELL, "100", "10.00", owner="B"))
    [late] = eng.replace(replace("r2", "b1", BUY, "200", "10.00"))
    assert isinstance(late, CancelReject) and late.reason is CxlRejReason.TOO_LATE


def test_every_cl_ord_id_of_a_replace_chain_finds_the_order() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.replace(replace("b2", "b1", BUY, "90", "10.00"))
    eng.replace(replace("b3", "b2", BUY, "80", "10.00"))
    [rep] = execs(eng.cancel(cancel("b4", "b3")))
    assert rep.status is OrdStatus.CANCELED
    for cl_ord_id in ("b1", "b2", "b3", "b4"):
        order = eng.find("A", cl_ord_id)
        assert order is not None and order.status is OrdStatus.CANCELED


def test_status_of_live_completed_and_unknown_orders() -> None:
    eng = engine()
    eng.submit(limit("b1", BUY, "100", "10.00"))
    eng.submit(limit("s1", SELL, "40", "10.00", owner="B"))
    [live] = execs(eng.status(StatusRequest("A", "b1", "ZVZZT", BUY)))
    assert (live.kind, live.status, live.cum_qty, live.leaves_qty) == (
        ExecKind.STATUS, OrdStatus.PARTIALLY_FILLED, 40, 60,
    )  # fmt: skip
    eng.submit(limit("s2", SELL, "60", "10.00", owner="B"))
    [done] = execs(eng.status(StatusRequest("B", "s2", "ZVZZT", SELL)))
    assert (done.status, done.cum_qty) == (OrdStatus.FILLED, 60)
    [unknown] = execs(eng.status(StatusRequest("A", "zz", "ZVZZT", SELL)))
    assert (unknown.kind, unknown.status, unknown.text) == (
        ExecKind.STATUS, OrdStatus.REJECTED, "unknown order",
    )  # fmt: skip
    assert (unknown.cl_ord_id, unknown.symbol, unknown.side) == ("zz", "ZVZZT", SELL)


def test_status_of_a_rejected_order_says_rejected() -> None:
    eng = engine()
    eng.submit(limit("x1", BUY, "100", "10.00", symbol="NOPE"))
    [rep] = execs(eng.status(StatusRequest("A", "x1", "NOPE", BUY)))
    assert rep.status is OrdStatus.REJECTED and rep.text is None


def test_completed_orders_are_forgotten_beyond_capacity() -> None:
    from fix_gateway.venue_sim.matching import MatchingEngine
    from fix_gateway.venue_sim.model import InstrumentRules
    from tests.unit.test_matching_engine_helpers import NOW

    eng = MatchingEngine([InstrumentRules("ZVZZT")], lambda: NOW, completed_capacity=2)
    for i in range(3):
        eng.submit(limit(f"i{i}", BUY, "1", "10.00", tif=TimeInForce.IOC))
    assert eng.find("A", "i0") is None
    assert eng.find("A", "i2") is not None


def test_expire_day_orders_expires_day_orders_only() -> None:
    eng = engine()
    eng.submit(limit("day", BUY, "100", "10.00"))
    eng.submit(limit("gtc", BUY, "100", "9.99", tif=TimeInForce.GTC))
    eng.submit(limit("part", SELL, "100", "10.50"))
    eng.submit(limit("hit", BUY, "30", "10.50", owner="B", tif=TimeInForce.IOC))
    reports = execs(eng.expire_day_orders())
    assert [(r.cl_ord_id, r.kind, r.status) for r in reports] == [
        ("day", ExecKind.EXPIRED, OrdStatus.EXPIRED),
        ("part", ExecKind.EXPIRED, OrdStatus.EXPIRED),
    ]
    assert (reports[1].cum_qty, reports[1].leaves_qty) == (30, 0)
    assert resting_queue(eng.book("ZVZZT").bids) == ["gtc"]
    assert not eng.book("ZVZZT").asks
    assert eng.expire_day_orders() == []


def test_unsolicited_cancel() -> None:
    eng = engine()
    [ack] = execs(eng.submit(limit("b1", BUY, "100", "10.00")))
    [rep] = execs(eng.cancel_unsolicited(ack.order_id, "halted"))
    assert (rep.cl_ord_id, rep.kind, rep.status, rep.text) == (
        "b1", ExecKind.CANCELED, OrdStatus.CANCELED, "halted",
    )  # fmt: skip
    assert eng.cancel_unsolicited(ack.order_id) == []
    assert trades(eng.submit(limit("s1", SELL, "100", "10.00", owner="B"))) == []
