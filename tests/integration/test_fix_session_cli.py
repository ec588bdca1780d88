"""``oms fix`` session commands when the gateway is not there to apply them: refused at once when
no gateway holds the lock (use ``oms fix reset-sequence`` offline), and a command the gateway
does not take in time is reported as such, never as done. The e2e tests run them against a
real gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from oms.cli import main
from oms.fix_admin import gateway_running
from oms.store.gateway_lock import GatewayLock

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"OMS_DATABASE_URL": database_url, "OMS_CONFIG": str(ROOT / "config" / "oms.toml")}


@pytest.fixture
def lock_held(db_engine: Engine) -> Iterator[None]:
    """A gateway named "main" holds its lock (but no core takes commands)."""
    lock = GatewayLock(db_engine, "main")
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def commands(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM operator_commands")).scalar_one())


def test_a_running_gateway_is_seen_through_its_lock_without_taking_it(
    db_engine: Engine
) -> None:
    assert not gateway_running(db_engine, "main")
    lock = GatewayLock(db_engine, "main")
    lock.acquire()
    try:
        assert gateway_running(db_engine, "main")
        assert not gateway_running(db_engine, "another")
    finally:
        lock.release()
    assert not gateway_running(db_engine, "main")


def test_without_a_running_gateway_the_command_is_refused_and_nothing_is_issued(
    env: dict[str, str], db_engine: Engine
) -> None:
    before = commands(db_engine)
    result = CliRunner().invoke(main, ["fix", "logon", "--session", "venue:SIM", "--reason",
                                       "morning"], env=env)
    assert result.exit_code == 1
    assert "no gateway is running on this database" in result.output
    assert "oms fix reset-sequence" in result.output
    assert commands(db_engine) == before


def test_a_command_the_gateway_does_not_take_in_time_is_reported_not_done(
    env: dict[str, str], db_engine: Engine, lock_held: None
) -> None:
    result = CliRunner().invoke(main, [
        "fix", "set-seq", "--session", "client:CLIENT1", "--next-target", "12", "--reason",
        "client resends from 12", "--operator", "dave", "--wait", "0.3"], env=env)
    assert result.exit_code == 1
    assert "issued by dave: set the next target MsgSeqNum of client:CLIENT1 to 12" in (
        result.output)
    assert "not taken by the gateway within 0.3 s" in result.output
    with db_engine.begin() as conn:
        row = conn.execute(text(
            "SELECT c.id, c.kind, c.payload, a.username, a.reason FROM operator_commands c "
            "JOIN operator_audit a ON (a.details->>'command_id')::int = c.id "
            "ORDER BY c.id DESC LIMIT 1")).one()
        # no gateway will ever take it: close it as a gateway would, for the other tests
        conn.execute(text("UPDATE operator_commands SET processed_at = now(), result = "
                          "'refused: test' WHERE id = :i"), {"i": row.id})
    assert (row.kind, row.payload["seq"], row.username, row.reason) == (
        "fix_set_next_target", 12, "dave", "client resends from 12")


@pytest.mark.parametrize(("args", "message"), [
    (["logon", "--session", "venue:NOPE", "--reason", "typo"],
     "unknown FIX session 'venue:NOPE': known are venue:SIM, client:CLIENT1"),
    (["set-seq", "--session", "venue:SIM", "--reason", "x"],
     "give --next-sender, --next-target or both"),
    (["set-seq", "--session", "venue:SIM", "--next-sender", "0", "--reason", "x"],
     "0 is not in the range x>=1"),
    (["set-seq", "--session", "venue:SIM", "--next-sender", "2147483648", "--reason", "x"],
     "seq must be from 1 to 2147483647"),
    (["logout", "--session", "venue:SIM"], "Missing option '--reason'"),
])
def test_bad_input_is_refused_with_the_reason_and_nothing_is_issued(
    env: dict[str, str], db_engine: Engine, lock_held: None, args: list[str], message: str
) -> None:
    before = commands(db_engine)
    result = CliRunner().invoke(main, ["fix", *args, "--wait", "0"], env=env)
    assert result.exit_code != 0
    assert message in result.output
    assert commands(db_engine) == before


def test_logout_and_reset_ask_for_a_confirmation(
    env: dict[str, str], db_engine: Engine, lock_held: None
) -> None:
    before = commands(db_engine)
    for operation in ("logout", "reset"):
        result = CliRunner().invoke(main, ["fix", operation, "--session", "venue:SIM",
                                           "--reason", "drill"], env=env, input="n\n")
        assert result.exit_code == 1 and "Aborted" in result.output
    assert commands(db_engine) == before
