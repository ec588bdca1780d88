"""The gateway's database goes half-open while a strategy trades: the server vanishes without
closing anything, or its answer to a commit is lost, or it stops answering for a while.

A whole gateway (with the venue simulator, RabbitMQ and Redis) reaches the real PostgreSQL
through a path the test breaks (``tests.support.half_open_network``: a veth pair into a network
namespace of its own, where packets vanish and nothing is closed or reset). Its connections'
TCP timeouts are lowered in the database URL, so that giving up takes seconds instead of half
a minute. What the strategy is told comes from RabbitMQ, what was recorded from the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from oms.gateway import Gateway
from oms.store.gateway_lock import lock_key
from tests.support.events import cid, is_
from tests.support.half_open_network import HalfOpenPath, half_open_path
from tests.support.isolation import TestVhost
from tests.support.stack import Strategy, running_stack, test_settings
from tests.support.waits import eventually

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not HalfOpenPath.available(), reason="needs root and iproute2"),
]

FAST_TIMEOUTS = {"keepalives_idle": 1, "keepalives_interval": 1, "keepalives_count": 2,
                 "tcp_user_timeout": 2000, "connect_timeout": 2}
"""The production values (``oms.store.db.CONNECTION_TIMEOUTS``) divided by about ten."""
SETTLE_S = 90.0
"""Generous bound for the gateway to come back and settle an order (never a timing check)."""


@pytest.fixture
def desk(database_url: str, amqp_vhost: TestVhost, run_id: str,
         tmp_path: Path) -> Iterator[tuple[Gateway, HalfOpenPath, Strategy]]:
    """A ready gateway whose database is reached through a path the test breaks, and a
    strategy trading through it."""
    with half_open_path() as path:
        settings = test_settings(database_url=path.url(database_url, **FAST_TIMEOUTS),
                                 amqp_url=amqp_vhost.url, data_dir=tmp_path)
        with running_stack(settings, tmp_path, f"oms_test_{run_id}_halfopen:") as gateway, \
                Strategy(amqp_vhost.url) as trader:
            try:
                yield gateway, path, trader
            finally:
                path.restore()  # the gateway stops cleanly on a working path


def commit_failures(gateway: Gateway) -> float:
    return gateway.metrics.registry.get_sample_value("oms_commit_failures_total") or 0.0


def recorded(db: Engine, cl_ord_id: str) -> list[tuple[str, list[str]]]:
    """Each order of ``cl_ord_id`` in the database: its status and its events, in order."""
    with db.connect() as conn:
        orders = conn.execute(text("SELECT order_id, status::text FROM orders"
                                   " WHERE cl_ord_id = :c"), {"c": cl_ord_id}).all()
        return [(status, list(conn.execute(text(
            "SELECT exec_type::text FROM order_events WHERE order_id = :o ORDER BY seq"),
            {"o": order_id}).scalars())) for order_id, status in orders]


def lock_held_on_server(db: Engine, gateway_name: str = "main") -> bool:
    with db.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND objid::bigint = :k"), {"k": lock_key(gateway_name)}).scalar_one())


def trade_once(trader: Strategy, label: str) -> str:
    """A buy of ZVZZT (no simulated liquidity: it rests at the venue); returns its ClOrdID."""
    cl_ord_id = cid(label)
    trader.new_order("DEMO1", cl_ord_id, "ZVZZT", "buy", "10", "10.00")
    return cl_ord_id


def until(what: str, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    try:
        eventually(condition, timeout)
    except AssertionError:
        raise AssertionError(f"gave up after {timeout}s waiting for {what}") from None


def waiting_on_the_silent_server(gateway: Gateway, path: HalfOpenPath) -> bool:
    """Bytes of the gateway's are held by the silent server and its core has stopped turning
    (it turns at least every 0.5 s when it can): it waits for a commit the server will not
    answer. (No statement need name the new order: a ClOrdID memory rules out is not looked up,
    and the commit's first bytes, held, may be its BEGIN alone.)"""
    stuck_ns = time.monotonic_ns() - gateway.core.heartbeat_ns
    return path.holds(b"") and stuck_ns > 2_000_000_000


def still_running(gateway: Gateway) -> bool:
    return gateway.fatal_reason() is None and not gateway.fatal.is_set()


def test_the_database_vanishing_mid_order_costs_a_reload_and_the_order_is_recorded_once(
    desk: tuple[Gateway, HalfOpenPath, Strategy], db_engine: Engine,
) -> None:
    gateway, path, trader = desk
    trader.wait_for(is_(trade_once(trader, "before"), "new"))
    failures = commit_failures(gateway)

    path.cut()
    during = trade_once(trader, "during")
    # the core gives up on the dead connection within the TCP bound (else it would wait for
    # ever), and the lock check notices its own connection is dead
    until("the core giving up on the dead connection",
          lambda: commit_failures(gateway) > failures)
    until("the lock check noticing its dead connection", lambda: not gateway.lock.held)
    # the server ends the dead sessions too: the gateway's lock is not kept by a ghost
    until("the server dropping the dead session and its lock",
          lambda: not lock_held_on_server(db_engine))

    path.restore()
    trader.wait_for(is_(during, "new"), timeout=SETTLE_S)
    until("the lock check after the path came back",
          lambda: gateway.lock.held or not still_running(gateway), SETTLE_S)
    assert still_running(gateway), gateway.fatal_reason() or "it lost its lock"
    assert recorded(db_engine, during) == [("new", ["pending_new", "new"])]


def test_a_commit_whose_answer_is_lost_is_recorded_once_and_settled_with_the_venue(
    desk: tuple[Gateway, HalfOpenPath, Strategy], db_engine: Engine,
) -> None:
    """The batch commits on the server, its answer never arrives: the gateway cannot know the
    outcome, so it does nothing it would do after a commit (the order is not sent). Once the
    path is back it reloads what was committed, takes the redelivered command for the
    duplicate it is, and asks the venue about the order it never confirmed sending."""
    gateway, path, trader = desk
    trader.wait_for(is_(trade_once(trader, "before"), "new"))
    failures = commit_failures(gateway)

    path.cut_replies_once_sent(b"INSERT INTO orders (")
    doubt = trade_once(trader, "doubt")
    until("the order committed on the server",
          lambda: recorded(db_engine, doubt) == [("pending_new", ["pending_new"])])
    until("the core giving up without knowing the outcome",
          lambda: commit_failures(gateway) > failures)

    path.restore()
    settled: Any = trader.wait_for(
        lambda e: e["cl_ord_id"] == doubt and e["exec_type"] != "pending_new", timeout=SETTLE_S)
    assert (settled["exec_type"], settled["reject_source"]) == ("rejected", "venue")
    assert "unknown order" in settled["text"]
    # the batch's event, committed but never handed to the relay, is not overtaken on the bus
    assert [e["exec_type"] for e in trader.events_of(doubt)] == ["pending_new", "rejected"]
    assert recorded(db_engine, doubt) == [("rejected", ["pending_new", "rejected"])]
    assert still_running(gateway), gateway.fatal_reason()


def test_a_database_that_stops_answering_for_a_while_delays_the_order_and_loses_nothing(
    desk: tuple[Gateway, HalfOpenPath, Strategy], db_engine: Engine,
) -> None:
    """The server's host is alive (its kernel acknowledges) but PostgreSQL answers nothing:
    no TCP timeout can fire. The gateway waits; once the server answers, it carries on."""
    gateway, path, trader = desk
    trader.wait_for(is_(trade_once(trader, "before"), "new"))

    path.hang()
    during = trade_once(trader, "during")
    until("the gateway waiting on the silent server",
          lambda: waiting_on_the_silent_server(gateway, path))
    path.restore()
    trader.wait_for(is_(during, "new"), timeout=SETTLE_S)
    assert recorded(db_engine, during) == [("new", ["pending_new", "new"])]
    assert still_running(gateway), gateway.fatal_reason()


def test_a_database_silent_past_the_stall_limit_ends_the_gateway_for_its_supervisor(
    desk: tuple[Gateway, HalfOpenPath, Strategy],
) -> None:
    """No TCP timeout fires on a silent server, and the core waits on it: a core that has not
    turned for the stall limit (120 s; 3 s here) makes the gateway report not ready and stop,
    exit status 1, so that its supervisor starts a fresh copy (which connects once the server
    answers, bounded by connect_timeout)."""
    gateway, path, trader = desk
    trader.wait_for(is_(trade_once(trader, "before"), "new"))
    gateway.core_stall_limit_s = 3.0

    path.hang()
    trade_once(trader, "during")
    until("the gateway waiting on the silent server",
          lambda: waiting_on_the_silent_server(gateway, path))
    until("the gateway giving up on its stuck core", lambda: gateway.fatal_reason() is not None)
    reason = gateway.fatal_reason() or ""
    assert "the core has not turned for" in reason, reason
    ready, details = gateway._ready()
    assert not ready and details["fatal"] == reason
