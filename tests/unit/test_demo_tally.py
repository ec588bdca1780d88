"""The sample strategy's bookkeeping: orders followed along their chains by the events."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from oms.client import OrderEvent
from oms.demo.report import DatabaseView, WhereToLook, percentile, progress_line, summary
from oms.demo.tally import Intent, Tally

MS = 1_000_000


def event(cl_ord_id: str, exec_type: str, ord_status: str | None, seq: int | None,
          order_id: str | None = "O1", **fields: Any) -> OrderEvent:
    return OrderEvent.from_mapping({
        "event_id": str(uuid.uuid4()), "order_id": order_id, "seq": seq,
        "cl_ord_id": cl_ord_id, "exec_type": exec_type, "ord_status": ord_status, **fields,
    })


def test_a_marketable_order_is_followed_to_its_fill() -> None:
    tally = Tally()
    tally.submitted("a-1", "DEMO1", "AAPL", "buy", Intent.TAKE, 0)
    tally.on_event(event("a-1", "pending_new", "pending_new", 1), 2 * MS)
    tally.on_event(event("a-1", "new", "new", 2), 5 * MS)
    tally.on_event(event("a-1", "partial_fill", "partially_filled", 3, cum_qty="40",
                         last_qty="40", last_px="190.01"), 6 * MS)
    tally.on_event(event("a-1", "fill", "filled", 4, cum_qty="100", last_qty="60",
                         last_px="190.03"), 7 * MS)
    assert tally.final_states() == {"filled": 1}
    assert tally.fills == 2 and tally.filled_qty["AAPL"] == 100
    assert tally.notional["AAPL"] == Decimal("40") * Decimal("190.01") + 60 * Decimal("190.03")
    assert tally.positions[("DEMO1", "AAPL")] == 100
    samples = tally.latency.samples
    assert samples["submit -> accepted (pending_new)"] == [2.0]
    assert samples["submit -> ack (new)"] == [5.0]
    assert samples["submit -> fill (marketable)"] == [6.0]


def test_a_replace_moves_the_current_id_and_a_cancel_ends_the_chain() -> None:
    tally = Tally()
    order = tally.submitted("r-1", "DEMO2", "MSFT", "sell", Intent.REST, 0)
    tally.on_event(event("r-1", "new", "new", 2), MS)
    tally.requested("replace", "r-2", order, 10 * MS)
    tally.on_event(event("r-2", "pending_replace", "pending_replace", 3), 11 * MS)
    tally.on_event(event("r-2", "replaced", "new", 4), 13 * MS)
    assert order.current == "r-2" and order.request_in_flight is None
    tally.requested("cancel", "r-3", order, 20 * MS)
    tally.on_event(event("r-3", "canceled", "canceled", 6), 24 * MS)
    tally.on_event(event("r-3", "pending_cancel", "pending_cancel", 5), 25 * MS)  # late
    assert order.status == "canceled" and not order.is_live
    assert tally.latency.samples["replace -> replaced"] == [3.0]
    assert tally.latency.samples["cancel -> canceled"] == [4.0]
    assert tally.commands == {"new_order": 1, "replace": 1, "cancel": 1}


def test_rejects_are_told_apart_by_source_and_refused_requests_counted() -> None:
    tally = Tally()
    tally.submitted("k-1", "DEMO1", "AAPL", "buy", Intent.RISK_TEST, 0)
    tally.on_event(event("k-1", "rejected", "rejected", 1, reject_source="risk"), MS)
    tally.submitted("k-2", "DEMO1", "NOPE", "buy", Intent.VALIDATION_TEST, 0)
    tally.on_event(event("k-2", "rejected", None, None, order_id=None,
                         reject_source="validation"), MS)
    filled = tally.submitted("k-3", "DEMO2", "ZVZZT", "sell", Intent.CROSS_TAKER, 0)
    tally.on_event(event("k-3", "fill", "filled", 2, cum_qty="100", last_qty="100",
                         last_px="10"), MS)
    tally.requested("cancel", "k-4", filled, 2 * MS)
    tally.on_event(event("k-4", "cancel_rejected", "filled", 3, reject_source="venue"), 3 * MS)
    assert tally.final_states() == {"rejected (risk)": 1, "rejected (validation)": 1,
                                    "filled": 1}
    assert tally.request_rejects == {"cancel_rejected": 1} and tally.rejects == 3
    assert filled.request_in_flight is None and tally.positions[("DEMO2", "ZVZZT")] == -100


def test_an_event_for_an_order_of_someone_else_is_counted_apart() -> None:
    tally = Tally()
    assert tally.on_event(event("theirs", "new", "new", 1), 0) is None
    assert tally.foreign_events == 1 and tally.events == 1


def test_percentiles_are_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 99), percentile(samples, 100)) == (
        50.0, 99.0, 100.0)
    assert percentile([7.0], 1) == 7.0


def test_the_summary_says_what_happened_and_where_to_look() -> None:
    tally = Tally()
    tally.submitted("s-1", "DEMO1", "ZVZZT", "buy", Intent.CROSS_MAKER, 0)
    tally.on_event(event("s-1", "new", "new", 1), MS)
    tally.on_event(event("s-1", "fill", "filled", 2, cum_qty="100", last_qty="100",
                         last_px="10.00"), 2 * MS)
    database = DatabaseView({"filled": 1}, 1, {("DEMO1", "ZVZZT"): Decimal("90")})
    where = WhereToLook("http://127.0.0.1:8000/", "create a user: oms user add", "m", "h",
                        ["var/demo/gateway.log"], "psql oms_demo", "var/demo/oms.toml")
    text = summary(tally, 10.0, database, where)
    assert "filled" in text and "1,000.00" in text and "+100" in text
    assert "<- differs" in text and "1 position(s) differ" in text
    assert "http://127.0.0.1:8000/" in text and "var/demo/gateway.log" in text
    line = progress_line(tally, 2.0, "trading")
    assert "orders      1" in line and "fills      1" in line and "0.5 orders/s" in line
