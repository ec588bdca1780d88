"""quickfix Application for FIX client sessions (the gateway is the acceptor).

Thin by design: callbacks run on quickfix's threads. They check the logon, answer what is not an
order with a reject, translate orders (``client_translate``) and put the input on the core's
inbox, nothing more. What the core owes a client goes out through ``ClientSender``.

Who may connect, checked by quickfix and here:
- unknown CompIDs: the acceptor knows only the sessions of the settings file and drops any other
  connection before a Logon is answered;
- source address: ``allowed_ips`` becomes quickfix's ``AllowedRemoteAddresses``, which the
  threaded acceptor checks before the Logon is processed (the peer address is not visible to a
  Python callback, so it cannot be checked in ``fromAdmin``);
- password: tag 554 of the Logon, compared in constant time with the environment variable named
  by ``password_env`` (a session that names one that is not set refuses every logon);
- a Logon that resets the sequence numbers (141=Y, or any Logon of a session with
  ``reset_on_logon``) waits until the core has committed the reset (refused if that cannot
  happen within 5 s), so that after a restart no message of the new sequence can be mistaken
  for one of the old;
- malformed messages: quickfix's data dictionary answers them with a session Reject (35=3);
  on a strict session, fields of a repeating group out of order too (``inbound_log``
  sees the raw text, ``fromApp`` answers), and quickfix's own session replies are completed
  where the FIX spec asks for more (``session_replies``). Such a message never reaches the core;
- unsupported message types: a BusinessMessageReject (35=j), reason 3;
- orders on a drop-copy session: a BusinessMessageReject, reason 6 (not authorised);
- more than ``max_messages_per_s`` application messages in a second: a BusinessMessageReject
  (never for a cancel, which is counted but always taken).
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import quickfix as fix

from fix_gateway.client_translate import ORDER_MESSAGES, SessionProfile, client_input
from fix_gateway.inbound_log import InboundChecks
from fix_gateway.session_replies import (
    LOGOUT,
    REJECT,
    group_order_reject,
    logout_reason,
    missing_ref_tag,
)
from fix_gateway.session_settings import SessionKey
from fix_gateway.translate_codes import FixVersion
from fix_gateway.translate_fields import TranslationError
from fix_gateway.wire import build_message, parse_raw
from oms.engine.inputs import ClientSequenceReset, ClientSessionChanged
from oms.settings import FixClientSettings

log = logging.getLogger(__name__)

Sink = Callable[[object], None]

BUSINESS_MESSAGE_REJECT = "j"
CANCEL_REQUEST = "F"
REASON_OTHER, REASON_UNSUPPORTED, REASON_MISSING_FIELD, REASON_NOT_AUTHORIZED = 0, 3, 5, 6
_PASS_THROUGH = (fix.RejectLogon, fix.UnsupportedMessageType, fix.DoNotSend)


@dataclass(frozen=True, slots=True)
class ClientSessionSpec:
    """One client session as the adapter needs it."""

    profile: SessionProfile
    drop_copy: bool = False
    password_required: bool = False
    password: str | None = None
    max_messages_per_s: int = 500
    reset_on_logon: bool = False

    @property
    def name(self) -> str:
        return self.profile.name

    @classmethod
    def of(cls, client: FixClientSettings, password: str | None) -> ClientSessionSpec:
        return cls(
            profile=SessionProfile(client.session_name, client.accounts,
                                   FixVersion(client.begin_string)),
            drop_copy=client.kind == "drop_copy",
            password_required=client.password_env is not None,
            password=password,
            max_messages_per_s=client.max_messages_per_s,
            reset_on_logon=client.reset_on_logon,
        )


def _guarded(callback: Callable[..., None]) -> Callable[..., None]:
    """quickfix's Python binding ends the process on an unexpected exception in a callback:
    log it instead. quickfix's own exceptions (refuse a logon, unsupported message) pass."""

    def wrapper(*args: object) -> None:
        try:
            callback(*args)
        except _PASS_THROUGH:
            raise
        except Exception:
            log.exception("quickfix callback %s failed", callback.__name__)

    wrapper.__name__ = callback.__name__
    return wrapper


