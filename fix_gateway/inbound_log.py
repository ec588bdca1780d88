"""quickfix's file log for FIX sessions (clients and venues), with a look at the raw text of each
incoming application message of a strict session.

quickfix hands its ``Log`` every message it receives just before it parses it (on the session's
thread, then ``fromApp`` runs on the same thread): the only place where the fields are still in
the order the counterparty sent them. ``InboundChecks`` keeps, per session and MsgSeqNum, what
is wrong with that order (``group_order``); ``ClientApplication.fromApp`` and
``VenueApplication.fromApp`` take it and answer with a session Reject (35=3, 373=15) instead of
passing the message on. Cost: one Python call per message of a
strict session, and a regular-expression search per application message; a message is parsed
only if it carries a repeating group. Lenient sessions get quickfix's plain file log.

The log and its factory are quickfix directors: an exception raised into quickfix from one of
their methods ends the process, so none leaves them. A checking log is handed to quickfix
(``__disown__``); when quickfix is done with it, its file log is released and the small wrapper
is left (once per session, when the acceptor is destroyed).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import quickfix as fix

from fix_gateway.group_order import GroupLayouts, OutOfOrder
from fix_gateway.session_settings import SessionKey, data_dictionary
from oms.settings import FixSessionSettings

log = logging.getLogger(__name__)

SESSION_MESSAGES = frozenset({"0", "1", "2", "3", "4", "5", "A"})
_MSG_TYPE = re.compile("\x0135=([^\x01]*)\x01")
_MSG_SEQ_NUM = re.compile("\x0134=([0-9]+)\x01")
_KEPT_AT_MOST = 1000
"""Problems of messages quickfix refused for another reason are never taken: at most this many
are kept per session (a Logon clears them)."""


def inbound_checks(sessions: Iterable[tuple[SessionKey, FixSessionSettings]]) -> InboundChecks:
    """What is checked in the raw text of incoming messages: the group order, on strict
    sessions (each FIX version's dictionary read once)."""
    layouts: dict[str, GroupLayouts] = {}
    watched: dict[SessionKey, GroupLayouts] = {}
    for key, session in sessions:
        if session.validation != "strict":
            continue
        if session.begin_string not in layouts:
            layouts[session.begin_string] = GroupLayouts.from_file(
                Path(data_dictionary(session.begin_string)))
        watched[key] = layouts[session.begin_string]
    return InboundChecks(watched)


class InboundChecks:
    """The group-order problems of the messages received on strict sessions, until taken."""

    def __init__(self, layouts: Mapping[SessionKey, GroupLayouts]) -> None:
        self._layouts = dict(layouts)
        self._found: dict[SessionKey, dict[int, OutOfOrder]] = {k: {} for k in self._layouts}
        self._lock = threading.Lock()

    def watches(self, key: SessionKey) -> bool:
        return key in self._layouts

    def incoming(self, key: SessionKey, raw: str) -> None:
        """A message as received, before quickfix parses it."""
        layouts = self._layouts.get(key)
        msg_type = _MSG_TYPE.search(raw)
        if layouts is None or msg_type is None:
            return
        found = self._found[key]
        if msg_type.group(1) in SESSION_MESSAGES:
            if msg_type.group(1) == "A":  # sequence numbers may start again: forget the old
                with self._lock:
                    found.clear()
            return
        seq = _MSG_SEQ_NUM.search(raw)
        if seq is None:
            return
        problem = layouts.check(msg_type.group(1), raw)
        with self._lock:
            if problem is None:
                found.pop(int(seq.group(1)), None)
                return
            if len(found) >= _KEPT_AT_MOST:
                found.clear()
            found[int(seq.group(1))] = problem

    def take(self, key: SessionKey, seq: int) -> OutOfOrder | None:
        """The problem of message ``seq`` of session ``key`` (once), or None."""
        found = self._found.get(key)
        if found is None:
            return None
        with self._lock:
            return found.pop(seq, None)


def _safely(write: Callable[[str], Any], text: str) -> None:
    try:
        write(text)
    except Exception:  # text that is not UTF-8 comes as surrogates quickfix cannot take back
        try:
            write(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        except Exception:
            log.exception("FIX log: a line was not written")


class _CheckingLog(fix.Log):  # type: ignore[misc]
    """A strict session's log: the file log, and each incoming message shown to the checks."""

    def __init__(self, inner: Any, key: SessionKey, checks: InboundChecks) -> None:
        super().__init__()
        self.inner = inner
        self._key = key
        self._checks = checks

    def onIncoming(self, text: str) -> None:  # noqa: N802 - quickfix API
        try:
            self._checks.incoming(self._key, text)
        except Exception:
            log.exception("%s: incoming message not checked", self._key)
        _safely(self.inner.onIncoming, text)

    def onOutgoing(self, text: str) -> None:  # noqa: N802
        _safely(self.inner.onOutgoing, text)

    def onEvent(self, text: str) -> None:  # noqa: N802
        _safely(self.inner.onEvent, text)

    def clear(self) -> None:
        try:
            self.inner.clear()
        except Exception:
            log.exception("%s: log not cleared", self._key)

    def backup(self) -> None:
        try:
            self.inner.backup()
        except Exception:
            log.exception("%s: log not backed up", self._key)


class CheckingLogFactory(fix.LogFactory):  # type: ignore[misc]
    """quickfix's ``FileLogFactory`` for every session; for the sessions ``checks`` watches, the
    file log wrapped in a ``_CheckingLog``."""

    def __init__(self, settings: fix.SessionSettings, checks: InboundChecks) -> None:
        super().__init__()
        self._files = fix.FileLogFactory(settings)
        self._checks = checks
        self._alive: dict[int, _CheckingLog] = {}
        """Our logs by C++ address, to find the file log inside when quickfix is done."""

    def create(self, *args: Any) -> Any:
        if not args:
            return self._files.create()
        session_id = args[0]
        inner = self._files.create(session_id)
        try:
            key = SessionKey.of(session_id)
            if not self._checks.watches(key):
                return inner
            checking = _CheckingLog(inner, key, self._checks)
            checking.__disown__()  # owned by quickfix (else SWIG frees it twice)
            self._alive[int(checking.this)] = checking
            return checking
        except Exception:
            log.exception("FIX log: incoming messages of %s will not be checked",
                          session_id)
            return inner

    def destroy(self, created: Any) -> None:
        try:
            checking = self._alive.pop(int(created.this), None)
            self._files.destroy(checking.inner if checking is not None else created)
        except Exception:
            log.exception("FIX log not released")
