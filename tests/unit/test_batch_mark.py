"""A batch taken back to a mark holds exactly what it held there: an input that failed
halfway leaves no row, no watermark and no effect of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from oms.engine.batch import Batch

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def _row(order_id: str, version: int, status: str) -> dict[str, object]:
    return {"order_id": order_id, "version": version, "status": status}


def test_a_rollback_takes_back_every_row_watermark_effect_and_position_of_the_input() -> None:
    batch = Batch(now=NOW)
    batch.save_order(_row("O1", 1, "pending_new"), is_new=True)
    batch.save_order(_row("O2", 3, "new"), is_new=False)
    batch.watermarks["venue:SIM"] = 7
    batch.position("DEMO1", "ZVZZT").add(Decimal(10), Decimal("9.50"))
    batch.events.append({"seq": 1})
    before = (dict(batch.new_orders), dict(batch.changed_orders), dict(batch.watermarks),
              list(batch.events), batch.position("DEMO1", "ZVZZT").bought_qty)

    mark = batch.mark()
    batch.save_order(_row("O1", 1, "new"), is_new=True)  # the same order changed again
    batch.save_order(_row("O2", 3, "partially_filled"), is_new=False)
    batch.save_order(_row("O3", 1, "pending_new"), is_new=True)
    batch.save_order(_row("O3", 1, "rejected"), is_new=True)
    batch.watermarks["venue:SIM"] = 8
    batch.venue_request_states[("SIM", "V1")] = "sent"
    batch.position("DEMO1", "ZVZZT").add(Decimal(5), Decimal("9.50"))
    batch.position("DEMO2", "ZVZZT").add(Decimal(-5), Decimal("9.50"))
    batch.events.append({"seq": 2})
    batch.after_commit.append(lambda: None)
    batch.rollback(mark)

    after = (batch.new_orders, batch.changed_orders, batch.watermarks, batch.events,
             batch.position("DEMO1", "ZVZZT").bought_qty)
    assert after == before
    assert batch.venue_request_states == {} and batch.after_commit == []
    assert ("DEMO2", "ZVZZT") not in batch.positions


def test_rows_saved_after_a_rollback_are_kept_by_a_later_one() -> None:
    batch = Batch(now=NOW)
    first = batch.mark()
    batch.save_order(_row("O1", 1, "pending_new"), is_new=True)
    batch.rollback(first)
    batch.save_order(_row("O2", 1, "pending_new"), is_new=True)
    second = batch.mark()
    batch.save_order(_row("O2", 1, "new"), is_new=True)
    batch.rollback(second)
    assert batch.new_orders == {"O2": _row("O2", 1, "pending_new")}
