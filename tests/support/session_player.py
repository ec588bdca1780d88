"""A FIX counterparty that plays session-level scenarios byte by byte: no FIX engine, a plain
socket and hand-built messages, so that every MsgSeqNum, field and field order sent is exactly
the one the scenario says, including the broken ones.

Everything the gateway sends is framed and checked by ``raw_fix.check_frame`` (BeginString
first, BodyLength, CheckSum, MsgType third, SendingTime format) and its CompIDs and MsgSeqNum
are checked here: every message not marked PossDupFlag must carry the next MsgSeqNum, so a
scenario that checks one reply also checks that nothing was sent, or skipped, before it.

A scenario reads as the exchange it tests::

    player.logon()
    player.send("0", [(999, "HI")])
    player.expect("3", {45: "2", 371: "999", 372: "0", 373: "0", 58: "Invalid tag number"})

``expect`` takes the next session-level message (application messages, i.e. the reports of the
orders the scenario placed, are kept aside for ``reports``; unsolicited Heartbeats are allowed
anywhere) and checks the fields given: a value of ``None`` means the field must be absent.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.support.raw_fix import WireError, check_frame, frames
from tests.support.waits import dump_threads

Fields = dict[int, str]
Pairs = Sequence[tuple[int | str, str]]
SOH = "\x01"
ADMIN = frozenset({"0", "1", "2", "3", "4", "5", "A"})
REPLIES = ADMIN | {"j"}
"""What ``expect`` takes: session messages, and BusinessMessageRejects (they answer a message
rather than report on an order)."""
_RESEND_CHANGES = frozenset({9, 10, 43, 52, 97, 122})
WAIT_S = 20.0
"""How long a reply may take before the scenario fails (the gateway answers in milliseconds;
a loaded machine may be slow, and a wait ends as soon as the reply is there)."""


def timestamp(shift_s: float = 0.0) -> str:
    """A UTCTimestamp with milliseconds, ``shift_s`` seconds from now."""
    moment = datetime.now(UTC) + timedelta(seconds=shift_s)
    return moment.strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def frame(begin_string: str, pairs: Pairs, *, body_length: int | None = None,
          checksum: str | None = None) -> bytes:
    """A message: BeginString, BodyLength, ``pairs`` as given, CheckSum. ``body_length`` and
    ``checksum`` replace the right values (to send broken messages)."""
    body = "".join(f"{tag}={value}{SOH}" for tag, value in pairs).encode()
    length = len(body) if body_length is None else body_length
    head = f"8={begin_string}{SOH}9={length}{SOH}".encode()
    total = sum(head + body) % 256
    return head + body + f"10={checksum if checksum is not None else f'{total:03d}'}{SOH}".encode()


@dataclass(frozen=True, slots=True)
class Version:
    """One of the counterparty's sessions."""

    begin_string: str
    sender: str
    target: str
    port: int
    account: str

    @property
    def is_42(self) -> bool:
        return self.begin_string == "FIX.4.2"

    @property
    def label(self) -> str:
        return self.begin_string


class ScenarioError(AssertionError):
    pass


