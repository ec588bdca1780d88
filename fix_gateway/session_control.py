"""Sequence operations on one running quickfix session, for operators (the core's
``SessionPort``, ``oms.engine.ports``; the composition root, ``oms.gateway``, builds it).

Sessions are ``venue:<name>`` (we initiate) and ``client:<name>`` (we accept). What each
operation does in quickfix 1.16 (``Session.h``, ``Session.cpp``):

- **set next sender / target**: ``setNextSenderMsgSeqNum`` / ``setNextTargetMsgSeqNum`` write
  the number to the session's store at once; nothing is sent. The next message we send carries
  the new MsgSeqNum; the next one we receive is checked against the new expected number
  (higher: we send a ResendRequest from the expected number; lower, without PossDupFlag: we
  send a Logout "MsgSeqNum too low" and disconnect).
- **logout**: ``logout(text)`` disables the session. At its next timer tick (each second) a
  logged-on session sends a Logout (58 = the text) and disconnects on the counterparty's
  Logout (or after 2 s). While disabled, an initiator does not reconnect and an acceptor drops
  any connection whose Logon arrives, without answering it ("Session is not enabled for
  logon").
- **logon**: ``logon()`` enables it again: an initiator connects at its next attempt
  (``reconnect_s``), an acceptor takes the next Logon.
- **reset**: ``reset()`` sends a Logout, disconnects and sets both numbers to 1 (the stored
  messages are dropped: a ResendRequest for an older number is answered with a gap fill). The
  session is also enabled again. An initiator's next Logon carries ResetSeqNumFlag (141=Y) at
  MsgSeqNum 1 only if one of the session's reset settings is on and both numbers are 1
  (``shouldSendReset``): ResetOnLogon is switched on until that logon succeeds, then back to
  the session's own setting (``watching``). An acceptor sends no Logon of its own: after a
  reset it expects the client's next Logon at MsgSeqNum 1 (with 141=Y or not) and answers at 1.

Each ``prepare`` checks the operation against the running session and returns its result text
and the call that carries it out; the core makes that call only after it has committed the
watermark the operation implies. Calls into quickfix release the GIL and are safe from the
commit thread (they take the session's own lock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import quickfix as fix

from fix_gateway.session_settings import SessionKey
from oms.engine.inputs import VenueSessionChanged
from oms.engine.session_commands import (
    OPERATOR_LOGGED_OUT,
    SessionAction,
    SessionChange,
    SessionOperation,
    SessionRefused,
)

log = logging.getLogger(__name__)

Sink = Callable[[object], None]
VENUE, CLIENT = "venue:", "client:"
LOGOUT_TEXT = "logged out by the operator"
"""Tag 58 of the Logout we send: the operator's reason stays in our audit log."""


