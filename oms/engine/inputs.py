"""Inputs on the core's one inbox. Adapters (quickfix callbacks, the AMQP consumer, the operator
channel, timers) only build one of these and put it on the inbox."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oms.domain.requests import ClientRequest

if TYPE_CHECKING:
    from oms.engine.ports import Envelope


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One of our application messages to a venue, as the venue adapter remembers it by its
    MsgSeqNum (to match a venue's reject that names only RefSeqNum, 45)."""

    msg_type: str
    venue_cl_ord_id: str | None


@dataclass(frozen=True, slots=True)
class VenueMessage:
    """An application message from a venue session (ExecutionReport, OrderCancelReject, ...).

    ``sent``: for a BusinessMessageReject (35=j), our message its RefSeqNum (45) names, if the
    adapter remembers it."""

    venue: str
    msg_type: str
    fields: dict[int, str]
    seq_num: int
    received_ns: int
    sent: SentMessage | None = None


@dataclass(frozen=True, slots=True)
class RejectNotice:
    """What a session Reject (35=3) or a BusinessMessageReject (35=j) says about the message
    it refuses, in plain terms (no quickfix objects)."""

    msg_type: str
    """"3" or "j"."""
    ref_seq_num: int | None
    """RefSeqNum (45): the refused message's MsgSeqNum."""
    ref_msg_type: str | None
    """RefMsgType (372)."""
    ref_id: str | None = None
    """BusinessRejectRefID (379): for an order message, its ClOrdID."""
    ref_tag: int | None = None
    """RefTagID (371): the field at fault."""
    reason_code: str | None = None
    """SessionRejectReason (373) or BusinessRejectReason (380)."""
    reason: str | None = None
    """The reason code in words."""
    text: str | None = None
    """Text (58)."""

    def describe(self) -> str:
        """E.g. ``session Reject 35=3, SessionRejectReason 5: value is incorrect (out of range)
        for this tag, RefTagID 40``."""
        if self.msg_type == "3":
            parts = ["session Reject 35=3"]
            label = "SessionRejectReason"
        else:
            parts = ["BusinessMessageReject 35=j"]
            label = "BusinessRejectReason"
        if self.reason_code is not None:
            parts.append(f"{label} {self.reason_code}" + (f": {self.reason}" if self.reason
                                                           else ""))
        if self.ref_tag is not None:
            parts.append(f"RefTagID {self.ref_tag}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class VenueSessionReject:
    """A venue's session Reject (35=3) of one of our messages; ``sent`` is our message its
    RefSeqNum names, if the adapter remembers it."""

    venue: str
    notice: RejectNotice
    sent: SentMessage | None
    fields: dict[int, str]


@dataclass(frozen=True, slots=True)
class VenueMessageRejectedByUs:
    """Our session rejected a venue's message (quickfix sent a 35=3, ``notice``, for it): the
    message never reached the order path. If it was a fill, the fill is missing here."""

    venue: str
    notice: RejectNotice
    fields: dict[int, str]


@dataclass(frozen=True, slots=True)
class VenueSessionChanged:
    venue: str
    logged_on: bool
    next_sender_seq: int = 0
    next_target_seq: int = 0


@dataclass(frozen=True, slots=True)
class ClientFixRequest:
    """A new, cancel or replace request of a FIX client session, decoded on quickfix's thread.

    ``command`` is what the core's duplicate check reads (origin ``fix:<session>``, ClOrdID). The
    input is its own delivery for ``Handlers.client_request``: ``redelivered`` is PossDupFlag or
    PossResend, and there is nothing to acknowledge (the session's inbound watermark, committed
    with the batch, is the acknowledgement). ``side``/``symbol`` are the raw Side (54) and
    Symbol (55), for answering a request whose fields were invalid."""

    session: str
    command: ClientRequest
    seq_num: int
    redelivered: bool = False
    side: str | None = None
    symbol: str | None = None

    def ack(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class ClientStatusRequest:
    """An OrderStatusRequest (35=H) of a FIX client session; ``side`` is the FIX code."""

    session: str
    cl_ord_id: str
    seq_num: int
    order_id: str | None = None
    side: str | None = None
    symbol: str | None = None
    status_req_id: str | None = None


@dataclass(frozen=True, slots=True)
class ClientSessionChanged:
    """A FIX client session logged on or off. ``clean_logout``: the client sent a Logout first
    (rather than dropping the connection); ``next_target_seq``: quickfix's next expected inbound
    MsgSeqNum at logon (lower than the committed watermark after a sequence reset)."""

    session: str
    logged_on: bool
    clean_logout: bool = False
    next_target_seq: int = 0


@dataclass(frozen=True, slots=True)
class ClientSequenceReset:
    """A client's Logon resets the sequence numbers (141=Y). The core records the session's
    inbound watermark as 0 and sets ``recorded`` once that is committed; quickfix's callback
    waits for it, so no message of the new sequence is taken before the reset is durable."""

    session: str
    recorded: threading.Event


def _nothing_to_give_back() -> None:
    return None


@dataclass(frozen=True, slots=True)
class OperatorCommandReceived:
    """An operator command (a row of ``operator_commands`` not processed yet). The core marks it
    processed in the transaction that applies it; when that transaction fails, it calls
    ``give_back`` and the channel delivers the command again (applied once: by command id)."""

    command_id: int
    kind: str
    payload: dict[str, Any]
    issued_by: str
    reason: str
    give_back: Callable[[], None] = field(default=_nothing_to_give_back, compare=False,
                                          repr=False)


@dataclass(frozen=True, slots=True)
class StrategyCommand:
    """A strategy's command as delivered (AMQP): ``command`` decoded, or None with the reason
    it could not be read (``unreadable``: it is dead-lettered). ``envelope`` settles the
    delivery once its batch has committed (ack), or gives it back (requeue)."""

    envelope: Envelope
    command: ClientRequest | None
    unreadable: str = ""


@dataclass(frozen=True, slots=True)
class Tick:
    """A timer input: expiries, in-doubt resolution retries, status publication."""

    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class Stop:
    """Asks the core to finish the current batch and return."""

    reason: str = "shutdown"
    extra: dict[str, Any] = field(default_factory=dict)
