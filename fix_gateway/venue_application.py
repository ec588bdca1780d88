"""quickfix Application for venue sessions (the gateway is the initiator).

Thin by design: callbacks run on quickfix's threads, translate the message to plain fields and
put an input on the core's inbox, nothing more. Sending goes through ``VenueSender``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import quickfix as fix

from fix_gateway.inbound_log import InboundChecks
from fix_gateway.session_replies import group_order_reject
from fix_gateway.session_settings import SessionKey
from fix_gateway.translate import cancel_reject_from_fix, execution_report_from_fix
from fix_gateway.translate_codes import FixVersion
from fix_gateway.venue_orders import (
    NEW_ORDER_SINGLE,
    ORDER_CANCEL_REPLACE_REQUEST,
    ORDER_CANCEL_REQUEST,
    ORDER_STATUS_REQUEST,
    new_order_single,
    order_cancel_replace_request,
    order_cancel_request,
    order_status_request,
)
from fix_gateway.venue_rejects import SentMessages, reject_notice_from_fix
from fix_gateway.wire import SOH, build_message, parse_raw
from oms.domain.order_inputs import VenueCancelReject, VenueExecutionReport
from oms.engine.inputs import (
    RejectNotice,
    VenueMessage,
    VenueMessageRejectedByUs,
    VenueSessionChanged,
    VenueSessionReject,
)
from oms.engine.ports import VenueCancel, VenueNewOrder, VenueReplace, VenueStatusQuery

log = logging.getLogger(__name__)

Sink = Callable[[object], None]


def venue_report_from_fields(
    fields: dict[int, str], begin_string: str
) -> VenueExecutionReport | VenueCancelReject | RejectNotice:
    """An ExecutionReport (35=8) or OrderCancelReject (35=9) in domain terms, or what a
    BusinessMessageReject (35=j) says about the message it refuses.

    Raises ``TranslationError`` (naming the tag) for a garbled report, ``ValueError`` for a
    message type that is none of these."""
    version = FixVersion(begin_string)
    msg_type = fields.get(35)
    if msg_type == "8":
        return execution_report_from_fix(fields, version)
    if msg_type == "9":
        return cancel_reject_from_fix(fields, version)
    if msg_type == "j":
        return reject_notice_from_fix(fields)
    raise ValueError(f"unexpected application message type {msg_type!r} from a venue")


def _field(raw: str, tag: int) -> str | None:
    """One field of a raw message (its first occurrence), without parsing the rest."""
    marker = f"{SOH}{tag}="
    start = raw.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = raw.find(SOH, start)
    return raw[start:] if end < 0 else raw[start:end]


def _guarded(callback: Callable[..., None]) -> Callable[..., None]:
    """quickfix's Python binding ends the process on an unexpected exception in a callback:
    log it instead, so one bad message never takes the gateway down."""

    def wrapper(*args: object) -> None:
        try:
            callback(*args)
        except fix.DoNotSend:
            raise
        except Exception:
            log.exception("quickfix callback %s failed", callback.__name__)

    wrapper.__name__ = callback.__name__
    return wrapper


class VenueApplication(fix.Application):  # type: ignore[misc]
    """``venues`` maps our session key to the venue name; ``next_target_seq`` holds, per venue,
    the inbound MsgSeqNum the core has committed + 1, so that after a crash the venue resends
    whatever quickfix had received but the core had not committed."""

    def __init__(
        self, venues: Mapping[SessionKey, str], sink: Sink, next_target_seq: Mapping[str, int],
        sent: SentMessages | None = None, inbound: InboundChecks | None = None,
    ) -> None:
        super().__init__()
        self._inbound = inbound
        """Group-order problems of the raw messages of strict venue sessions (``inbound_log``)."""
        self._sent = sent if sent is not None else SentMessages()
        """What we sent by MsgSeqNum, per venue: a venue's reject names it by RefSeqNum."""
        self._venues = dict(venues)
        self._venue_of_text = {str(key): venue for key, venue in venues.items()}
        """By ``SessionID.toString()`` (one binding call per message instead of six)."""
        self._sink = sink
        self._next_target_seq = dict(next_target_seq)
        self._up: set[str] = set()

    @_guarded
    def onCreate(self, session_id: fix.SessionID) -> None:  # noqa: N802 - quickfix API
        venue = self._venues.get(SessionKey.of(session_id))
        wanted = self._next_target_seq.get(venue or "")
        session = fix.Session.lookupSession(session_id)
        if wanted and session is not None and session.getExpectedTargetNum() > wanted:
            log.info(
                "venue %s: rewinding expected inbound MsgSeqNum from %d to %d (last committed + 1)",
                venue, session.getExpectedTargetNum(), wanted,
            )
            session.setNextTargetMsgSeqNum(wanted)

    @_guarded
    def onLogon(self, session_id: fix.SessionID) -> None:  # noqa: N802
        self._state(session_id, True)

    @_guarded
    def onLogout(self, session_id: fix.SessionID) -> None:  # noqa: N802
        self._state(session_id, False)

    def _state(self, session_id: fix.SessionID, logged_on: bool) -> None:
        venue = self._venues.get(SessionKey.of(session_id))
        if venue is None:
            return
        if logged_on:
            self._up.add(venue)
        else:
            self._up.discard(venue)
        session = fix.Session.lookupSession(session_id)
        sender = session.getExpectedSenderNum() if session is not None else 0
        target = session.getExpectedTargetNum() if session is not None else 0
        self._sink(VenueSessionChanged(venue, logged_on, sender, target))

    def is_logged_on(self, venue: str) -> bool:
        """As quickfix's onLogon/onLogout last said (no call into quickfix)."""
        return venue in self._up

    @_guarded
    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:  # noqa: N802
        venue = self._venue_of_text.get(session_id.toString())
        if venue is None:
            return
        raw = message.toString()
        if _field(raw, 43) == "Y":
            return  # a gap fill standing in for earlier numbers: their records stay
        seq = _field(raw, 34)
        msg_type = _field(raw, 35) or ""
        if seq is not None and seq.isdigit():
            self._sent.record(venue, int(seq), msg_type, None)
        if msg_type == "3":
            # our session refuses a venue's message (strict validation): it never reaches
            # fromApp, so the core would not know a fill, say, was lost
            fields = parse_raw(raw)
            self._sink(VenueMessageRejectedByUs(venue, reject_notice_from_fix(fields), fields))

    @_guarded
    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:  # noqa: N802
        venue = self._venue_of_text.get(session_id.toString())
        if venue is None:
            return
        raw = message.toString()
        if _field(raw, 35) != "3":
            return
        fields = parse_raw(raw)
        notice = reject_notice_from_fix(fields)
        self._sink(VenueSessionReject(venue, notice, self._sent.find(venue, notice.ref_seq_num),
                                      fields))

    @_guarded
    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:  # noqa: N802
        # Never resend a stale order instruction on a venue's ResendRequest: quickfix then sends
        # a gap fill instead, and in-doubt orders are resolved by status request.
        raw = message.toString()  # one call into the binding for every field read here
        if _field(raw, 43) == "Y":
            raise fix.DoNotSend()
        venue = self._venue_of_text.get(session_id.toString())
        seq = _field(raw, 34)
        if venue is not None and seq is not None and seq.isdigit():
            self._sent.record(venue, int(seq), _field(raw, 35) or "", _field(raw, 11))

    @_guarded
    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:  # noqa: N802
        venue = self._venue_of_text.get(session_id.toString())
        if venue is None:
            return
        fields = parse_raw(message.toString())
        msg_type = fields.get(35, "")
        if self._inbound is not None and self._rejected_group_order(session_id, venue, fields):
            return
        sent = None
        if msg_type == "j":  # a BusinessMessageReject names our message by RefSeqNum
            ref_seq = fields.get(45, "")
            sent = self._sent.find(venue, int(ref_seq)) if ref_seq.isdigit() else None
        self._sink(
            VenueMessage(
                venue=venue,
                msg_type=msg_type,
                fields=fields,
                seq_num=int(fields.get(34, "0") or 0),
                received_ns=time.perf_counter_ns(),
                sent=sent,
            )
        )


    def _rejected_group_order(self, session_id: fix.SessionID, venue: str,
                              fields: dict[int, str]) -> bool:
        """Answer a message whose repeating-group fields came out of order (strict validation)
        with a session Reject (35=3, 373=15), as quickfix does for what it checks itself; the
        Reject is then shown to operators like every reject of ours (``toAdmin``)."""
        assert self._inbound is not None
        key = SessionKey.of(session_id)
        problem = self._inbound.take(key, int(fields.get(34) or 0))
        if problem is None:
            return False
        body = group_order_reject(key.begin_string, fields, problem)
        log.error("venue %s: message %s rejected: %s (tag %d)", venue, fields.get(34), body[58],
                  problem.tag)
        fix.Session.sendToTarget(build_message(key.begin_string, "3", body), session_id)
        return True