class Player:
    def __init__(self, version: Version) -> None:
        self.v = version
        self.next_out = 1
        self.next_in = 1
        self.received: dict[int, Fields] = {}
        """Every message the gateway sent on this connection, by MsgSeqNum (not resends)."""
        self.resent: list[Fields] = []
        self.errors: list[str] = []
        self._pending: list[Fields] = []
        self._inbox: queue.Queue[Fields | None] = queue.Queue()
        self._sock: socket.socket | None = None
        self._closed = threading.Event()
        self._reader: threading.Thread | None = None

    # -- connection --------------------------------------------------------------------------

    def connect(self) -> None:
        """A new connection. Both sides reset their sequence numbers at each logon (the
        session's ``reset_on_logon``), so the player starts again at 1."""
        self.close()
        self.next_out, self.next_in = 1, 1
        self.received = {}
        self.resent = []
        self._pending = []
        self._inbox = queue.Queue()
        self._closed = threading.Event()
        sock = socket.create_connection(("127.0.0.1", self.v.port), timeout=WAIT_S)
        sock.settimeout(None)
        self._sock = sock
        self._reader = threading.Thread(target=self._read, args=(sock, self._inbox,
                                                                 self._closed), daemon=True)
        self._reader.start()

    def close(self) -> None:
        """Drop the connection from our side (no Logout)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
            self._sock = None
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None

    def expect_disconnect(self, *, silently: bool = False) -> None:
        """The gateway closes the connection (after the messages already expected). With
        ``silently``, it must not have sent anything at all on this connection."""
        deadline = time.monotonic() + WAIT_S
        while True:
            message = self._take(deadline, allow_close=True)
            if message is None:
                break
            if silently or message.get(35) in ADMIN - {"0"}:
                raise ScenarioError(f"expected the connection to be closed, got {message}")
        self.close()

    # -- sending -----------------------------------------------------------------------------

    def header(self, msg_type: str, seq: int, *, sending_time: str | None = None,
               sender: str | None = None, target: str | None = None) -> list[tuple[int, str]]:
        return [(35, msg_type), (49, sender or self.v.sender), (56, target or self.v.target),
                (34, str(seq)), (52, sending_time or timestamp())]

    def send(self, msg_type: str, body: Pairs = (), *, seq: int | None = None,
             poss_dup: bool = False, orig_sending_time: str | None = None,
             poss_resend: bool = False, sending_time: str | None = None,
             sender: str | None = None, target: str | None = None,
             begin_string: str | None = None) -> int:
        """A well-formed message; MsgSeqNum ``seq`` or the next one. ``poss_dup`` adds 43=Y and
        OrigSendingTime (now, unless given; ``orig_sending_time=""`` leaves it out)."""
        if seq is None:
            seq = self.next_out
            self.next_out += 1
        pairs: list[tuple[int | str, str]] = list(
            self.header(msg_type, seq, sending_time=sending_time, sender=sender, target=target))
        if poss_dup:
            pairs.append((43, "Y"))
            if orig_sending_time != "":
                pairs.append((122, orig_sending_time or timestamp(-1)))
        if poss_resend:
            pairs.append((97, "Y"))
        pairs.extend(body)
        self.send_raw(frame(begin_string or self.v.begin_string, pairs))
        return seq

    def send_pairs(self, pairs: Pairs, **framing: object) -> None:
        """Fields exactly as given between BodyLength and CheckSum (header included)."""
        self.send_raw(frame(self.v.begin_string, pairs, **framing))  # type: ignore[arg-type]

    def send_raw(self, data: bytes) -> None:
        assert self._sock is not None, "not connected"
        self._sock.sendall(data)

    # -- conversations -----------------------------------------------------------------------

    def logon(self, *, seq: int = 1, heartbeat_s: int = 30, reset: bool = False) -> Fields:
        """Connect and log on; the gateway answers with its Logon at MsgSeqNum 1."""
        self.connect()
        body: list[tuple[int | str, str]] = [(98, "0"), (108, str(heartbeat_s))]
        if reset:
            body.append((141, "Y"))
        self.next_out = seq
        self.send("A", body)
        return self.expect("A", {98: "0", 108: str(heartbeat_s)}, seq=1)

    def logout(self) -> None:
        """Our Logout, the gateway's answer, and the gateway closes the connection."""
        self.send("5")
        self.expect("5", {58: None})
        self.expect_disconnect()

    def test_request(self, test_req_id: str = "PING") -> Fields:
        """A TestRequest and its Heartbeat: proves both sides agree on the sequence numbers
        and that nothing else was sent before the Heartbeat."""
        self.send("1", [(112, test_req_id)])
        return self.expect("0", {112: test_req_id})

    def order_fields(self, cl_ord_id: str, *, price: str = "9.50", qty: str = "100"
                     ) -> list[tuple[int | str, str]]:
        """A limit buy of ZVZZT (it rests on the venue: pending new, then new)."""
        return [(11, cl_ord_id), (1, self.v.account), (21, "1"), (55, "ZVZZT"), (54, "1"),
                (60, timestamp()), (38, qty), (40, "2"), (44, price)]

    def order(self, cl_ord_id: str, **send: object) -> int:
        """Send a NewOrderSingle and wait for its pending-new and new reports."""
        seq = self.send("D", self.order_fields(cl_ord_id), **send)  # type: ignore[arg-type]
        self.reports(cl_ord_id, ["A", "0"])
        return seq

    def reports(self, cl_ord_id: str, exec_types: Sequence[str]) -> list[Fields]:
        """The ExecutionReports of ``cl_ord_id``, with these ExecTypes, in this order."""
        found: list[Fields] = []
        deadline = time.monotonic() + WAIT_S
        while len(found) < len(exec_types):
            match = next((m for m in self._pending
                          if m[35] == "8" and m.get(11) == cl_ord_id), None)
            if match is None:
                message = self._take(deadline)
                assert message is not None
                if message.get(43) != "Y":
                    self._pending.append(message)
                continue
            self._pending.remove(match)
            found.append(match)
        got = [m.get(150) for m in found]
        if got != list(exec_types):
            raise ScenarioError(f"reports of {cl_ord_id}: ExecTypes {got}, expected "
                                 f"{list(exec_types)}")
        return found

    def never_reached_the_order_path(self, cl_ord_id: str, probe: str, *,
                                     already: int = 0) -> None:
        """No (more) reports of ``cl_ord_id`` than the ``already`` ones: a valid order ``probe``
        is sent after it and its reports come back first (the core and the client outbox keep
        the order of inputs, so a report of the message in question would come before)."""
        self.order(probe)
        seen = [m for m in self.received.values() if m.get(11) == cl_ord_id]
        if len(seen) != already:
            raise ScenarioError(f"{cl_ord_id} reached the order path: {seen}")

    # -- receiving ---------------------------------------------------------------------------

    def expect(self, msg_type: str, fields: Mapping[int, str | None] | None = None, *,
               seq: int | None = None) -> Fields:
        """The next session-level message: MsgType ``msg_type``, MsgSeqNum ``seq`` if given,
        and ``fields`` (``None``: absent)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            message = next((m for m in self._pending if m[35] in REPLIES), None)
            if message is None:
                taken = self._take(deadline)
                assert taken is not None
                if taken.get(43) == "Y":
                    raise ScenarioError(f"a resend, expected {msg_type!r}: {taken}")
                self._pending.append(taken)
                continue
            self._pending.remove(message)
            if message[35] == "0" and 112 not in message and not (
                    msg_type == "0" and not fields):
                continue  # an unsolicited Heartbeat: allowed at any time
            break
        problems = []
        if message[35] != msg_type:
            problems.append(f"MsgType {message[35]!r}, expected {msg_type!r}")
        if seq is not None and message.get(34) != str(seq):
            problems.append(f"MsgSeqNum {message.get(34)}, expected {seq}")
        for tag, value in (fields or {}).items():
            if message.get(tag) != value:
                problems.append(f"{tag}={message.get(tag)!r}, expected {value!r}")
        if problems:
            raise ScenarioError("; ".join(problems) + f" in {message}")
        return message

    def expect_resend(self, begin: int, end: int) -> list[Fields]:
        """The answer to our ResendRequest(begin, end): the gateway's application messages in
        the range again, with PossDupFlag and their OrigSendingTime, and a SequenceReset-GapFill
        for each run of session messages (which are never resent). ``end`` 0: up to the last."""
        last = max(self.received) if end == 0 else end
        answer: list[Fields] = []
        seq = begin
        while seq <= last:
            original = self.received[seq]
            if original[35] in ADMIN:
                run_end = seq
                while run_end + 1 <= last and self.received[run_end + 1][35] in ADMIN:
                    run_end += 1
                answer.append(self._resent("4", {34: str(seq), 43: "Y", 123: "Y",
                                                 36: str(run_end + 1)}))
                seq = run_end + 1
                continue
            resent = self._resent(original[35], {34: str(seq), 43: "Y", 122: original[52]})
            changed = {tag for tag in set(original) | set(resent)
                       if tag not in _RESEND_CHANGES and original.get(tag) != resent.get(tag)}
            if changed:
                raise ScenarioError(f"resent message {seq} differs in {sorted(changed)}: "
                                     f"{resent} vs {original}")
            answer.append(resent)
            seq += 1
        return answer

    def _resent(self, msg_type: str, fields: Mapping[int, str]) -> Fields:
        deadline = time.monotonic() + WAIT_S
        while not self.resent:
            message = self._take(deadline)
            assert message is not None
            if message.get(43) != "Y":
                self._pending.append(message)
            if any(m[35] in ADMIN and m[35] != "0" for m in self._pending):
                raise ScenarioError(f"expected a resend, got {self._pending}")
        message = self.resent.pop(0)
        problems = [f"{tag}={message.get(tag)!r}, expected {value!r}"
                    for tag, value in fields.items() if message.get(tag) != value]
        if message[35] != msg_type or problems:
            raise ScenarioError(f"resend: MsgType {message[35]} (expected {msg_type}) "
                                 f"{problems} in {message}")
        return message

    def heartbeat_while_talking(self, every_s: float) -> Fields:
        """Send a Heartbeat every ``every_s`` (so that the gateway hears from us and has no
        reason for a TestRequest) until the gateway, which has nothing to say, sends its own."""
        deadline = time.monotonic() + WAIT_S
        while True:
            self.send("0")
            message = self._take(min(deadline, time.monotonic() + every_s), allow_timeout=True,
                                 quiet_until=deadline)
            if message is None:
                continue
            if message[35] == "0" and 112 not in message:
                return message
            if message[35] == "1":  # we were slow: answer as a counterparty must
                self.send("0", [(112, message.get(112, ""))])
            elif message.get(43) != "Y":
                self._pending.append(message)

    def _take(self, deadline: float, *, allow_close: bool = False, allow_timeout: bool = False,
              quiet_until: float = 0.0) -> Fields | None:
        """The next message from the gateway (checked and counted, or, if PossDupFlag, kept for
        ``expect_resend``); None once it closed the connection (only if ``allow_close``)."""
        while True:
            try:
                message = self._inbox.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                if allow_timeout and time.monotonic() < quiet_until:
                    return None
                dump_threads("no message from the gateway")
                raise ScenarioError(f"no message from the gateway within {WAIT_S} s; "
                                     f"not yet consumed: {self._pending}") from None
            if message is None:
                if allow_close:
                    return None
                raise ScenarioError(f"the gateway closed the connection; not yet consumed: "
                                     f"{self._pending}")
            if self.errors:
                raise ScenarioError(f"wire errors: {self.errors}")
            if message.get(43) == "Y":
                self.resent.append(message)  # a resend: ``expect_resend`` checks it
            else:
                self._count(message)
            return message

    def _count(self, message: Fields) -> None:
        seq = int(message[34])
        if message[35] == "A" and message.get(141) == "Y":
            self.next_in = 1
        if seq != self.next_in:
            raise ScenarioError(f"MsgSeqNum {seq} from the gateway, expected {self.next_in}: "
                                 f"{message}")
        self.received[seq] = message
        self.next_in = seq + 1
        if message[35] == "4":  # a SequenceReset of the gateway's own (never expected here)
            self.next_in = int(message[36])

    def _read(self, sock: socket.socket, inbox: queue.Queue[Fields | None],
              closed: threading.Event) -> None:
        try:
            for raw in frames(sock):
                try:
                    fields = check_frame(raw, self.v.begin_string)
                    if (fields.get(49), fields.get(56)) != (self.v.target, self.v.sender):
                        raise WireError(f"CompIDs {fields.get(49)}->{fields.get(56)}")
                except (WireError, ValueError) as exc:
                    self.errors.append(f"{exc}: {raw!r}")
                    continue
                inbox.put(fields)
        finally:
            closed.set()
            inbox.put(None)
