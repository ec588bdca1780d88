"""A kill switch pressed while the database blips takes effect as soon as the database is back.

The core marks an operator command processed in the transaction that applies it. When that
transaction fails, the command is given back to the operator channel and taken up again after
the core has reloaded: it is applied once, without a restart.

The fault is placed exactly on the kill switch's transaction, in a PostgreSQL of the test's own:

- the core's own connection is dropped in the middle of the commit (a trigger on
  ``kill_switches`` that fires once: a sequence, which no rollback undoes);
- the database is stopped while the commit is under way (held on a lock of ``kill_switches``
  the test takes), and started again 3 s later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from oms.store.operator_channel import issue_command
from tests.support.events import cid, is_
from tests.support.isolation import TestVhost
from tests.support.private_postgres import PrivatePostgres
from tests.support.stack import Strategy, running_stack, test_settings

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not PrivatePostgres.available(), reason="PostgreSQL 15 binaries absent"),
]



@pytest.fixture
def engine(private_postgres: PrivatePostgres) -> Iterator[Engine]:
    engine = create_engine(private_postgres.url, pool_pre_ping=True)
    yield engine
    engine.dispose()


def _drop_the_connection_of_the_first_kill_switch(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE SEQUENCE kill_switch_fault"))
        conn.execute(text("""
            CREATE FUNCTION kill_switch_fault() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('kill_switch_fault') = 1 THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NEW;
            END $$"""))
        conn.execute(text(
            "CREATE TRIGGER kill_switch_fault BEFORE INSERT OR UPDATE ON kill_switches"
            " FOR EACH ROW EXECUTE FUNCTION kill_switch_fault()"))


def _press_kill_switch(engine: Engine, account: str) -> int:
    with engine.begin() as conn:
        return issue_command(conn, kind="kill_switch_trip",
                             payload={"scope": "account", "key": account}, issued_by="alice",
                             reason="runaway algo", at=datetime.now(UTC), target=account)


def _command_result(engine: Engine, command_id: int) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT result FROM operator_commands WHERE id = :i"),
                                {"i": command_id}).scalar_one()
    except Exception:  # the database is down: not processed as far as anyone can see
        return None


def _connection_dropped(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT is_called FROM kill_switch_fault")).scalar_one())


def _kill_switch_blip(private_postgres: PrivatePostgres, engine: Engine, amqp_vhost: TestVhost,
                      run_id: str, tmp_path: Path,
                      during_commit: threading.Event | None = None) -> None:
    """Trips DEMO2's kill switch under the fault in place; checks it took effect once, without
    a restart: the resting order canceled, a new order refused, the command processed."""
    settings = test_settings(database_url=private_postgres.url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path)
    with running_stack(settings, tmp_path, f"oms_test_{run_id}_ks:"), \
            Strategy(amqp_vhost.url) as trader:
        resting = cid("blip-rest")
        trader.new_order("DEMO2", resting, "ZVZZT", "sell", "10", "10.90")
        order_id = trader.wait_for(is_(resting, "new"))["order_id"]
        command = _press_kill_switch(engine, "DEMO2")
        if during_commit is not None:
            during_commit.set()
        canceled = trader.wait_for(
            lambda e: e["orig_cl_ord_id"] == resting and e["exec_type"] == "canceled",
            timeout=90)
        assert "kill switch" in canceled["text"] and "runaway algo" in canceled["text"]
        blocked = cid("blip-new")
        trader.new_order("DEMO2", blocked, "ZVZZT", "sell", "10", "10.90")
        rejected = trader.wait_for(is_(blocked, "rejected"), timeout=30)
        assert rejected["reject_source"] == "risk" and "kill switch" in rejected["text"]
        result = _command_result(engine, command)
    assert result is not None and "tripped" in result, result
    with engine.connect() as conn:
        switches = conn.execute(text(
            "SELECT count(*) FROM kill_switches WHERE key = 'DEMO2' AND active")).scalar_one()
        cancels = conn.execute(text(
            "SELECT count(*) FROM order_events WHERE order_id = :o AND exec_type = 'canceled'"),
            {"o": order_id}).scalar_one()
    assert (switches, cancels) == (1, 1), "applied more than once"


def test_a_kill_switch_whose_commit_loses_the_cores_connection_is_applied_on_the_retry(
    private_postgres: PrivatePostgres, engine: Engine, amqp_vhost: TestVhost, run_id: str,
    tmp_path: Path,
) -> None:
    _drop_the_connection_of_the_first_kill_switch(engine)
    _kill_switch_blip(private_postgres, engine, amqp_vhost, run_id, tmp_path)
    assert _connection_dropped(engine), "the fault never fired: the test proved nothing"


def test_a_kill_switch_pressed_as_the_database_stops_for_3_seconds_applies_when_it_is_back(
    private_postgres: PrivatePostgres, engine: Engine, amqp_vhost: TestVhost, run_id: str,
    tmp_path: Path,
) -> None:
    pressed = threading.Event()
    held: list[bool] = []

    def stop_the_database_mid_commit() -> None:
        lock = engine.connect()
        lock.begin()
        lock.execute(text("LOCK TABLE kill_switches IN EXCLUSIVE MODE"))
        pressed.wait(60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not held:  # the core's commit waits on the lock
            with engine.connect() as conn:
                held.extend([True] * int(conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE '%kill_switches%'")).scalar_one()))
            time.sleep(0.05)
        private_postgres.stop()  # abrupt: the transaction in flight fails
        lock.invalidate()
        engine.dispose()
        time.sleep(3)
        private_postgres.start()

    outage = threading.Thread(target=stop_the_database_mid_commit, daemon=True)
    outage.start()
    _kill_switch_blip(private_postgres, engine, amqp_vhost, run_id, tmp_path, pressed)
    outage.join(60)
    assert held, "the kill switch's commit was never seen under way: the test proved nothing"
