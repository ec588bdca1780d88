"""A venue of our own for tests, NOT quickfix: a raw-socket FIX acceptor written with simplefix.

It speaks FIX 4.2 or FIX 4.4 as the venue side of the gateway's initiator session: it answers
the Logon, Heartbeats, TestRequests, ResendRequests (with a gap fill) and a Logout, checks the
framing of every message the gateway sends (``raw_fix.check_frame``), and answers each
NewOrderSingle (D), OrderCancelRequest (F), OrderCancelReplaceRequest (G) and
OrderStatusRequest (H) as the test tells it (``ScriptedVenue.answer``):

- ``ACK``: as FIX says (D: new; F: canceled with 11 = the cancel, 41 = the original; G:
  replaced likewise; H: the order's status, or "unknown order" for an order it does not have);
- ``SESSION_REJECT``: a session Reject (35=3) of the message (45, 371, 372, 373, 58);
- ``BUSINESS_REJECT``: a BusinessMessageReject (35=j) naming the message by RefSeqNum (45)
  and its ClOrdID (379); ``BUSINESS_REJECT_BY_SEQ``: by RefSeqNum only;
- ``SILENCE``: nothing at all (the venue has the order, or ignores the cancel/replace);
  ``LOSE``: nothing, and the venue never had the order (its status answer says unknown);
  ``SILENT_DONE``: the cancel or replace is carried out but not reported;
- ``CONFIRM_NAMING_ORIGINAL``: F/G confirmed with the original ClOrdID in 11 and no 41;
  ``CONFIRM_WITHOUT_41``: F/G confirmed under the request's ClOrdID, with no 41;
- ``ACK_WITH_UNDEFINED_TAG``: D acknowledged with a tag no dictionary defines (a strict
  session rejects that report: the acknowledgement never reaches the order path).
- ``ACK_WITH_GROUP_OUT_OF_ORDER``: D acknowledged with a NoContraBrokers (382) entry whose
  fields are out of the dictionary's order (ContraTradeQty 437 before ContraTrader 337).

Every application message and session Reject the gateway sent is kept in ``received``
(``wait_for``).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import simplefix

from tests.support.raw_fix import Fields, WireError, check_frame, frames, now_text

Pairs = list[tuple[int, str]]


class Answer(StrEnum):
    ACK = "ack"
    SESSION_REJECT = "session_reject"
    BUSINESS_REJECT = "business_reject"
    BUSINESS_REJECT_BY_SEQ = "business_reject_by_seq"
    SILENCE = "silence"
    LOSE = "lose"
    SILENT_DONE = "silent_done"
    CONFIRM_NAMING_ORIGINAL = "confirm_naming_original"
    CONFIRM_WITHOUT_41 = "confirm_without_41"
    ACK_WITH_UNDEFINED_TAG = "ack_with_undefined_tag"
    ACK_WITH_GROUP_OUT_OF_ORDER = "ack_with_group_out_of_order"


# What the venue says when it refuses a message: (371 RefTagID, 373 SessionRejectReason, 58)
SESSION_REJECTS = {
    "D": ("40", "5", "Unsupported OrdType"),
    "F": ("41", "5", "OrigClOrdID not accepted"),
    "G": ("38", "5", "OrderQty change not accepted"),
    "H": ("11", "1", "Status requests need an OrderID"),
}
# (380 BusinessRejectReason, 58)
BUSINESS_REJECTS = {
    "D": ("2", "Unknown security"),
    "F": ("0", "Cancels are suspended"),
    "G": ("3", "OrderCancelReplaceRequest not supported"),
    "H": ("3", "OrderStatusRequest not supported"),
}


@dataclass
class VenueOrder:
    order_id: str
    cl_ord_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: str | None
    status: str = "0"  # OrdStatus: 0 new, 4 canceled
    cum_qty: Decimal = Decimal(0)

    @property
    def leaves(self) -> Decimal:
        return Decimal(0) if self.status in ("4", "8") else self.quantity - self.cum_qty


class ScriptedVenue:
    def __init__(self, port: int, *, begin_string: str = "FIX.4.4", sender: str = "SIM",
                 target: str = "OMS") -> None:
        self.port, self.begin_string = port, begin_string
        self.sender, self.target = sender, target
        self.answers: dict[str, Answer] = {t: Answer.ACK for t in "DFGH"}
        self.received: list[Fields] = []
        self.errors: list[str] = []
        self.logged_on = threading.Event()
        self.next_out = 1
        self.next_in = 1
        self._orders: dict[str, VenueOrder] = {}
        self._order_ids = itertools.count(1)
        self._exec_ids = itertools.count(1)
        self._changed = threading.Condition()
        self._send_lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._stopped = threading.Event()

    @property
    def is_42(self) -> bool:
        return self.begin_string == "FIX.4.2"

    # -- the test's side -------------------------------------------------------------------

    def fill(self, cl_ord_id: str, quantity: str, price: str, *,
             exec_id: str | None = None) -> str:
        """Send a fill of the order the venue knows as ``cl_ord_id`` now, with the values as
        given (tests send absurd ones) and ``exec_id`` (default: the next one). Returns the
        ExecID."""
        order = self._orders[cl_ord_id]
        exec_id = exec_id or f"X{next(self._exec_ids)}"
        with contextlib.suppress(ArithmeticError):  # an absurd value leaves the book as it was
            order.cum_qty += Decimal(quantity)
        filled = order.cum_qty >= order.quantity
        status = "2" if filled else "1"
        kinds = [(20, "0"), (150, status)] if self.is_42 else [(150, "F")]
        self.send("8", [(37, order.order_id), (11, cl_ord_id), (17, exec_id), *kinds,
                        (39, status), (55, order.symbol), (54, order.side),
                        (38, _num(order.quantity)), (32, quantity), (31, price),
                        (151, _num(max(order.leaves, Decimal(0)))), (14, _num(order.cum_qty)),
                        (6, price), (60, now_text())])
        return exec_id

    def answer(self, **answers: Answer) -> None:
        """How to answer from now on, by message type: ``answer(D=Answer.SILENCE)``."""
        for msg_type, how in answers.items():
            if msg_type not in self.answers:
                raise ValueError(f"the scripted venue answers D, F, G and H, not {msg_type}")
            self.answers[msg_type] = how

    def wait_for(self, predicate: Callable[[Fields], bool], timeout: float = 20.0) -> Fields:
        """The first application message from the gateway matching ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.received:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.get(35), m.get(11)) for m in self.received]
                    raise AssertionError(f"no such message from the gateway in {timeout}s;"
                                         f" saw {seen}")
                self._changed.wait(left)

    def order(self, cl_ord_id: str) -> VenueOrder | None:
        return self._orders.get(cl_ord_id)

    def report_new(self, cl_ord_id: str) -> None:
        """Acknowledge an order late (after silence)."""
        order = self._orders[cl_ord_id]
        self._report(order, "0", cl_ord_id=order.cl_ord_id)

    def send(self, msg_type: str, pairs: Pairs) -> int:
        with self._send_lock:
            seq = self.next_out
            self.next_out += 1
            self._write(msg_type, pairs, seq)
        return seq

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(1)
        self._listener = listener
        threading.Thread(target=self._accept, name="scripted-venue", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        for sock in (self._conn, self._listener):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def __enter__(self) -> ScriptedVenue:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conn = conn
            self._read(conn)
            self.logged_on.clear()

    def _read(self, conn: socket.socket) -> None:
        try:
            for raw in frames(conn):
                self._received(raw)
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    # -- the session -----------------------------------------------------------------------

    def _received(self, raw: bytes) -> None:
        try:
            fields = check_frame(raw, self.begin_string)
            if (fields.get(49), fields.get(56)) != (self.target, self.sender):
                raise WireError(f"CompIDs {fields.get(49)}->{fields.get(56)}")
        except (WireError, ValueError) as exc:
            self.errors.append(f"{exc}: {raw!r}")
            return
        msg_type, seq = fields[35], int(fields[34])
        if msg_type == "A" and fields.get(141) == "Y":
            self.next_in, self.next_out = seq, 1
        if fields.get(43) != "Y" and seq != self.next_in and msg_type not in ("A", "5", "4"):
            self.errors.append(f"MsgSeqNum {seq} received, {self.next_in} expected")
        self.next_in = int(fields[36]) if msg_type == "4" else seq + 1
        if msg_type == "A":
            reply: Pairs = [(98, "0"), (108, fields.get(108, "30"))]
            if fields.get(141) == "Y":
                reply.append((141, "Y"))
            self.send("A", reply)
            self.logged_on.set()
        elif msg_type == "1":
            self.send("0", [(112, fields.get(112, ""))])
        elif msg_type == "2":
            with self._send_lock:  # nothing worth resending: a gap fill to the next number
                self._write("4", [(123, "Y"), (36, str(self.next_out))], int(fields[7]),
                            poss_dup=True)
        elif msg_type == "5":
            self.send("5", [])
        elif msg_type == "3":  # the gateway rejected one of our messages: kept for the test
            with self._changed:
                self.received.append(fields)
                self._changed.notify_all()
        elif msg_type in ("D", "F", "G", "H"):
            with self._changed:
                self.received.append(fields)
                self._changed.notify_all()
            getattr(self, f"_on_{msg_type}")(fields)

    def _write(self, msg_type: str, pairs: Pairs, seq: int, *, poss_dup: bool = False) -> None:
        message = simplefix.FixMessage()
        message.append_pair(8, self.begin_string, header=True)
        message.append_pair(35, msg_type, header=True)
        message.append_pair(49, self.sender, header=True)
        message.append_pair(56, self.target, header=True)
        message.append_pair(34, seq, header=True)
        sending_time = now_text()
        message.append_pair(52, sending_time, header=True)
        if poss_dup:
            message.append_pair(43, "Y", header=True)
            message.append_pair(122, sending_time, header=True)
        for tag, value in pairs:
            message.append_pair(tag, value)
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.sendall(message.encode())

    # -- orders ----------------------------------------------------------------------------

    def _refused(self, fields: Fields, how: Answer) -> bool:
        """Answer with a 35=3 or 35=j if so told; True when it did."""
        msg_type, seq = fields[35], fields[34]
        if how is Answer.SESSION_REJECT:
            tag, reason, text = SESSION_REJECTS[msg_type]
            self.send("3", [(45, seq), (371, tag), (372, msg_type), (373, reason), (58, text)])
            return True
        if how in (Answer.BUSINESS_REJECT, Answer.BUSINESS_REJECT_BY_SEQ):
            reason, text = BUSINESS_REJECTS[msg_type]
            pairs: Pairs = [(45, seq), (372, msg_type)]
            if how is Answer.BUSINESS_REJECT:
                pairs.append((379, fields[11]))
            self.send("j", [*pairs, (380, reason), (58, text)])
            return True
        return False

    def _on_D(self, fields: Fields) -> None:
        how = self.answers["D"]
        if self._refused(fields, how) or how is Answer.LOSE:
            return
        order = VenueOrder(f"SIM-{next(self._order_ids)}", fields[11], fields[55], fields[54],
                           Decimal(fields[38]), fields.get(44))
        self._orders[order.cl_ord_id] = order
        if how is Answer.ACK:
            self._report(order, "0", cl_ord_id=order.cl_ord_id)
        elif how is Answer.ACK_WITH_UNDEFINED_TAG:
            self._report(order, "0", cl_ord_id=order.cl_ord_id, extra=[(9999, "venue-only")])
        elif how is Answer.ACK_WITH_GROUP_OUT_OF_ORDER:
            self._report(order, "0", cl_ord_id=order.cl_ord_id,
                         extra=[(382, "1"), (375, "BRKR"), (437, "10"), (337, "TRDR")])

    def _on_F(self, fields: Fields) -> None:
        self._change(fields, "4")

    def _on_G(self, fields: Fields) -> None:
        self._change(fields, "5")

    def _change(self, fields: Fields, exec_type: str) -> None:
        """A cancel (ExecType 4) or a replace (ExecType 5) of the order 41 names."""
        how = self.answers[fields[35]]
        if self._refused(fields, how) or how in (Answer.SILENCE, Answer.LOSE):
            return
        order = self._orders.get(fields.get(41, ""))
        if order is None:
            self.errors.append(f"the gateway named an order the venue does not have: {fields}")
            return
        original, request = order.cl_ord_id, fields[11]
        if exec_type == "4":
            order.status = "4"
        else:
            order.quantity = Decimal(fields[38])
            order.price = fields.get(44, order.price)
        order.cl_ord_id = request
        self._orders[request] = order
        if how is Answer.SILENT_DONE:
            return
        if how is Answer.CONFIRM_NAMING_ORIGINAL:
            self._report(order, exec_type, cl_ord_id=original)
        elif how is Answer.CONFIRM_WITHOUT_41:
            self._report(order, exec_type, cl_ord_id=request)
        else:
            self._report(order, exec_type, cl_ord_id=request, orig=original)

    def _on_H(self, fields: Fields) -> None:
        how = self.answers["H"]
        if self._refused(fields, how) or how in (Answer.SILENCE, Answer.LOSE):
            return
        order = self._orders.get(fields[11])
        if order is None:
            status_42 = [(20, "3"), (150, "8")] if self.is_42 else [(150, "I")]
            self.send("8", [(37, "NONE"), (11, fields[11]), (17, f"X{next(self._exec_ids)}"),
                            *status_42, (39, "8"), (55, fields[55]), (54, fields[54]),
                            (151, "0"), (14, "0"), (6, "0"), (58, "unknown order")])
            return
        self._report(order, None, cl_ord_id=order.cl_ord_id)

    def _report(self, order: VenueOrder, exec_type: str | None, *, cl_ord_id: str,
                orig: str | None = None, extra: Pairs | None = None) -> None:
        """An ExecutionReport; ``exec_type`` None: an order status answer."""
        if exec_type is None:
            kinds = [(20, "3"), (150, order.status)] if self.is_42 else [(150, "I")]
        else:
            kinds = [(20, "0"), (150, exec_type)] if self.is_42 else [(150, exec_type)]
        status = "0" if exec_type == "5" else order.status
        pairs: Pairs = [(37, order.order_id), (11, cl_ord_id)]
        if orig is not None:
            pairs.append((41, orig))
        pairs += [(17, f"X{next(self._exec_ids)}"), *kinds, (39, status), (55, order.symbol),
                  (54, order.side), (38, _num(order.quantity))]
        if order.price is not None:
            pairs.append((44, order.price))
        pairs += [(151, _num(order.leaves)), (14, _num(order.cum_qty)), (6, "0"),
                  (60, now_text()), *(extra or [])]
        self.send("8", pairs)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")
