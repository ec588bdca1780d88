"""Operator commands travel on a durable channel: a table plus LISTEN/NOTIFY."""

from __future__ import annotations

import queue
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from oms.engine.inputs import OperatorCommandReceived
from oms.store import operator_channel
from oms.store.models import OperatorAudit

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def _issue(engine: Engine, kind: str) -> int:
    with engine.begin() as conn:
        return operator_channel.issue_command(
            conn, kind=kind, payload={"account": "DEMO1"}, issued_by="alice",
            reason="testing", at=NOW, target="DEMO1",
        )


def test_a_command_issued_while_the_gateway_is_down_is_delivered_when_it_listens(
    db_engine: Engine, database_url: str
) -> None:
    waiting = _issue(db_engine, "cancel_all")
    received: queue.Queue[object] = queue.Queue()
    listener = operator_channel.OperatorCommandListener(database_url, received.put)
    listener.start()
    try:
        first = received.get(timeout=10)
        assert isinstance(first, OperatorCommandReceived) and first.command_id == waiting
        assert (first.kind, first.issued_by, first.reason) == ("cancel_all", "alice", "testing")
        live = _issue(db_engine, "kill_switch_trip")  # NOTIFY wakes the listener
        second = received.get(timeout=10)
        assert isinstance(second, OperatorCommandReceived) and second.command_id == live
    finally:
        listener.stop()


def test_every_command_is_audited_with_who_what_when_why(db_engine: Engine) -> None:
    command_id = _issue(db_engine, "breaker_reenable")
    with db_engine.connect() as conn:
        audit = conn.execute(
            select(operator_channel.AUDIT).where(OperatorAudit.action == "breaker_reenable")
        ).mappings().all()
    assert any(a["details"].get("command_id") == command_id and a["username"] == "alice"
               and a["reason"] == "testing" and a["at"] == NOW for a in audit)


def test_a_processed_command_is_not_delivered_again(db_engine: Engine, database_url: str) -> None:
    done = _issue(db_engine, "cancel_order")
    with db_engine.begin() as conn:
        operator_channel.mark_processed(conn, done, "ok", NOW)
    pending = _issue(db_engine, "cancel_order")
    received: queue.Queue[object] = queue.Queue()
    listener = operator_channel.OperatorCommandListener(database_url, received.put)
    listener.start()
    try:
        ids = []
        while True:
            try:
                item = received.get(timeout=2)
            except queue.Empty:
                break
            assert isinstance(item, OperatorCommandReceived)
            ids.append(item.command_id)
        assert done not in ids and pending in ids
    finally:
        listener.stop()
