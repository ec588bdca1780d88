"""The quickfix side of the simulator: crack each message by MsgType into an exchange request,
and turn the exchange's reports into FIX messages for the session that owns the order.

Thin on purpose. quickfix's Python binding exits the process when a callback raises anything
but the FIX exceptions it knows (FieldNotFound, IncorrectTagValue, UnsupportedMessageType...),
so every callback here catches and logs the rest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import quickfix as fix

from fix_gateway.venue_sim.behaviours import Behaviours
from fix_gateway.venue_sim.exchange import Request
from fix_gateway.venue_sim.fix_codec import (
    FixMessage,
    decode_cancel,
    decode_new_order,
    decode_replace,
    decode_status_request,
    encode_cancel_reject,
    encode_execution_report,
)
from fix_gateway.venue_sim.model import ExecutionReport, Owner, Report
from fix_gateway.venue_sim.session_config import SessionSpec

log = logging.getLogger(__name__)

Decoder = Callable[[FixMessage, Owner], Request]
_DECODERS: dict[str, Decoder] = {
    "D": decode_new_order,
    "F": decode_cancel,
    "G": decode_replace,
    "H": decode_status_request,
}
_FIX_ERRORS = (fix.FieldNotFound, fix.IncorrectTagValue, fix.IncorrectDataFormat)


class ReportSender:
    """Encodes a report in its session's FIX version and sends it to that session."""

    def __init__(self, sessions: Sequence[SessionSpec]) -> None:
        self._targets: dict[str, tuple[Any, bool]] = {
            spec.key: (spec.session_id(), spec.begin_string == "FIX.4.2") for spec in sessions
        }

    def __call__(self, report: Report) -> None:
        target = self._targets.get(report.owner) if report.owner is not None else None
        if target is None:
            log.warning("report for unknown session %r dropped", report.owner)
            return
        session_id, fix42 = target
        if isinstance(report, ExecutionReport):
            msg = encode_execution_report(report, fix42)
        else:
            msg = encode_cancel_reject(report, fix42)
        try:
            fix.Session.sendToTarget(msg, session_id)
        except fix.SessionNotFound:
            log.warning("session %s not found; report %s dropped", report.owner, report)


class VenueApplication(fix.Application):  # type: ignore[misc]  # quickfix has no stubs
    def __init__(
        self,
        handle: Callable[[Request], None],
        behaviours: Behaviours | None = None,
        call_in_order: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        super().__init__()
        self._handle = handle
        self._call_in_order = call_in_order or (lambda callback: callback())
        self._disconnect_after = (behaviours or Behaviours()).disconnect_after_messages
        self._received: dict[str, int] = {}
        self._logged_on: set[str] = set()
        self._forced_out: set[str] = set()
        self._state_lock = threading.Lock()

    # -- session events (never touch the exchange: quickfix may hold a session lock) ---------

    def onCreate(self, sessionID: Any) -> None:  # noqa: N802, N803 - quickfix's names
        pass

    def onLogon(self, sessionID: Any) -> None:  # noqa: N802, N803
        try:
            key = sessionID.toString()
            with self._state_lock:
                self._received[key] = 0
                self._logged_on.add(key)
            log.info("session %s logged on", key)
        except Exception:
            log.exception("onLogon failed")

    def onLogout(self, sessionID: Any) -> None:  # noqa: N802, N803
        try:
            key = sessionID.toString()
            with self._state_lock:
                self._logged_on.discard(key)
                forced = key in self._forced_out
                self._forced_out.discard(key)
            log.info("session %s logged out", key)
            if forced:
                # logout() disabled the session; enable it again so that the peer can return.
                session = fix.Session.lookupSession(sessionID)
                if session is not None:
                    session.logon()
        except Exception:
            log.exception("onLogout failed")

    def toAdmin(self, message: Any, sessionID: Any) -> None:  # noqa: N802, N803
        pass

    def fromAdmin(self, message: Any, sessionID: Any) -> None:  # noqa: N802, N803
        pass

    def toApp(self, message: Any, sessionID: Any) -> None:  # noqa: N802, N803
        pass

    # -- application messages --------------------------------------------------------------

    def fromApp(self, message: Any, sessionID: Any) -> None:  # noqa: N802, N803
        msg_type = message.getHeader().getField(35)
        decode = _DECODERS.get(msg_type)
        if decode is None:
            raise fix.UnsupportedMessageType()
        try:
            key = sessionID.toString()
            request = decode(message, key)
        except _FIX_ERRORS:
            raise
        except Exception:
            log.exception("cannot decode %s message", msg_type)
            return
        try:
            self._handle(request)
        except Exception:
            log.exception("handling %s from %s failed", msg_type, key)
        if self._disconnect_after is not None:
            self._count_and_maybe_disconnect(key, sessionID)

    def _count_and_maybe_disconnect(self, key: str, session_id: Any) -> None:
        assert self._disconnect_after is not None
        with self._state_lock:
            count = self._received.get(key, 0) + 1
            self._received[key] = count
        if count == self._disconnect_after:
            # Log out after the reports for this message have been sent.
            self._call_in_order(lambda: self._logout(key, session_id, count))

    def _logout(self, key: str, session_id: Any, count: int) -> None:
        try:
            session = fix.Session.lookupSession(session_id)
            if session is not None:
                with self._state_lock:
                    self._forced_out.add(key)
                log.info("logging out %s after %d messages (injected)", key, count)
                session.logout(f"disconnect after {count} messages (injected)")
        except Exception:
            log.exception("injected logout of %s failed", key)

    def logged_on(self) -> frozenset[str]:
        with self._state_lock:
            return frozenset(self._logged_on)
