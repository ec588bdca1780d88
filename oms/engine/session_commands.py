"""Operator commands on one FIX session of a running gateway: set its next sender or target
MsgSeqNum, log it out or on, reset it.

Sessions are named as everywhere in the OMS: ``venue:<venue name>`` and ``client:<session
name>``. Each operation is its own command kind (``fix_set_next_sender``, ``fix_set_next_target``,
``fix_logout``, ``fix_logon``, ``fix_reset``), so the audit log says what was done; the payload is
``{"session": ..., "seq": n (set only), "valid_until": ISO time}``.

The core checks the command, records in its batch the inbound watermark the operation implies
(the next target number - 1, or 0 for a reset: a restart rewinds the FIX engine to the
watermark + 1, and must not undo the operation) and the result, and only after that batch has
committed carries the operation out on the session (durable before visible), through the
``SessionPort`` (``oms.engine.ports``). A command not taken by ``valid_until`` (issued while the
gateway was down) is refused: it was meant for the session as it was then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from oms.engine.batch import Batch
from oms.engine.inputs import OperatorCommandReceived

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)

SESSION_PREFIXES = ("venue:", "client:")
MAX_SEQ = 2_147_483_647
"""MsgSeqNum is a FIX SeqNum (a positive int); the FIX engine keeps it in its store as text."""
VALIDITY = timedelta(minutes=2)
"""How long an issued operation may wait for the gateway before it is refused as expired."""
OPERATOR_LOGGED_OUT = "logged_out_by_operator"
"""The state the gateway publishes for a session an operator logged out (logons refused)."""


class SessionAction(StrEnum):
    SET_NEXT_SENDER = "set_next_sender"
    SET_NEXT_TARGET = "set_next_target"
    LOGOUT = "logout"
    LOGON = "logon"
    RESET = "reset"

    @property
    def kind(self) -> str:
        """The operator command kind (and audit action) of this operation."""
        return f"fix_{self.value}"

    @property
    def takes_seq(self) -> bool:
        return self in (SessionAction.SET_NEXT_SENDER, SessionAction.SET_NEXT_TARGET)


SESSION_KINDS: dict[str, SessionAction] = {a.kind: a for a in SessionAction}


@dataclass(frozen=True, slots=True)
class SessionOperation:
    """One operation on one session, checked: a known kind, a session name of the right form,
    a MsgSeqNum from 1 to ``MAX_SEQ`` for the set operations (and only for them)."""

    session: str
    action: SessionAction
    seq: int | None = None
    valid_until: datetime | None = None

    def __post_init__(self) -> None:
        prefix, _, name = self.session.partition(":")
        if f"{prefix}:" not in SESSION_PREFIXES or not name:
            raise ValueError(
                f"session must be venue:<venue> or client:<session>, not {self.session!r}")
        if self.action.takes_seq:
            if not isinstance(self.seq, int) or isinstance(self.seq, bool):
                raise ValueError(f"seq must be a whole number, not {self.seq!r}")
            if not 1 <= self.seq <= MAX_SEQ:
                raise ValueError(f"seq must be from 1 to {MAX_SEQ}, not {self.seq}")
        elif self.seq is not None:
            raise ValueError(f"{self.action.kind} takes no seq")
        if self.valid_until is not None and self.valid_until.tzinfo is None:
            raise ValueError("valid_until must carry its time zone")

    @classmethod
    def issued(cls, session: str, action: SessionAction, seq: int | None,
               now: datetime) -> SessionOperation:
        """An operation issued at ``now``, valid for ``VALIDITY``."""
        return cls(session, action, seq, now + VALIDITY)

    @classmethod
    def of(cls, kind: str, payload: Mapping[str, Any]) -> SessionOperation:
        """The operation a command row holds; ``ValueError`` naming what is wrong."""
        action = SESSION_KINDS.get(kind)
        if action is None:
            raise ValueError(f"{kind!r} is not a FIX session command")
        unknown = set(payload) - {"session", "seq", "valid_until"}
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}")
        session = payload.get("session")
        if not isinstance(session, str):
            raise ValueError("session is missing")
        until = payload.get("valid_until")
        if until is not None and not isinstance(until, str):
            raise ValueError(f"valid_until must be an ISO time, not {until!r}")
        return cls(session, action, payload.get("seq"),
                   datetime.fromisoformat(until) if until is not None else None)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"session": self.session}
        if self.seq is not None:
            body["seq"] = self.seq
        if self.valid_until is not None:
            body["valid_until"] = self.valid_until.isoformat()
        return body

    @property
    def kind(self) -> str:
        return self.action.kind

    @property
    def watermark(self) -> int | None:
        """The inbound watermark to commit with the operation, so a restart keeps it."""
        if self.action is SessionAction.SET_NEXT_TARGET:
            assert self.seq is not None
            return self.seq - 1
        if self.action is SessionAction.RESET:
            return 0
        return None

    def describe(self) -> str:
        """What the operator asks, in words (for confirmations and the CLI)."""
        what = {
            SessionAction.SET_NEXT_SENDER: f"set the next sender MsgSeqNum of {self.session} "
                                           f"to {self.seq}",
            SessionAction.SET_NEXT_TARGET: f"set the next target MsgSeqNum of {self.session} "
                                           f"to {self.seq}",
            SessionAction.LOGOUT: f"log {self.session} out",
            SessionAction.LOGON: f"log {self.session} on",
            SessionAction.RESET: f"reset {self.session}",
        }
        return what[self.action]


class SessionRefused(Exception):  # noqa: N818 - the name says what happened
    """The session cannot take the operation; the message says why."""


@dataclass(frozen=True, slots=True)
class SessionChange:
    """An operation checked by the port: its result text, and the call that carries it out
    (after the commit)."""

    text: str
    apply: Callable[[], None]


def apply_session_command(h: Handlers, batch: Batch, command: OperatorCommandReceived) -> str:
    """The result of a FIX session command; a malformed payload raises ``ValueError``."""
    operation = SessionOperation.of(command.kind, command.payload)
    if operation.valid_until is not None and batch.now > operation.valid_until:
        return (f"refused: expired: it was to be applied by {operation.valid_until:%H:%M:%S} "
                f"UTC and the gateway took it at {batch.now:%H:%M:%S} (was the gateway down?); "
                f"issue it again if it is still wanted")
    port = h.ctx.session_control
    if port is None:
        return "refused: this gateway has no FIX session control"
    try:
        change = port.prepare(operation)
    except SessionRefused as exc:
        return f"refused: {exc}"
    if operation.watermark is not None:
        batch.watermarks[operation.session] = operation.watermark
    store = h.ctx.store

    def carry_out() -> None:
        try:
            change.apply()
        except Exception as exc:  # the operator must see it: the row said it was done
            log.exception("operator command %d (%s) not carried out", command.command_id,
                          command.kind)
            store.mark_command_processed(command.command_id,
                                         f"{change.text}; NOT CARRIED OUT: {exc}", batch.now)

    batch.after_commit.append(carry_out)
    return change.text
