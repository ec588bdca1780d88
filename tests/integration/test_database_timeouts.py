"""Every connection of ours has a statement timeout and TCP timeouts: a runaway statement ends
with an error, and a connection whose peer is gone fails instead of hanging the core."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from oms.store.db import CONNECTION_TIMEOUTS, STATEMENT_TIMEOUT_S, make_engine
from oms.store.operator_channel import libpq_conninfo

pytestmark = pytest.mark.integration


def test_a_statement_longer_than_the_timeout_is_cancelled_with_an_error(
    database_url: str,
) -> None:
    engine = make_engine(database_url, pool_size=1, statement_timeout_s=0.2)
    try:
        with engine.connect() as conn, pytest.raises(OperationalError) as cancelled:
            conn.execute(text("SELECT pg_sleep(5)"))
        assert "statement timeout" in str(cancelled.value)
    finally:
        engine.dispose()


def test_connections_carry_the_statement_and_tcp_timeouts(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == (
                f"{STATEMENT_TIMEOUT_S}s")
            parameters = conn.connection.driver_connection.info.get_parameters()  # type: ignore[union-attr]
        for name, value in CONNECTION_TIMEOUTS.items():
            assert parameters[name] == str(value), name
    finally:
        engine.dispose()


def test_the_operator_channel_listens_with_tcp_keepalives(database_url: str) -> None:
    conninfo = libpq_conninfo(database_url)
    for name, value in CONNECTION_TIMEOUTS.items():
        assert f"{name}={value}" in conninfo
