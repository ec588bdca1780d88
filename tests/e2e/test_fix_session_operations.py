"""Operators set sequence numbers, log sessions out and on, and reset them on a running gateway,
through the operator channel. What the counterparty sees is checked with tools we did not write:
the raw FIX client (simplefix over a socket) for the client session, and the venue simulator's
own message log for the venue session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import quickfix as fix
from sqlalchemy import Engine, text

from fix_gateway.wire import parse_raw
from oms.settings import Settings
from oms.store.operator_channel import issue_command
from tests.support.isolation import TestVhost
from tests.support.raw_fix import Fields, RawFixClient
from tests.support.stack import (
    Strategy,
    running_stack,
    test_settings,
    write_settings_file,
)

pytestmark = pytest.mark.e2e

WAIT_S = 30.0


@pytest.fixture(scope="module")
def settings(database_url: str, amqp_vhost: TestVhost,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("session-ops")
    return test_settings(database_url=database_url, amqp_url=amqp_vhost.url, data_dir=data_dir)


@pytest.fixture(scope="module")
def gateway(settings: Settings, run_id: str) -> Iterator[Any]:
    data_dir = Path(settings.file.engine.data_dir)
    with running_stack(settings, data_dir, f"oms_test_{run_id}_sessops:") as gw:
        yield gw


@pytest.fixture
def client(gateway: Any, settings: Settings) -> Iterator[RawFixClient]:
    """CLIENT1, logged on with its sequence numbers reset."""
    raw = RawFixClient(settings.file.fix_clients[0].port)
    answer = raw.logon(reset=True)
    assert answer[35] == "A", answer
    yield raw
    raw.drop()


@pytest.fixture
def trader(gateway: Any, amqp_vhost: TestVhost) -> Iterator[Strategy]:
    s = Strategy(amqp_vhost.url)
    try:
        yield s
    finally:
        s.close()


def until(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """Wait for ``condition`` to hold (ends as soon as it does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def operate(db: Engine, kind: str, payload: dict[str, Any], reason: str = "agreed by phone",
            ) -> str:
    """Issue a command on the operator channel and return the core's result."""
    with db.begin() as conn:
        command_id = issue_command(conn, kind=kind, payload=payload, issued_by="alice",
                                   reason=reason, at=datetime.now(UTC),
                                   target=str(payload.get("session")))

    def result() -> str | None:
        with db.connect() as conn:
            return conn.execute(text("SELECT result FROM operator_commands WHERE id = :i"),
                                {"i": command_id}).scalar_one()

    return str(until(result, f"the result of command {command_id}"))


def watermark(db: Engine, session: str) -> int | None:
    with db.connect() as conn:
        value = conn.execute(text("SELECT last_inbound_seq FROM fix_session_watermarks "
                                  "WHERE session_id = :s"), {"s": session}).scalar()
    return None if value is None else int(value)


def venue_received(settings: Settings) -> list[Fields]:
    """Every message the venue simulator logged as received from the OMS, in order."""
    log_dir = Path(settings.file.engine.data_dir) / "venue-sim" / "log"
    path = log_dir / "FIX.4.4-SIM-OMS.messages.current.log"
    if not path.exists():
        return []
    messages = []
    for line in path.read_text(errors="replace").splitlines():
        _, sep, raw = line.partition(" : ")
        if sep and "\x0149=OMS\x01" in raw:
            messages.append({int(k): v for k, v in parse_raw(raw).items()})
    return messages


def gateway_session(key: tuple[str, str, str]) -> Any:
    return fix.Session.lookupSession(fix.SessionID(*key))


VENUE_KEY = ("FIX.4.4", "OMS", "SIM")
CLIENT_KEY = ("FIX.4.4", "OMS", "CLIENT1")


def published_state(gateway: Any, session: str) -> str:
    return str(gateway.cache.read_status().get("gateway", {}).get(session, "")).split(" ")[0]


# -- client session ------------------------------------------------------------------------


def test_after_set_next_target_the_gateway_asks_the_client_to_resend_from_that_number(
    gateway: Any, client: RawFixClient, db_engine: Engine
) -> None:
    for _ in range(4):
        client.send("0", [])  # heartbeats: the client is now at MsgSeqNum 6
    until(lambda: gateway_session(CLIENT_KEY).getExpectedTargetNum() == 6,
          "the gateway took the heartbeats")
    result = operate(db_engine, "fix_set_next_target", {"session": "client:CLIENT1", "seq": 3})
    assert result == "FIX.4.4:OMS->CLIENT1 next target MsgSeqNum set to 3 (was 6)"
    assert watermark(db_engine, "client:CLIENT1") == 2
    until(lambda: gateway_session(CLIENT_KEY).getExpectedTargetNum() == 3, "applied")
    client.send("1", [(112, "after-set-target")])
    resend = client.wait_admin(lambda m: m[35] == "2")
    assert resend[7] == "3"


def test_after_set_next_target_above_the_client_a_lower_number_is_refused_as_too_low(
    gateway: Any, client: RawFixClient, db_engine: Engine
) -> None:
    result = operate(db_engine, "fix_set_next_target", {"session": "client:CLIENT1", "seq": 50})
    assert "next target MsgSeqNum set to 50" in result
    until(lambda: gateway_session(CLIENT_KEY).getExpectedTargetNum() == 50, "applied")
    client.send("0", [])  # MsgSeqNum 2
    logout = client.wait_admin(lambda m: m[35] == "5")
    assert "MsgSeqNum too low, expecting 50 but received 2" in logout[58]
    assert client.wait_closed()


def test_after_set_next_sender_the_client_receives_that_number_next(
    gateway: Any, client: RawFixClient, db_engine: Engine
) -> None:
    result = operate(db_engine, "fix_set_next_sender", {"session": "client:CLIENT1", "seq": 40})
    assert result == "FIX.4.4:OMS->CLIENT1 next sender MsgSeqNum set to 40 (was 2)"
    until(lambda: gateway_session(CLIENT_KEY).getExpectedSenderNum() == 40, "applied")
    client.next_in = 40  # agreed with the operator
    client.send("1", [(112, "after-set-sender")])
    heartbeat = client.wait_admin(lambda m: m[35] == "0")
    assert (heartbeat[34], heartbeat[112]) == ("40", "after-set-sender")
    assert client.errors == []


def test_a_logged_out_client_is_refused_until_an_operator_logs_it_on(
    gateway: Any, client: RawFixClient, db_engine: Engine, settings: Settings
) -> None:
    result = operate(db_engine, "fix_logout", {"session": "client:CLIENT1"}, "end of day")
    assert result == ("FIX.4.4:OMS->CLIENT1 logged out (Logout sent); logons refused until a "
                      "logon command")
    logout = client.wait_admin(lambda m: m[35] == "5")
    assert logout[58] == "logged out by the operator"
    client.send("5", [])
    assert client.wait_closed()
    until(lambda: published_state(gateway, "client:CLIENT1") == "logged_out_by_operator",
          "the status says logged out by the operator")

    refused = RawFixClient(settings.file.fix_clients[0].port)
    refused.connect()
    refused.send("A", [(98, "0"), (108, "30"), (141, "Y")])
    assert refused.wait_closed(), "a logon was taken while the session was logged out"
    assert refused.admin.empty(), "a refused logon was answered"

    again = operate(db_engine, "fix_logon", {"session": "client:CLIENT1"}, "morning")
    assert again == "FIX.4.4:OMS->CLIENT1 logons allowed again: the client may log on"
    back = RawFixClient(settings.file.fix_clients[0].port)
    assert back.logon(reset=True)[35] == "A"
    back.drop()


def test_a_reset_client_session_starts_again_at_one(
    gateway: Any, client: RawFixClient, db_engine: Engine
) -> None:
    for _ in range(3):
        client.send("0", [])
    until(lambda: gateway_session(CLIENT_KEY).getExpectedTargetNum() == 5, "heartbeats taken")
    result = operate(db_engine, "fix_reset", {"session": "client:CLIENT1"}, "agreed reset")
    assert result == ("FIX.4.4:OMS->CLIENT1 reset: Logout sent, next sender and target "
                      "MsgSeqNum 1; the client's next Logon is expected at MsgSeqNum 1")
    assert watermark(db_engine, "client:CLIENT1") == 0
    assert client.wait_admin(lambda m: m[35] == "5")
    assert client.wait_closed()
    client.next_out, client.next_in = 1, 1  # the client resets too, without 141=Y
    answer = client.logon()
    assert (answer[35], answer[34]) == ("A", "1")
    assert 141 not in answer
    assert client.errors == []


# -- venue session ------------------------------------------------------------------------


def test_a_reset_venue_session_logs_on_again_with_reset_seq_num_flag_at_one(
    gateway: Any, db_engine: Engine, settings: Settings, trader: Strategy
) -> None:
    before = len(venue_received(settings))
    result = operate(db_engine, "fix_reset", {"session": "venue:SIM"}, "venue asked for it")
    assert result == ("FIX.4.4:OMS->SIM reset: Logout sent, next sender and target MsgSeqNum "
                      "1; the gateway logs on again with ResetSeqNumFlag (141=Y) at 1")

    def logon_after_reset() -> Fields | None:
        return next((m for m in venue_received(settings)[before:] if m[35] == "A"), None)

    logon = until(logon_after_reset, "a new Logon at the venue")
    assert (logon[34], logon[141]) == ("1", "Y")
    seen = [m[35] for m in venue_received(settings)[before:]]
    assert seen.index("5") < seen.index("A"), seen  # logged out first
    until(lambda: gateway.sender.is_logged_on("SIM"), "the venue session logged on again")
    assert not gateway_session(VENUE_KEY).getResetOnLogon()  # back to its own setting
    assert (watermark(db_engine, "venue:SIM") or 0) <= 1
    order = f"reset-{uuid.uuid4().hex[:8]}"
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "10", "9.10")
    trader.wait_for(lambda e: e.get("cl_ord_id") == order and e["exec_type"] == "new")


