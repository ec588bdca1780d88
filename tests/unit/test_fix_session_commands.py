"""FIX session commands as the core reads them: one kind per operation, a session named
``venue:<name>`` or ``client:<name>``, a MsgSeqNum from 1 for the set operations only, and a
validity. A malformed payload is refused with the reason; a valid one records the inbound
watermark the operation implies and is carried out only after the commit."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oms.engine.batch import Batch
from oms.engine.inputs import OperatorCommandReceived
from oms.engine.operator_commands import apply_operator_command
from oms.engine.session_commands import (
    MAX_SEQ,
    SESSION_KINDS,
    VALIDITY,
    SessionAction,
    SessionChange,
    SessionOperation,
    SessionRefused,
)

NOW = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)


class FakePort:
    """A session port that says what it was asked (pure unit tests only)."""

    def __init__(self, refusal: str | None = None, failure: Exception | None = None) -> None:
        self.refusal, self.failure = refusal, failure
        self.prepared: list[SessionOperation] = []
        self.applied: list[SessionOperation] = []

    def prepare(self, operation: SessionOperation) -> SessionChange:
        if self.refusal:
            raise SessionRefused(self.refusal)
        self.prepared.append(operation)
        return SessionChange(f"{operation.describe()}: done", lambda: self._apply(operation))

    def _apply(self, operation: SessionOperation) -> None:
        if self.failure is not None:
            raise self.failure
        self.applied.append(operation)


class RecordingStore:
    """Records the operator command results written outside a batch."""

    def __init__(self) -> None:
        self.marked: list[tuple[int, str, datetime]] = []

    def mark_command_processed(self, command_id: int, result: str, at: datetime) -> None:
        self.marked.append((command_id, result, at))


def handlers(port: FakePort | None, store: RecordingStore | None = None) -> Any:
    return SimpleNamespace(ctx=SimpleNamespace(session_control=port, store=store))


def command(kind: str, payload: dict[str, Any], command_id: int = 7) -> OperatorCommandReceived:
    return OperatorCommandReceived(command_id=command_id, kind=kind, payload=payload,
                                   issued_by="alice", reason="agreed by phone")


def run(h: Any, cmd: OperatorCommandReceived) -> tuple[Batch, str]:
    batch = Batch(now=NOW)
    apply_operator_command(h, batch, cmd)
    [(command_id, result)] = batch.operator_results
    assert command_id == cmd.command_id
    return batch, result


# -- reading the payload ------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "payload", "expected"), [
    ("fix_set_next_sender", {"session": "venue:SIM", "seq": 42},
     SessionOperation("venue:SIM", SessionAction.SET_NEXT_SENDER, 42)),
    ("fix_set_next_target", {"session": "client:CLIENT1", "seq": 1},
     SessionOperation("client:CLIENT1", SessionAction.SET_NEXT_TARGET, 1)),
    ("fix_logout", {"session": "venue:SIM"}, SessionOperation("venue:SIM", SessionAction.LOGOUT)),
    ("fix_logon", {"session": "client:C42"}, SessionOperation("client:C42", SessionAction.LOGON)),
    ("fix_reset", {"session": "venue:SIM", "valid_until": "2026-12-03T14:32:00+00:00"},
     SessionOperation("venue:SIM", SessionAction.RESET, None,
                      datetime(2026, 12, 3, 14, 32, tzinfo=UTC))),
])
def test_each_operation_is_read_from_its_kind_and_payload(
    kind: str, payload: dict[str, Any], expected: SessionOperation
) -> None:
    assert SessionOperation.of(kind, payload) == expected


@pytest.mark.parametrize(("kind", "payload", "reason"), [
    ("fix_logon", {}, "session is missing"),
    ("fix_logon", {"session": 7}, "session is missing"),
    ("fix_logon", {"session": "SIM"}, "session must be venue:<venue> or client:<session>"),
    ("fix_logon", {"session": "venue:"}, "session must be venue:<venue> or client:<session>"),
    ("fix_logon", {"session": "exchange:SIM"}, "session must be venue:<venue>"),
    ("fix_set_next_sender", {"session": "venue:SIM"}, "seq must be a whole number, not None"),
    ("fix_set_next_sender", {"session": "venue:SIM", "seq": "42"}, "seq must be a whole number"),
    ("fix_set_next_sender", {"session": "venue:SIM", "seq": 4.0}, "seq must be a whole number"),
    ("fix_set_next_sender", {"session": "venue:SIM", "seq": True}, "seq must be a whole number"),
    ("fix_set_next_target", {"session": "venue:SIM", "seq": 0}, "seq must be from 1 to"),
    ("fix_set_next_target", {"session": "venue:SIM", "seq": -3}, "seq must be from 1 to"),
    ("fix_set_next_target", {"session": "venue:SIM", "seq": MAX_SEQ + 1}, "seq must be from 1"),
    ("fix_logout", {"session": "venue:SIM", "seq": 3}, "fix_logout takes no seq"),
    ("fix_reset", {"session": "venue:SIM", "force": True}, "unknown field(s) force"),
    ("fix_reset", {"session": "venue:SIM", "valid_until": 5}, "valid_until must be an ISO"),
    ("fix_reset", {"session": "venue:SIM", "valid_until": "soon"}, "Invalid isoformat"),
    ("fix_reset", {"session": "venue:SIM", "valid_until": "2026-12-03T14:32:00"},
     "valid_until must carry its time zone"),
])
def test_a_malformed_payload_is_refused_with_the_reason(
    kind: str, payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        SessionOperation.of(kind, payload)
    _, result = run(handlers(FakePort()), command(kind, payload))
    assert result.startswith(f"refused: malformed {kind} payload (")
    assert reason in result


@given(seq=st.integers(min_value=-(2**40), max_value=2**40),
       action=st.sampled_from([SessionAction.SET_NEXT_SENDER, SessionAction.SET_NEXT_TARGET]))
def test_a_set_operation_takes_exactly_the_numbers_from_1_to_the_largest_seq_num(
    seq: int, action: SessionAction
) -> None:
    payload = {"session": "venue:SIM", "seq": seq}
    if 1 <= seq <= MAX_SEQ:
        operation = SessionOperation.of(action.kind, payload)
        assert operation.seq == seq
        assert SessionOperation.of(action.kind, operation.payload()) == operation
    else:
        with pytest.raises(ValueError, match="seq must be from 1 to"):
            SessionOperation.of(action.kind, payload)


@given(action=st.sampled_from(list(SessionAction)),
       name=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=1, max_size=20),
       prefix=st.sampled_from(["venue:", "client:"]))
def test_an_issued_operation_reads_back_as_itself(
    action: SessionAction, name: str, prefix: str
) -> None:
    operation = SessionOperation.issued(prefix + name, action, 9 if action.takes_seq else None,
                                        NOW)
    assert operation.valid_until == NOW + VALIDITY
    assert SessionOperation.of(operation.kind, operation.payload()) == operation


def test_every_operation_has_its_own_command_kind() -> None:
    assert sorted(SESSION_KINDS) == ["fix_logon", "fix_logout", "fix_reset",
                                     "fix_set_next_sender", "fix_set_next_target"]
    with pytest.raises(ValueError, match="'fix_explode' is not a FIX session command"):
        SessionOperation.of("fix_explode", {"session": "venue:SIM"})
    _, result = run(handlers(FakePort()), command("fix_explode", {"session": "venue:SIM"}))
    assert result == "refused: unknown command kind 'fix_explode'"


# -- the watermark the operation implies -----------------------------------------------------


@pytest.mark.parametrize(("operation", "watermark"), [
    (SessionOperation("client:CLIENT1", SessionAction.SET_NEXT_TARGET, 42), 41),
    (SessionOperation("venue:SIM", SessionAction.SET_NEXT_TARGET, 1), 0),
    (SessionOperation("venue:SIM", SessionAction.RESET), 0),
    (SessionOperation("venue:SIM", SessionAction.SET_NEXT_SENDER, 42), None),
    (SessionOperation("venue:SIM", SessionAction.LOGOUT), None),
    (SessionOperation("venue:SIM", SessionAction.LOGON), None),
])
def test_the_operations_that_move_the_inbound_number_commit_its_watermark(
    operation: SessionOperation, watermark: int | None
) -> None:
    assert operation.watermark == watermark
    port = FakePort()
    batch, result = run(handlers(port), command(operation.kind, operation.payload()))
    assert result == f"{operation.describe()}: done"
    expected = {} if watermark is None else {operation.session: watermark}
    assert batch.watermarks == expected
    assert port.applied == []  # nothing happens before the commit
    for effect in batch.after_commit:
        effect()
    assert port.applied == [operation]


# -- refusals -----------------------------------------------------------------------------


def test_an_operation_the_session_cannot_take_is_refused_with_the_port_reason() -> None:
    port = FakePort(refusal="unknown session 'venue:NOPE' (this gateway has: venue:SIM)")
    batch, result = run(handlers(port), command("fix_logon", {"session": "venue:NOPE"}))
    assert result == "refused: unknown session 'venue:NOPE' (this gateway has: venue:SIM)"
    assert batch.watermarks == {} and batch.after_commit == []


def test_a_gateway_without_session_control_refuses() -> None:
    _, result = run(handlers(None), command("fix_reset", {"session": "venue:SIM"}))
    assert result == "refused: this gateway has no FIX session control"


def test_an_operation_taken_after_its_validity_is_refused_as_expired() -> None:
    port = FakePort()
    late = (NOW - timedelta(seconds=1)).isoformat()
    batch, result = run(handlers(port), command(
        "fix_reset", {"session": "venue:SIM", "valid_until": late}))
    assert result.startswith("refused: expired: it was to be applied by 14:29:59 UTC")
    assert port.prepared == [] and batch.watermarks == {} and batch.after_commit == []


def test_an_operation_within_its_validity_is_applied() -> None:
    port = FakePort()
    _, result = run(handlers(port), command(
        "fix_reset", {"session": "venue:SIM", "valid_until": NOW.isoformat()}))
    assert not result.startswith("refused")


def test_an_operation_that_fails_after_the_commit_says_so_on_its_command_row() -> None:
    store = RecordingStore()
    port = FakePort(failure=OSError("store not writable"))
    batch, result = run(handlers(port, store), command(
        "fix_set_next_sender", {"session": "venue:SIM", "seq": 5}, command_id=31))
    effects: list[Callable[[], None]] = batch.after_commit
    for effect in effects:
        effect()
    assert store.marked == [(31, f"{result}; NOT CARRIED OUT: store not writable", NOW)]
