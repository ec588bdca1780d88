"""A second copy of the same gateway cannot run beside the first."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.store.gateway_lock import GatewayAlreadyRunningError, GatewayLock

pytestmark = pytest.mark.integration


def test_a_second_gateway_of_the_same_name_is_refused_until_the_first_stops(
    db_engine: Engine,
) -> None:
    first, second = GatewayLock(db_engine, "main"), GatewayLock(db_engine, "main")
    first.acquire()
    try:
        with pytest.raises(GatewayAlreadyRunningError):
            second.acquire()
        other = GatewayLock(db_engine, "other")
        other.acquire()  # another gateway name is independent
        other.release()
    finally:
        first.release()
    second.acquire()
    second.release()


def _kill_lock_backends(db_engine: Engine, name: str) -> None:
    from sqlalchemy import text

    from oms.store.gateway_lock import lock_key

    with db_engine.begin() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND objid = :k"), {"k": lock_key(name) & 0xFFFFFFFF})


def test_after_the_lock_connection_dies_the_gateway_takes_the_lock_again(
    db_engine: Engine,
) -> None:
    lock = GatewayLock(db_engine, "restarted")
    lock.acquire()
    _kill_lock_backends(db_engine, "restarted")  # as a database restart would
    lock.verify()
    assert lock.held
    with pytest.raises(GatewayAlreadyRunningError):
        GatewayLock(db_engine, "restarted").acquire()
    lock.release()


def test_if_another_gateway_took_the_lock_meanwhile_this_one_must_stop(db_engine: Engine) -> None:
    lock = GatewayLock(db_engine, "usurped")
    lock.acquire()
    _kill_lock_backends(db_engine, "usurped")
    usurper = GatewayLock(db_engine, "usurped")
    usurper.acquire()
    try:
        with pytest.raises(GatewayAlreadyRunningError):
            lock.verify()
    finally:
        usurper.release()