def test_a_venue_logged_out_given_a_next_sender_number_logs_on_with_it(
    gateway: Any, db_engine: Engine, settings: Settings, trader: Strategy
) -> None:
    """The way the runbook says to move our numbers: logout, set, logon. (On a logged-on
    session the venue asks for the gap, and the gateway fills it: the first message after the
    jump would be lost to the venue.)"""
    operate(db_engine, "fix_logout", {"session": "venue:SIM"}, "move our numbers")
    until(lambda: not gateway.sender.is_logged_on("SIM"), "the venue session logged out")
    current = gateway_session(VENUE_KEY).getExpectedSenderNum()
    wanted = current + 100
    result = operate(db_engine, "fix_set_next_sender", {"session": "venue:SIM", "seq": wanted})
    assert result == f"FIX.4.4:OMS->SIM next sender MsgSeqNum set to {wanted} (was {current})"
    until(lambda: gateway_session(VENUE_KEY).getExpectedSenderNum() == wanted, "applied")
    before = len(venue_received(settings))
    operate(db_engine, "fix_logon", {"session": "venue:SIM"}, "numbers moved")
    until(lambda: gateway.sender.is_logged_on("SIM"), "the venue session logged on again")
    logon = venue_received(settings)[before]
    assert (logon[35], logon[34]) == ("A", str(wanted))
    order = f"seq-{uuid.uuid4().hex[:8]}"
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "10", "9.11")
    trader.wait_for(lambda e: e.get("cl_ord_id") == order and e["exec_type"] == "new")
    sent = next(m for m in venue_received(settings)[before:] if m.get(11) and m[35] == "D")
    assert int(sent[34]) > wanted


