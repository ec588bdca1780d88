"""One bad venue report never cuts a venue off: a value out of any range is refused where it
enters (translation), and an ExecID a venue uses again for another order is that order's fill,
not a commit failure. Against ``ScriptedVenue`` (simplefix, not quickfix) on FIX 4.4."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from oms.admin.queries.tables import ORDERS
from oms.store.models import Execution
from tests.support.events import cid, is_
from tests.support.isolation import TestVhost
from tests.support.scripted_desk import Desk, resting_buy, scripted_desk, unmatched_report
from tests.support.stack import Strategy
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e

EXECUTIONS = Execution.__table__


@pytest.fixture(scope="module")
def desk(database_url: str, amqp_vhost: TestVhost, run_id: str,
         tmp_path_factory: pytest.TempPathFactory, db_engine: Engine) -> Iterator[Desk]:
    data_dir: Path = tmp_path_factory.mktemp("fault-values")
    with scripted_desk(version="4.4", database_url=database_url, amqp_url=amqp_vhost.url,
                       data_dir=data_dir, redis_prefix=f"oms_test_{run_id}_faultvalues:",
                       db=db_engine) as desk:
        yield desk


@pytest.fixture
def trader(desk: Desk) -> Iterator[Strategy]:
    with Strategy(desk.amqp_url) as strategy:
        yield strategy


def test_a_fill_at_a_price_of_10_to_the_21_is_refused_and_the_venue_trades_on(
    desk: Desk, trader: Strategy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="oms.engine.venue_reports")
    order, order_id, venue_id = resting_buy(desk, trader, "absurd")
    exec_id = desk.venue.fill(venue_id, "100", "1000000000000000000000")
    row = eventually(lambda: unmatched_report(desk.db, exec_id))
    assert row.reason.startswith("cannot translate: tag 31: 1000000000000000000000 is out of"
                                 " range"), row.reason
    with desk.db.connect() as conn:
        status = conn.execute(select(ORDERS.c.status, ORDERS.c.cum_qty)
                              .where(ORDERS.c.order_id == order_id)).one()
    assert (status.status.value, status.cum_qty) == ("new", 0)
    after, _, _ = resting_buy(desk, trader, "after-absurd")  # the session was never cut off
    assert "venue SIM logged out" not in caplog.text
    assert desk.gateway.sender.is_logged_on("SIM")
    assert [e["exec_type"] for e in trader.events_of(order)] == ["pending_new", "new"]
    assert after


def test_an_exec_id_the_venue_uses_again_for_another_order_fills_that_order(
    desk: Desk, trader: Strategy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="oms.engine.venue_reports")
    first, first_id, first_venue_id = resting_buy(desk, trader, "exec-a")
    second, second_id, second_venue_id = resting_buy(desk, trader, "exec-b")
    reused = f"E-{cid('reused')}"
    desk.venue.fill(first_venue_id, "100", "9.50", exec_id=reused)
    assert Decimal(trader.wait_for(is_(first, "fill"))["last_px"]) == Decimal("9.50")
    desk.venue.fill(second_venue_id, "100", "9.50", exec_id=reused)  # e.g. after a restart
    fill = trader.wait_for(is_(second, "fill"))
    assert (Decimal(fill["cum_qty"]), fill["ord_status"]) == (100, "filled")
    with desk.db.connect() as conn:
        owners = set(conn.execute(select(EXECUTIONS.c.order_id).where(
            EXECUTIONS.c.venue == "SIM", EXECUTIONS.c.exec_id == reused)).scalars())
    assert owners == {first_id, second_id}
    assert "venue SIM logged out" not in caplog.text