class MessageRate:
    """At most ``limit`` events in any one-second window (monotonic clock)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self, now: float, *, always: bool = False) -> bool:
        """Whether one more event fits now; ``always``: it is taken whatever the count (and
        counted, so that what follows it sees the load)."""
        with self._lock:
            while self._times and now - self._times[0] >= 1.0:
                self._times.popleft()
            if len(self._times) >= self._limit and not always:
                return False
            self._times.append(now)
            return True


class ClientApplication(fix.Application):  # type: ignore[misc]
    """``sessions`` maps our session key to each client; ``next_target_seq`` holds, per
    session name, the inbound MsgSeqNum the core has committed + 1."""

    def __init__(self, sessions: Mapping[SessionKey, ClientSessionSpec], sink: Sink,
                 next_target_seq: Mapping[str, int], *, reset_timeout_s: float = 5.0,
                 inbound: InboundChecks | None = None) -> None:
        super().__init__()
        self._reset_timeout_s = reset_timeout_s
        self._inbound = inbound
        self._logout_reasons: dict[SessionKey, str] = {}
        self._sessions = dict(sessions)
        self._sink = sink
        self._next_target_seq = dict(next_target_seq)
        self._rates = {key: MessageRate(spec.max_messages_per_s)
                       for key, spec in self._sessions.items()}
        self._clean_logout: set[str] = set()

    def _spec(self, session_id: fix.SessionID) -> ClientSessionSpec | None:
        return self._sessions.get(SessionKey.of(session_id))

    @_guarded
    def onCreate(self, session_id: fix.SessionID) -> None:  # noqa: N802 - quickfix API
        spec = self._spec(session_id)
        session = fix.Session.lookupSession(session_id)
        if spec is None or session is None:
            return
        expected = session.getExpectedTargetNum()
        wanted = rewind_to(self._next_target_seq.get(spec.name), expected)
        if wanted is not None:
            log.info("client %s: expecting inbound MsgSeqNum %d instead of %d (last committed "
                     "+ 1): the client will be asked to resend", spec.name, wanted, expected)
            session.setNextTargetMsgSeqNum(wanted)

    @_guarded
    def onLogon(self, session_id: fix.SessionID) -> None:  # noqa: N802
        spec = self._spec(session_id)
        if spec is None:
            return
        session = fix.Session.lookupSession(session_id)
        target = session.getExpectedTargetNum() if session is not None else 0
        self._sink(ClientSessionChanged(spec.name, True, next_target_seq=target))

    @_guarded
    def onLogout(self, session_id: fix.SessionID) -> None:  # noqa: N802
        spec = self._spec(session_id)
        if spec is None:
            return
        clean = spec.name in self._clean_logout
        self._clean_logout.discard(spec.name)
        self._sink(ClientSessionChanged(spec.name, False, clean_logout=clean))

    @_guarded
    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:  # noqa: N802
        """Complete quickfix's session replies where the spec asks for more
        (``session_replies``)."""
        msg_type = message.getHeader().getField(35)
        if msg_type not in (REJECT, LOGOUT):
            if self._logout_reasons:  # the reason is for a Logout sent right after the Reject
                self._logout_reasons.pop(SessionKey.of(session_id), None)
            return
        key = SessionKey.of(session_id)
        if msg_type == LOGOUT:
            reason = self._logout_reasons.pop(key, None)
            if reason and not message.isSetField(58):
                message.setField(58, reason)
            return
        sent = parse_raw(message.toString())
        ref_tag = missing_ref_tag(sent)
        if ref_tag is not None:
            message.setField(371, str(ref_tag))
        reason = logout_reason(sent)
        if reason:
            self._logout_reasons[key] = reason
        else:
            self._logout_reasons.pop(key, None)

    @_guarded
    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:  # noqa: N802
        spec = self._spec(session_id)
        if spec is None:
            return
        msg_type = message.getHeader().getField(35)
        if msg_type == "A":
            self._clean_logout.discard(spec.name)
            problem = logon_problem(spec, message.getField(554) if message.isSetField(554)
                                    else None)
            resets = spec.reset_on_logon or (
                message.isSetField(141) and message.getField(141) == "Y")
            if problem is None and resets:
                problem = self._record_reset(spec.name)
            if problem is not None:
                log.warning("client %s: logon refused: %s", spec.name, problem)
                raise fix.RejectLogon(problem)
        elif msg_type == "5":
            self._clean_logout.add(spec.name)

    def _record_reset(self, session: str) -> str | None:
        """Have the core commit the sequence reset before quickfix takes a message of the new
        sequence (a restart must never mistake them for the old one's); None once done."""
        recorded = threading.Event()
        self._sink(ClientSequenceReset(session, recorded))
        if recorded.wait(self._reset_timeout_s):
            return None
        return "the gateway could not record the sequence reset: try again"

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:  # noqa: N802
        return None

    @_guarded
    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:  # noqa: N802
        key = SessionKey.of(session_id)
        spec = self._sessions.get(key)
        if spec is None:
            return
        fields = parse_raw(message.toString())
        msg_type = fields.get(35, "")
        if self._inbound is not None:
            problem = self._inbound.take(key, int(fields.get(34) or 0))
            if problem is not None:
                body = group_order_reject(key.begin_string, fields, problem)
                log.warning("client %s: message %s rejected: %s (tag %d)", spec.name,
                            fields.get(34), body[58], problem.tag)
                fix.Session.sendToTarget(build_message(key.begin_string, REJECT, body),
                                         key.session_id())
                return
        if msg_type not in ORDER_MESSAGES:
            raise fix.UnsupportedMessageType()
        if spec.drop_copy:
            self._reject(key, fields, REASON_NOT_AUTHORIZED,
                         f"session {spec.name} is a drop copy: it cannot send orders")
            return
        # a cancel always gets through: counted, never refused for the rate
        if not self._rates[key].allow(time.monotonic(), always=msg_type == CANCEL_REQUEST):
            self._reject(key, fields, REASON_OTHER,
                         f"more than {spec.max_messages_per_s} messages in one second")
            return
        try:
            item = client_input(fields, spec.profile)
        except TranslationError as exc:
            reason = REASON_MISSING_FIELD if exc.tag is not None else REASON_OTHER
            self._reject(key, fields, reason, str(exc))
            return
        self._sink(item)

    def _reject(self, key: SessionKey, fields: Mapping[int, str], reason: int,
                text: str) -> None:
        """A BusinessMessageReject for the message ``fields`` (sent from the callback)."""
        body = {45: fields.get(34, "0"), 372: fields.get(35, ""), 380: str(reason), 58: text}
        if fields.get(11):
            body[379] = fields[11]
        fix.Session.sendToTarget(build_message(key.begin_string, BUSINESS_MESSAGE_REJECT, body),
                                 key.session_id())


def rewind_to(committed_next: int | None, expected: int) -> int | None:
    """The inbound MsgSeqNum to expect at start instead of quickfix's ``expected``, or None.

    ``committed_next`` is the session's committed watermark + 1. quickfix counts a message as
    received before the core commits it: expecting the watermark + 1 makes the client resend
    the rest. A watermark above what quickfix expects means the client reset its sequence
    numbers and the reset was not committed (a reset Logon waits for the core to commit it,
    so nothing after it was taken): everything since the reset is asked for again."""
    if not committed_next or committed_next == expected:
        return None
    return committed_next if committed_next < expected else 1


def logon_problem(spec: ClientSessionSpec, given: str | None) -> str | None:
    """Why a Logon carrying password ``given`` (tag 554) is refused, or None."""
    if not spec.password_required:
        return None
    if spec.password is None:
        return "no logon password is configured for this session on the gateway"
    if given is None:
        return "a password (554) is required"
    if not hmac.compare_digest(given.encode(), spec.password.encode()):
        return "invalid password"
    return None
