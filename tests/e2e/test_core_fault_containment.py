"""One bad input inside a running gateway: it is answered, the rest goes on, nothing is lost.

Against the real gateway, PostgreSQL and RabbitMQ, with ``ScriptedVenue`` (simplefix) as the
venue. Faults are injected where a real one would strike:

- a report the state machine raises on (a fault put into the running process for one ExecID);
- a commit refused under one input (a trigger that refuses one row, as a constraint would);
- a fill whose ExecID the venue reuses on the same order for another fill.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from oms.domain.orders import Order
from tests.support.events import cid, is_
from tests.support.isolation import TestVhost
from tests.support.scripted_desk import Desk, resting_buy, scripted_desk, unmatched_report
from tests.support.stack import Strategy
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def desk(database_url: str, amqp_vhost: TestVhost, run_id: str,
         tmp_path_factory: pytest.TempPathFactory, db_engine: Engine) -> Iterator[Desk]:
    data_dir: Path = tmp_path_factory.mktemp("core-faults")
    with scripted_desk(version="4.4", database_url=database_url, amqp_url=amqp_vhost.url,
                       data_dir=data_dir, redis_prefix=f"oms_test_{run_id}_corefaults:",
                       db=db_engine) as desk:
        yield desk


@pytest.fixture
def trader(desk: Desk) -> Iterator[Strategy]:
    with Strategy(desk.amqp_url) as strategy:
        yield strategy


@pytest.fixture
def refused_rows(db_engine: Engine) -> Iterator[None]:
    """A trigger that refuses, as a constraint would, an execution whose ExecID starts with
    POISON and an order whose ClOrdID starts with poison; dropped afterwards."""
    columns = {"executions": ("exec_id", "POISON%"), "orders": ("cl_ord_id", "poison%")}
    with db_engine.begin() as conn:
        for table, (column, pattern) in columns.items():
            conn.execute(text(f"""
                CREATE FUNCTION refuse_poison_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.{column} LIKE '{pattern}' THEN
                        RAISE EXCEPTION 'row refused by the test'
                            USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NEW;
                END $$"""))
            conn.execute(text(f"CREATE TRIGGER refuse_poison BEFORE INSERT ON {table}"
                              f" FOR EACH ROW EXECUTE FUNCTION refuse_poison_{table}()"))
    try:
        yield
    finally:
        with db_engine.begin() as conn:
            for table in columns:
                conn.execute(text(f"DROP TRIGGER refuse_poison ON {table}"))
                conn.execute(text(f"DROP FUNCTION refuse_poison_{table}()"))


def test_a_report_the_state_machine_raises_on_is_kept_for_an_operator_and_the_rest_fills(
    desk: Desk, trader: Strategy, monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken, _, broken_venue_id = resting_buy(desk, trader, "sm-raises")
    other, _, other_venue_id = resting_buy(desk, trader, "sm-other")
    applying = Order.apply

    def raising(order: Order, value: Any, now: Any) -> Any:
        if getattr(value, "exec_id", "") == "BROKEN-1":
            raise ZeroDivisionError("a bug in the state machine")
        return applying(order, value, now)

    monkeypatch.setattr(Order, "apply", raising)
    desk.venue.fill(broken_venue_id, "100", "9.50", exec_id="BROKEN-1")
    desk.venue.fill(other_venue_id, "100", "9.50")
    assert Decimal(trader.wait_for(is_(other, "fill"))["cum_qty"]) == 100
    kept = eventually(lambda: unmatched_report(desk.db, "BROKEN-1"))
    assert kept.reason.startswith("internal error: ZeroDivisionError"), kept.reason
    assert [e["exec_type"] for e in trader.events_of(broken)] == ["pending_new", "new"]
    monkeypatch.setattr(Order, "apply", applying)
    after, _, _ = resting_buy(desk, trader, "sm-after")  # the venue was never cut off
    assert after and desk.gateway.sender.is_logged_on("SIM")


def test_a_commit_refused_under_one_fill_commits_the_others_and_quarantines_that_one(
    desk: Desk, trader: Strategy, refused_rows: None,
) -> None:
    first, _, first_venue_id = resting_buy(desk, trader, "refused-fill-a")
    second, _, second_venue_id = resting_buy(desk, trader, "refused-fill-b")
    desk.venue.fill(first_venue_id, "100", "9.50", exec_id="POISON-1")
    desk.venue.fill(second_venue_id, "100", "9.50")
    assert Decimal(trader.wait_for(is_(second, "fill"))["cum_qty"]) == 100
    kept = eventually(lambda: unmatched_report(desk.db, "POISON-1"))
    assert "internal error" in kept.reason and "refused by the test" in kept.reason
    assert [e["exec_type"] for e in trader.events_of(first)] == ["pending_new", "new"]
    assert desk.gateway.sender.is_logged_on("SIM"), "the venue was cut off for one report"
    after, _, _ = resting_buy(desk, trader, "refused-after")
    assert after


def test_a_command_whose_order_the_database_refuses_is_rejected_and_dead_lettered(
    desk: Desk, trader: Strategy, refused_rows: None,
) -> None:
    bad, good = cid("poison-order"), cid("good-order")
    trader.new_order("DEMO1", bad, "ZVZZT", "buy", "100", "9.50")
    trader.new_order("DEMO1", good, "ZVZZT", "buy", "100", "9.50")
    trader.wait_for(is_(good, "new"))
    rejected = trader.wait_for(is_(bad, "rejected"))
    assert rejected["text"].startswith("internal error"), rejected["text"]
    assert "refused by the test" in rejected["text"]


def test_a_fill_reusing_an_exec_id_of_the_same_order_is_kept_for_an_operator(
    desk: Desk, trader: Strategy,
) -> None:
    order, _, venue_id = resting_buy(desk, trader, "reuse-same")
    reused = f"R-{cid('exec')}"
    desk.venue.fill(venue_id, "40", "9.50", exec_id=reused)
    assert Decimal(trader.wait_for(is_(order, "partial_fill"))["cum_qty"]) == 40
    desk.venue.fill(venue_id, "60", "9.45", exec_id=reused)  # e.g. after a venue restart
    kept = eventually(lambda: unmatched_report(desk.db, reused))
    assert f"ExecID {reused} reused" in kept.reason and "40 @ 9.50" in kept.reason
    assert "60 @ 9.45" in kept.reason
    assert desk.gateway.sender.is_logged_on("SIM")
