"""A sequence number set by an operator survives a gateway restart: the core committed the
inbound watermark it implies before quickfix was told, and a restart rewinds quickfix to the
watermark + 1, so it must not undo the operation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import quickfix as fix
from sqlalchemy import Engine, text

from oms.settings import Settings
from oms.store.operator_channel import issue_command
from tests.support.client_stack import gateway_running, venue_running
from tests.support.isolation import TestVhost
from tests.support.raw_fix import RawFixClient
from tests.support.stack import test_settings

pytestmark = pytest.mark.e2e
CLIENT_ID = fix.SessionID("FIX.4.4", "OMS", "CLIENT1")


@pytest.fixture(scope="module")
def settings(database_url: str, amqp_vhost: TestVhost,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("session-ops-restart")
    return test_settings(database_url=database_url, amqp_url=amqp_vhost.url, data_dir=data_dir)


@pytest.fixture(scope="module")
def venue(settings: Settings) -> Iterator[object]:
    with venue_running(settings, Path(settings.file.engine.data_dir)) as sim:
        yield sim


def until(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def expected_target() -> int:
    session = fix.Session.lookupSession(CLIENT_ID)
    return -1 if session is None else int(session.getExpectedTargetNum())


def result_of(db: Engine, command_id: int) -> str | None:
    with db.connect() as conn:
        return conn.execute(text("SELECT result FROM operator_commands WHERE id = :i"),
                            {"i": command_id}).scalar_one()


def test_a_next_target_number_set_by_an_operator_is_kept_across_a_restart(
    settings: Settings, venue: object, db_engine: Engine, run_id: str
) -> None:
    client = RawFixClient(settings.file.fix_clients[0].port)
    prefix = f"oms_test_{run_id}_sessops_restart:"
    with gateway_running(settings, prefix):
        assert client.logon(reset=True)[35] == "A"
        for _ in range(5):
            client.send("0", [])
        until(lambda: expected_target() == 7, "the heartbeats taken")
        with db_engine.begin() as conn:
            command = issue_command(
                conn, kind="fix_set_next_target", payload={"session": "client:CLIENT1", "seq": 4},
                issued_by="alice", reason="client resends from 4", at=datetime.now(UTC),
                target="client:CLIENT1")
        until(lambda: result_of(db_engine, command) is not None, "the command applied")
        until(lambda: expected_target() == 4, "quickfix expects 4")
        client.drop()
    until(lambda: not any(t.name == "oms-core" for t in threading.enumerate()),
          "the first gateway stopped")
    with gateway_running(settings, prefix):
        assert expected_target() == 4  # not rewound to the watermark of the logon (2)
