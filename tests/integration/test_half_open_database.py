"""A database connection goes half-open: its peer vanishes without closing it (the host died,
the network was cut, a firewall forgot the connection). Both ends must give up on it within
the connection's TCP bounds: the client, so that the gateway fails what it was doing and
connects again, and the server, so that the dead connection's session ends and its locks
(the gateway's own lock among them) go with it.

The path to the real PostgreSQL runs through a veth pair into a network namespace of its own
(``tests.support.half_open_network``); the test cuts it: packets vanish, nothing is closed,
nothing answers. The TCP timeouts are lowered in the database URL, so this takes seconds.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from oms.store.db import CONNECTION_TIMEOUTS, make_engine
from oms.store.gateway_lock import GatewayAlreadyRunningError, GatewayLock
from tests.integration.conftest import WAIT_S, wait_until
from tests.support.half_open_network import HalfOpenPath, half_open_path

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not HalfOpenPath.available(), reason="needs root and iproute2"),
]

FAST_TIMEOUTS = {"keepalives_idle": 1, "keepalives_interval": 1, "keepalives_count": 2,
                 "tcp_user_timeout": 2000, "connect_timeout": 2}
"""The production values (``CONNECTION_TIMEOUTS``) divided by about ten."""


@pytest.fixture
def path() -> Iterator[HalfOpenPath]:
    with half_open_path() as opened:
        yield opened


def outcome_within(call: Callable[[], Any], limit_s: float = WAIT_S) -> object:
    """What ``call()`` returned or raised, on a thread of its own; fails if it is still
    waiting after ``limit_s`` (it would be waiting for ever)."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, name="half-open-call", daemon=True)
    thread.start()
    thread.join(limit_s)
    assert not thread.is_alive(), f"still waiting after {limit_s}s"
    return outcome[0]


def test_a_query_whose_server_vanished_fails_within_the_tcp_bound(
    path: HalfOpenPath, database_url: str,
) -> None:
    engine = make_engine(path.url(database_url, **FAST_TIMEOUTS), pool_size=1)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            path.cut()
            failed = outcome_within(lambda: conn.execute(text("SELECT 1")))
        assert isinstance(failed, OperationalError), failed
        path.restore()
        with engine.connect() as conn:  # a new connection, once the path is back
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_the_server_frees_the_lock_of_a_gateway_whose_connection_went_half_open(
    path: HalfOpenPath, database_url: str,
) -> None:
    """Without the server-side keepalives PostgreSQL keeps the dead session, and the gateway's
    lock with it, for the kernel's keepalive time (2 h 11 min by default): the gateway, once
    the network is back, finds "another gateway" holding its lock and stops, and so does every
    copy started after it."""
    name = f"half-open-{uuid.uuid4().hex[:8]}"
    through_path = make_engine(path.url(database_url, **FAST_TIMEOUTS), pool_size=1)
    direct = make_engine(database_url, pool_size=1)
    lost, successor = GatewayLock(through_path, name), GatewayLock(direct, name)
    try:
        lost.acquire()
        with pytest.raises(GatewayAlreadyRunningError):
            successor.acquire()
        path.cut()

        def successor_takes_it() -> bool:
            try:
                successor.acquire()
            except GatewayAlreadyRunningError:
                return False
            return True

        wait_until(successor_takes_it, what="the server freeing the dead session's lock")
    finally:
        successor.release()
        path.restore()
        lost.release()
        through_path.dispose()
        direct.dispose()


def test_the_connection_timeouts_are_tuned_in_the_url_and_the_server_applies_them_too(
    database_url: str,
) -> None:
    tuned = make_url(database_url).update_query_dict(
        {"tcp_user_timeout": "7000", "keepalives_idle": "4"}).render_as_string(
        hide_password=False)
    engine = make_engine(tuned, pool_size=1)
    try:
        with engine.connect() as conn:
            client = conn.connection.driver_connection.info.get_parameters()  # type: ignore[union-attr]
            server = {name: conn.execute(text(f"SHOW {name}")).scalar_one() for name in (
                "tcp_user_timeout", "tcp_keepalives_idle", "tcp_keepalives_interval",
                "tcp_keepalives_count")}
    finally:
        engine.dispose()
    assert (client["tcp_user_timeout"], client["keepalives_idle"]) == ("7000", "4")
    assert client["keepalives_interval"] == str(CONNECTION_TIMEOUTS["keepalives_interval"])
    assert server == {
        "tcp_user_timeout": "7000", "tcp_keepalives_idle": "4",
        "tcp_keepalives_interval": str(CONNECTION_TIMEOUTS["keepalives_interval"]),
        "tcp_keepalives_count": str(CONNECTION_TIMEOUTS["keepalives_count"]),
    }