def test_a_logged_out_venue_stays_out_until_an_operator_logs_it_on(
    gateway: Any, db_engine: Engine, settings: Settings, trader: Strategy
) -> None:
    before = len(venue_received(settings))
    result = operate(db_engine, "fix_logout", {"session": "venue:SIM"}, "venue maintenance")
    assert result == ("FIX.4.4:OMS->SIM logged out (Logout sent); logons refused until a logon "
                      "command")
    until(lambda: not gateway.sender.is_logged_on("SIM"), "the venue session logged out")
    logout = next(m for m in venue_received(settings)[before:] if m[35] == "5")
    assert logout[58] == "logged out by the operator"
    until(lambda: published_state(gateway, "venue:SIM") == "logged_out_by_operator",
          "the status says logged out by the operator")
    order = f"down-{uuid.uuid4().hex[:8]}"
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "10", "9.12")
    rejected = trader.wait_for(lambda e: e.get("cl_ord_id") == order)
    assert rejected["exec_type"] == "rejected" and "not connected" in rejected["text"]

    result = operate(db_engine, "fix_logon", {"session": "venue:SIM"}, "maintenance over")
    assert result == ("FIX.4.4:OMS->SIM logons allowed again: the gateway logs on at its next "
                      "attempt")
    until(lambda: gateway.sender.is_logged_on("SIM"), "the venue session logged on again")


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "payload", "refusal"), [
    ("fix_logout", {"session": "venue:NOPE"},
     "refused: unknown session 'venue:NOPE' (this gateway has: venue:SIM, client:CLIENT1)"),
    ("fix_set_next_sender", {"session": "venue:SIM", "seq": 0},
     "refused: malformed fix_set_next_sender payload (seq must be from 1 to 2147483647, not 0)"),
    ("fix_set_next_target", {"session": "client:CLIENT1"},
     "refused: malformed fix_set_next_target payload (seq must be a whole number, not None)"),
    ("fix_reset", {"session": "SIM"},
     "refused: malformed fix_reset payload (session must be venue:<venue> or client:<session>, "
     "not 'SIM')"),
])
def test_a_session_command_that_cannot_apply_is_refused_with_the_reason(
    gateway: Any, db_engine: Engine, kind: str, payload: dict[str, Any], refusal: str
) -> None:
    assert operate(db_engine, kind, payload) == refusal