class SessionControl:
    """``venues`` and ``clients`` map each session's name (without prefix) to its key."""

    def __init__(self, venues: Mapping[str, SessionKey],
                 clients: Mapping[str, SessionKey]) -> None:
        self._keys: dict[str, SessionKey] = {
            **{VENUE + name: key for name, key in venues.items()},
            **{CLIENT + name: key for name, key in clients.items()},
        }
        self._lock = threading.Lock()
        self._reset_logons: dict[str, bool] = {}
        """Venue sessions whose next Logon must carry 141=Y: their own ResetOnLogon setting."""

    def names(self) -> list[str]:
        return list(self._keys)

    # -- the core's port --------------------------------------------------------------------

    def prepare(self, operation: SessionOperation) -> SessionChange:
        session = operation.session
        key, qf = self._running(session)
        action = operation.action
        if action is SessionAction.SET_NEXT_SENDER:
            seq = _seq(operation)
            text = (f"{key} next sender MsgSeqNum set to {seq} "
                    f"(was {qf.getExpectedSenderNum()})")
            return SessionChange(text, lambda: self._set_next(session, seq, sender=True))
        if action is SessionAction.SET_NEXT_TARGET:
            seq = _seq(operation)
            text = (f"{key} next target MsgSeqNum set to {seq} "
                    f"(was {qf.getExpectedTargetNum()})")
            return SessionChange(text, lambda: self._set_next(session, seq, sender=False))
        if action is SessionAction.LOGOUT:
            return SessionChange(self._logout_text(key, qf), lambda: self._logout(session))
        if action is SessionAction.LOGON:
            return SessionChange(self._logon_text(key, qf), lambda: self._logon(session))
        return SessionChange(self._reset_text(session, key), lambda: self._reset(session))

    # -- for the gateway --------------------------------------------------------------------

    def watching(self, sink: Sink) -> Sink:
        """``sink`` for the venue application: once a venue session reset by an operator has
        logged on again (with 141=Y), its ResetOnLogon goes back to its own setting."""

        def observe(item: object) -> None:
            if isinstance(item, VenueSessionChanged) and item.logged_on:
                self._reset_logged_on(VENUE + item.venue)
            sink(item)

        return observe

    def state(self, session: str, logged_on: bool) -> str:
        """The state to publish: ``logged_on``, ``down``, or ``logged_out_by_operator``."""
        if logged_on:
            return "logged_on"
        key = self._keys.get(session)
        qf = fix.Session.lookupSession(key.session_id()) if key is not None else None
        if qf is not None and not qf.isEnabled():
            return OPERATOR_LOGGED_OUT
        return "down"

    # -- checks and texts -------------------------------------------------------------------

    def _running(self, session: str) -> tuple[SessionKey, Any]:
        key = self._keys.get(session)
        if key is None:
            known = ", ".join(self._keys) or "none"
            raise SessionRefused(f"unknown session {session!r} (this gateway has: {known})")
        qf = fix.Session.lookupSession(key.session_id())
        if qf is None:
            raise SessionRefused(f"{key} ({session}) is not running in this gateway")
        return key, qf

    @staticmethod
    def _logout_text(key: SessionKey, qf: Any) -> str:
        if not qf.isEnabled():
            return f"{key} was logged out by an operator already: logons stay refused"
        if qf.isLoggedOn():
            return f"{key} logged out (Logout sent); logons refused until a logon command"
        return f"{key} was not logged on; logons refused until a logon command"

    @staticmethod
    def _logon_text(key: SessionKey, qf: Any) -> str:
        if qf.isEnabled():
            return f"{key} takes logons already: nothing to change"
        if qf.isInitiator():
            return f"{key} logons allowed again: the gateway logs on at its next attempt"
        return f"{key} logons allowed again: the client may log on"

    def _reset_text(self, session: str, key: SessionKey) -> str:
        done = f"{key} reset: Logout sent, next sender and target MsgSeqNum 1"
        if session.startswith(VENUE):
            return f"{done}; the gateway logs on again with ResetSeqNumFlag (141=Y) at 1"
        return f"{done}; the client's next Logon is expected at MsgSeqNum 1"

    # -- carrying out (after the commit) -----------------------------------------------------

    def _set_next(self, session: str, seq: int, *, sender: bool) -> None:
        _, qf = self._running(session)
        self._cancel_reset_logon(session, qf)  # the numbers now are the operator's
        if sender:
            qf.setNextSenderMsgSeqNum(seq)
        else:
            qf.setNextTargetMsgSeqNum(seq)
        log.warning("%s: next %s MsgSeqNum set to %d by an operator", session,
                    "sender" if sender else "target", seq)

    def _logout(self, session: str) -> None:
        _, qf = self._running(session)
        qf.logout(LOGOUT_TEXT)
        log.warning("%s: logged out by an operator; logons refused until a logon command",
                    session)

    def _logon(self, session: str) -> None:
        _, qf = self._running(session)
        qf.logon()
        log.warning("%s: logons allowed again by an operator", session)

    def _reset(self, session: str) -> None:
        _, qf = self._running(session)
        if session.startswith(VENUE):
            with self._lock:
                self._reset_logons.setdefault(session, bool(qf.getResetOnLogon()))
            qf.setResetOnLogon(True)
        qf.reset()
        qf.logon()
        log.warning("%s: sequence numbers reset to 1 by an operator", session)

    def _reset_logged_on(self, session: str) -> None:
        with self._lock:
            own = self._reset_logons.pop(session, None)
        if own is None:
            return
        key = self._keys[session]
        qf = fix.Session.lookupSession(key.session_id())
        if qf is not None:
            qf.setResetOnLogon(own)
        log.info("%s: logged on again after its reset (141=Y)", session)

    def _cancel_reset_logon(self, session: str, qf: Any) -> None:
        with self._lock:
            own = self._reset_logons.pop(session, None)
        if own is not None:
            qf.setResetOnLogon(own)


def _seq(operation: SessionOperation) -> int:
    if operation.seq is None or operation.seq < 1:
        raise SessionRefused(f"a MsgSeqNum must be 1 or more, not {operation.seq}")
    return operation.seq
