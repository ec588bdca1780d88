"""Venue rejects in plain terms, and what we sent under each MsgSeqNum to match them to.

A venue refuses one of our messages with a session Reject (35=3: it failed the session's
checks) or a BusinessMessageReject (35=j: e.g. a message type it does not support). Either
names the refused message by RefSeqNum (45); a 35=j of an order message usually also names its
ClOrdID in BusinessRejectRefID (379). ``SentMessages`` remembers, per venue, the message type
and ClOrdID of our last messages by MsgSeqNum, so the core can tell which request a reject is
about. It is memory only: a reject of a message sent before a restart is shown to operators
as unmatched, and the request itself is settled by the request timeout.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from oms.engine.inputs import RejectNotice, SentMessage

SESSION_REJECT_REASONS: Mapping[str, str] = {
    "0": "invalid tag number",
    "1": "required tag missing",
    "2": "tag not defined for this message type",
    "3": "undefined tag",
    "4": "tag specified without a value",
    "5": "value is incorrect (out of range) for this tag",
    "6": "incorrect data format for value",
    "7": "decryption problem",
    "8": "signature problem",
    "9": "CompID problem",
    "10": "SendingTime accuracy problem",
    "11": "invalid MsgType",
    "12": "XML validation error",
    "13": "tag appears more than once",
    "14": "tag specified out of required order",
    "15": "repeating group fields out of order",
    "16": "incorrect NumInGroup count for repeating group",
    "17": "non-data value includes field delimiter",
    "99": "other",
}
BUSINESS_REJECT_REASONS: Mapping[str, str] = {
    "0": "other",
    "1": "unknown ID",
    "2": "unknown security",
    "3": "unsupported message type",
    "4": "application not available",
    "5": "conditionally required field missing",
    "6": "not authorized",
    "7": "DeliverTo firm not available at this time",
    "18": "invalid price increment",
}
def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def reject_notice_from_fix(fields: Mapping[int, str]) -> RejectNotice:
    """A session Reject (35=3) or BusinessMessageReject (35=j), read leniently: every field is
    optional here (the session layer validated what is required), odd values are kept as
    text."""
    msg_type = fields.get(35, "")
    if msg_type not in ("3", "j"):
        raise ValueError(f"not a Reject or BusinessMessageReject: 35={msg_type!r}")
    if msg_type == "3":
        code = fields.get(373)
        reason = SESSION_REJECT_REASONS.get(code or "")
    else:
        code = fields.get(380)
        reason = BUSINESS_REJECT_REASONS.get(code or "")
    return RejectNotice(
        msg_type=msg_type,
        ref_seq_num=_int(fields.get(45)),
        ref_msg_type=fields.get(372) or None,
        ref_id=(fields.get(379) or None) if msg_type == "j" else None,
        ref_tag=_int(fields.get(371)),
        reason_code=code,
        reason=reason,
        text=fields.get(58) or None,
    )


class SentMessages:
    """Per venue: MsgSeqNum -> (message type, ClOrdID) of the last ``capacity`` messages sent.

    Written from the thread that sends (``toApp``/``toAdmin``), read from quickfix's receiving
    thread: one lock. A session message takes its number's slot too, so a sequence reset
    never leaves an order message under a number now carried by a heartbeat."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._sent: dict[str, OrderedDict[int, SentMessage]] = {}

    def record(self, venue: str, seq_num: int, msg_type: str, cl_ord_id: str | None) -> None:
        with self._lock:
            sent = self._sent.get(venue)
            if sent is None:
                sent = self._sent[venue] = OrderedDict()
            sent.pop(seq_num, None)
            sent[seq_num] = SentMessage(msg_type, cl_ord_id)
            while len(sent) > self._capacity:
                sent.popitem(last=False)

    def find(self, venue: str, seq_num: int | None) -> SentMessage | None:
        if seq_num is None:
            return None
        with self._lock:
            sent = self._sent.get(venue)
            return None if sent is None else sent.get(seq_num)