class VenueSender:
    """The core's venue port (``oms.engine.ports.VenuePort``): builds the FIX message of each
    request (``venue_orders``) and sends it on the venue's session, by venue name."""

    def __init__(self, sessions: Mapping[str, SessionKey]) -> None:
        self._sessions = {venue: key.session_id() for venue, key in sessions.items()}
        self._begin = {venue: key.begin_string for venue, key in sessions.items()}
        self._application: VenueApplication | None = None

    def follow(self, application: VenueApplication) -> None:
        """Answer ``is_logged_on`` from ``application``'s logon and logout callbacks: the core
        asks for every order, and two calls into quickfix per order each gave up the GIL."""
        self._application = application

    def is_logged_on(self, venue: str) -> bool:
        if self._application is not None:
            return self._application.is_logged_on(venue)
        session_id = self._sessions.get(venue)
        if session_id is None:
            return False
        session = fix.Session.lookupSession(session_id)
        return bool(session is not None and session.isLoggedOn())

    def begin_string(self, venue: str) -> str:
        return self._begin[venue]

    def submit(self, venue: str, order: VenueNewOrder) -> bool:
        return self.send(venue, NEW_ORDER_SINGLE, new_order_single(order))

    def cancel(self, venue: str, request: VenueCancel) -> bool:
        return self.send(venue, ORDER_CANCEL_REQUEST, order_cancel_request(request))

    def replace(self, venue: str, request: VenueReplace) -> bool:
        return self.send(venue, ORDER_CANCEL_REPLACE_REQUEST,
                         order_cancel_replace_request(request))

    def request_status(self, venue: str, query: VenueStatusQuery) -> bool:
        return self.send(venue, ORDER_STATUS_REQUEST, order_status_request(query))

    def send(self, venue: str, msg_type: str, body: Mapping[int, str]) -> bool:
        """Send one application message, its body by tag number (``wire.build_message``)."""
        session_id = self._sessions.get(venue)
        if session_id is None:
            return False
        message = build_message(self._begin[venue], msg_type, body)
        return bool(fix.Session.sendToTarget(message, session_id))

    def rewind(self, venue: str, next_target_seq: int) -> None:
        """Expect ``next_target_seq`` next, so that the venue resends from there (messages
        received but never committed), without dropping the session: orders keep flowing.
        A logged-on session is sent a TestRequest; the venue's Heartbeat comes with a higher
        MsgSeqNum than expected, and quickfix answers that gap with a ResendRequest. A session
        that is down asks for the resend at its next logon."""
        session_id = self._sessions[venue]
        session = fix.Session.lookupSession(session_id)
        if session is None:
            return
        session.setNextTargetMsgSeqNum(next_target_seq)
        if session.isLoggedOn():
            probe = build_message(self._begin[venue], "1",
                                  {112: f"rewind-{next_target_seq}-{time.time_ns()}"})
            fix.Session.sendToTarget(probe, session_id)

    def sequence_numbers(self, venue: str) -> tuple[int, int]:
        session = fix.Session.lookupSession(self._sessions[venue])
        if session is None:
            return (0, 0)
        return (session.getExpectedSenderNum(), session.getExpectedTargetNum())