def test_a_session_command_taken_after_its_validity_is_refused_as_expired(
    gateway: Any, db_engine: Engine
) -> None:
    stale = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    result = operate(db_engine, "fix_reset", {"session": "venue:SIM", "valid_until": stale})
    assert result.startswith("refused: expired")
    assert gateway.sender.is_logged_on("SIM")


# -- the `oms fix` commands ------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_env(gateway: Any, settings: Settings, database_url: str,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of an operator's shell: the same settings file sessions, this database."""
    config = tmp_path_factory.mktemp("cli") / "oms.toml"
    write_settings_file(config, data_dir=Path(settings.file.engine.data_dir))
    return os.environ | {"OMS_CONFIG": str(config), "OMS_DATABASE_URL": database_url}


def oms_fix(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oms.cli", "fix", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_oms_fix_set_seq_sets_both_numbers_and_prints_the_gateway_result(
    gateway: Any, cli_env: dict[str, str], db_engine: Engine
) -> None:
    done = oms_fix(cli_env, "set-seq", "--session", "client:CLIENT1", "--next-sender", "30",
                   "--next-target", "20", "--reason", "agreed with CLIENT1 by phone",
                   "--operator", "carol")
    assert done.returncode == 0, done.stderr
    assert "next sender MsgSeqNum set to 30" in done.stdout
    assert "next target MsgSeqNum set to 20" in done.stdout
    session = gateway_session(CLIENT_KEY)
    until(lambda: (session.getExpectedSenderNum(), session.getExpectedTargetNum()) == (30, 20),
          "both numbers applied")
    assert watermark(db_engine, "client:CLIENT1") == 19
    with db_engine.connect() as conn:
        audited = conn.execute(text(
            "SELECT action, target, reason FROM operator_audit WHERE username = 'carol' "
            "ORDER BY id")).all()
    assert [tuple(a) for a in audited] == [
        ("fix_set_next_sender", "client:CLIENT1", "agreed with CLIENT1 by phone"),
        ("fix_set_next_target", "client:CLIENT1", "agreed with CLIENT1 by phone")]


def test_oms_fix_logout_logon_and_reset_act_on_the_running_gateway(
    gateway: Any, cli_env: dict[str, str], settings: Settings
) -> None:
    out = oms_fix(cli_env, "logout", "--session", "venue:SIM", "--reason", "cli drill", "--yes")
    assert out.returncode == 0, out.stderr
    assert "FIX.4.4:OMS->SIM logged out (Logout sent)" in out.stdout
    until(lambda: not gateway.sender.is_logged_on("SIM"), "the venue logged out")
    on = oms_fix(cli_env, "logon", "--session", "venue:SIM", "--reason", "cli drill over")
    assert on.returncode == 0 and "logons allowed again" in on.stdout, on.stderr
    until(lambda: gateway.sender.is_logged_on("SIM"), "the venue logged on again")
    before = len(venue_received(settings))
    reset = oms_fix(cli_env, "reset", "--session", "venue:SIM", "--reason", "cli reset", "--yes")
    assert reset.returncode == 0 and "FIX.4.4:OMS->SIM reset" in reset.stdout, reset.stderr
    logon = until(lambda: next((m for m in venue_received(settings)[before:] if m[35] == "A"),
                               None), "the reset Logon")
    assert (logon[34], logon[141]) == ("1", "Y")
    until(lambda: gateway.sender.is_logged_on("SIM"), "the venue logged on after the reset")


def test_oms_fix_refuses_an_unknown_session_before_issuing_anything(
    gateway: Any, cli_env: dict[str, str], db_engine: Engine
) -> None:
    before = count_commands(db_engine)
    done = oms_fix(cli_env, "logon", "--session", "venue:NOPE", "--reason", "typo")
    assert done.returncode == 1
    assert "unknown FIX session 'venue:NOPE': known are venue:SIM, client:CLIENT1" in done.stderr
    assert count_commands(db_engine) == before


def count_commands(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM operator_commands")).scalar_one())
