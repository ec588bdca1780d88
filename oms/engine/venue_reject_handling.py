"""A venue's session Reject (35=3) or BusinessMessageReject (35=j), matched to our request.

The reject names the message it refuses by BusinessRejectRefID (379, our venue ClOrdID; 35=j
only) or by RefSeqNum (45, which the venue adapter looks up in what it sent). Matched to a
new, cancel or replace, it becomes the domain input ``RequestNotTaken``: the new order is
rejected (reject_source venue), the cancel becomes cancel_rejected, the replace
replace_rejected, with the venue's text and reason. A refused OrderStatusRequest puts what we
asked about in doubt at once. Whatever cannot be matched (a reject of a heartbeat, of a
message sent before a restart, of an unknown ClOrdID) goes to the Exceptions page
(``unmatched_reports``) with the reason, as does every venue message our own session rejected
(it never reached the order path: if it was a fill, the fill is missing).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from oms.domain.order_inputs import RequestNotTaken
from oms.engine import venue_silence
from oms.engine.batch import Batch
from oms.engine.inputs import RejectNotice, SentMessage, VenueMessageRejectedByUs

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)

_REQUEST_MESSAGES = {"new": "D", "cancel": "F", "replace": "G"}
_STATUS_REQUEST = "H"

MESSAGE_NAMES: Mapping[str, str] = {
    # by MsgType (35): how operators are told which message a reject is about
    "0": "Heartbeat",
    "1": "TestRequest",
    "2": "ResendRequest",
    "3": "Reject",
    "4": "SequenceReset",
    "5": "Logout",
    "A": "Logon",
    "8": "ExecutionReport",
    "9": "OrderCancelReject",
    "D": "NewOrderSingle",
    "F": "OrderCancelRequest",
    "G": "OrderCancelReplaceRequest",
    "H": "OrderStatusRequest",
    "j": "BusinessMessageReject",
}


def message_name(msg_type: str | None) -> str:
    """``NewOrderSingle (35=D)``; a type we have no name for as ``35=X``."""
    if msg_type is None:
        return "a message of unknown type"
    name = MESSAGE_NAMES.get(msg_type)
    return f"{name} (35={msg_type})" if name else f"35={msg_type}"


def on_venue_reject(handlers: Handlers, batch: Batch, venue: str, notice: RejectNotice,
                    sent: SentMessage | None, fields: dict[int, str]) -> None:
    kind = "session_reject" if notice.msg_type == "3" else "business_reject"
    metrics = handlers.ctx.metrics
    if metrics is not None:
        metrics.venue_rejects.labels(venue, kind).inc()
    venue_id, msg_type = _referred(handlers, venue, notice, sent)
    if venue_id is None and notice.ref_id:
        venue_id = notice.ref_id  # a ClOrdID we never sent: said so below
    if venue_id is None:
        _unmatched(batch, venue, None, fields, _unmatched_reason(notice, sent))
        return
    ref = handlers.venue_request(venue, venue_id)
    if ref is None:
        _unmatched(batch, venue, venue_id, fields,
                   f"{_said(notice)} names ClOrdID {venue_id!r}, which is no request of ours")
        return
    order = handlers.order_by_id(ref.order_id)
    if order is None:
        _unmatched(batch, venue, venue_id, fields,
                   f"{_said(notice)} of {venue_id}: order {ref.order_id} not found")
        return
    name = MESSAGE_NAMES.get(msg_type or "", f"message 35={msg_type}")
    text = f"venue {venue} refused the {name}" + (f": {notice.text}" if notice.text else "")
    text += f" [{notice.describe()}]"
    if msg_type == _STATUS_REQUEST:
        if not venue_silence.status_refused(handlers, batch, order, text):
            _unmatched(batch, venue, venue_id, fields,
                       f"{text}; no status of order {order.order_id} was awaited")
        return
    outcome = order.apply(RequestNotTaken(ref.request_cl_ord_id, text), batch.now)
    if outcome.refused:
        _unmatched(batch, venue, venue_id, fields,
                   f"{text}; refused by order {order.order_id}: {outcome.refused}")
        return
    log.warning("order %s: %s", order.order_id, text,
                extra={"order_id": order.order_id, "cl_ord_id": order.cl_ord_id})
    cause: dict[str, Any] = {"input": "venue_reject", "venue": venue,
                             "msg_type": notice.msg_type, "venue_cl_ord_id": venue_id,
                             "ref_seq_num": notice.ref_seq_num}
    handlers.record(batch, order, outcome, cause)


def on_rejected_by_us(handlers: Handlers, batch: Batch,
                      rejected: VenueMessageRejectedByUs) -> None:
    """Our session refused a venue's message (strict validation): make the loss visible."""
    notice, venue = rejected.notice, rejected.venue
    metrics = handlers.ctx.metrics
    if metrics is not None:
        metrics.venue_rejects.labels(venue, "rejected_by_us").inc()
    what = message_name(notice.ref_msg_type)
    reason = (f"our session rejected the venue's {what}, MsgSeqNum {notice.ref_seq_num}"
              + (f": {notice.text}" if notice.text else "") + f" [{notice.describe()}]."
              " It never reached the order path: if it was an execution, that fill is"
              " missing here. Ask the venue; the message is in the venue session's FIX log")
    log.error("venue %s: %s", venue, reason)
    _unmatched(batch, venue, None, rejected.fields, reason, warn=False)


def _referred(handlers: Handlers, venue: str, notice: RejectNotice,
              sent: SentMessage | None) -> tuple[str | None, str | None]:
    """Our venue ClOrdID the reject refers to, and the type of the message refused."""
    if notice.ref_id:
        ref = handlers.venue_request(venue, notice.ref_id)
        if ref is not None:
            named_sent = sent is not None and sent.venue_cl_ord_id == notice.ref_id
            status = notice.ref_msg_type == _STATUS_REQUEST or (
                named_sent and sent is not None and sent.msg_type == _STATUS_REQUEST)
            return notice.ref_id, _STATUS_REQUEST if status else _REQUEST_MESSAGES[ref.kind]
    if sent is not None:
        return sent.venue_cl_ord_id, sent.msg_type
    return None, notice.ref_msg_type


def _said(notice: RejectNotice) -> str:
    text = notice.describe()
    return f"{text} ({notice.text})" if notice.text else text


def _unmatched_reason(notice: RejectNotice, sent: SentMessage | None) -> str:
    seq = notice.ref_seq_num
    if sent is not None:
        return (f"{_said(notice)} of our {message_name(sent.msg_type)}, MsgSeqNum {seq}:"
                " not an order request")
    if seq is None:
        return f"{_said(notice)} names no message of ours (no RefSeqNum, no known ClOrdID)"
    return (f"{_said(notice)} of our MsgSeqNum {seq} ({message_name(notice.ref_msg_type)}),"
            " which this gateway has no record of (sent before a restart?)")


def _unmatched(batch: Batch, venue: str, venue_cl_ord_id: str | None, fields: dict[int, str],
               reason: str, *, warn: bool = True) -> None:
    if warn:
        log.warning("venue %s: unmatched reject (%s)", venue, reason)
    batch.unmatched.append({
        "venue": venue, "venue_cl_ord_id": venue_cl_ord_id, "exec_id": None,
        "reason": reason, "fields": {str(k): v for k, v in fields.items()},
        "received_at": batch.now,
    })
