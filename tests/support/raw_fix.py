"""An independent FIX client for tests: simplefix over a plain socket, no quickfix anywhere.

It checks every message the gateway sends at the byte level (BeginString first, BodyLength,
CheckSum, MsgType third, CompIDs, SendingTime format, MsgSeqNum contiguity), so our wire format
is verified by more than the library that wrote it. It keeps its own sequence numbers across
reconnects, answers TestRequests, and answers a ResendRequest by resending its application
messages with PossDupFlag (and gap-filling the rest), as a FIX engine must.
"""

from __future__ import annotations

import contextlib
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import simplefix

Fields = dict[int, str]
SOH = b"\x01"
_END = re.compile(rb"\x0110=\d{3}\x01")
_TIMESTAMP = re.compile(r"\d{8}-\d{2}:\d{2}:\d{2}(\.\d{3,9})?")
ADMIN = frozenset({"0", "1", "2", "3", "4", "5", "A"})


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


class WireError(AssertionError):
    """The gateway sent something that is not well-formed FIX."""


def frames(sock: socket.socket) -> Iterator[bytes]:
    """Each complete message (up to and including its CheckSum) as it arrives on ``sock``,
    until the peer closes the connection or it fails."""
    buffer = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            buffer += data
            while (match := _END.search(buffer)) is not None:
                raw, buffer = buffer[:match.end()], buffer[match.end():]
                yield raw
    except OSError:
        return


def check_frame(raw: bytes, begin_string: str) -> Fields:
    """The fields of one complete message, after checking its framing byte by byte."""
    prefix = f"8={begin_string}\x01".encode()
    if not raw.startswith(prefix):
        raise WireError(f"does not start with {prefix!r}: {raw[:30]!r}")
    length_end = raw.index(SOH, len(prefix))
    length_field = raw[len(prefix):length_end]
    if not length_field.startswith(b"9="):
        raise WireError(f"BodyLength is not the second field: {raw[:40]!r}")
    body_start = length_end + 1
    checksum_at = raw.rindex(b"10=")
    if int(length_field[2:]) != checksum_at - body_start:
        raise WireError(f"BodyLength {int(length_field[2:])} != {checksum_at - body_start}")
    if int(raw[checksum_at + 3:checksum_at + 6]) != sum(raw[:checksum_at]) % 256:
        raise WireError("CheckSum mismatch")
    if not raw[body_start:].startswith(b"35="):
        raise WireError("MsgType is not the third field")
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    message = parser.get_message()
    if message is None:
        raise WireError(f"simplefix cannot parse {raw!r}")
    fields: Fields = {}
    for tag, value in message.pairs:
        fields.setdefault(int(tag), value.decode())
    if not _TIMESTAMP.fullmatch(fields.get(52, "")):
        raise WireError(f"SendingTime {fields.get(52)!r} is not a UTCTimestamp")
    return fields


class RawFixClient:
    def __init__(self, port: int, *, sender: str = "CLIENT1", target: str = "OMS",
                 begin_string: str = "FIX.4.4", source: str = "127.0.0.1") -> None:
        self.port, self.sender, self.target = port, sender, target
        self.begin_string, self.source = begin_string, source
        self.next_out = 1
        self.next_in = 1
        self.sent: dict[int, tuple[str, list[tuple[int, str]], str]] = {}
        self.inbox: queue.Queue[Fields] = queue.Queue()
        self.admin: queue.Queue[Fields] = queue.Queue()
        self.errors: list[str] = []
        self.closed = threading.Event()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    # -- connection ------------------------------------------------------------------------

    def connect(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.source, 0))
        sock.connect(("127.0.0.1", self.port))
        self._sock = sock
        self.closed.clear()
        threading.Thread(target=self._read, args=(sock,), daemon=True).start()

    def logon(self, *, password: str | None = None, reset: bool = False,
              timeout: float = 10.0) -> Fields:
        """Connect and send a Logon; returns the gateway's answer (Logon, or Logout).

        A Logon with ResetSeqNumFlag that the acceptor drops without a word is sent again on a
        new connection, as an initiator reconnects: quickfix refuses a second connection while
        it is still finishing with the session's previous one (its logout callbacks run after
        the socket is closed), and a client that logs on again right after a logout can get
        there first. Without the reset, a retry would reuse sequence numbers: not retried."""
        deadline = time.monotonic() + timeout
        fields: list[tuple[int, str]] = [(98, "0"), (108, "30")]
        if reset:
            fields.append((141, "Y"))
        if password is not None:
            fields.append((554, password))
        while True:
            if reset:
                self.next_out, self.next_in = 1, 1
            self.connect()
            self._send("A", fields)
            answer = self._admin_or_close(lambda m: m[35] in ("A", "5"), deadline)
            if answer is not None:
                return answer
            if not reset or time.monotonic() >= deadline:
                raise AssertionError(f"the Logon was dropped without an answer ({timeout}s)")
            self.drop()
            time.sleep(0.1)

    def _admin_or_close(self, predicate: Callable[[Fields], bool],
                        deadline: float) -> Fields | None:
        """The first session message matching ``predicate``, or None once the connection has
        closed with nothing matching left to read; raises at ``deadline``."""
        while time.monotonic() < deadline:
            try:
                message = self.admin.get(timeout=0.05)
            except queue.Empty:
                if self.closed.is_set() and self.admin.empty():
                    return None
                continue
            if predicate(message):
                return message
        raise AssertionError("no matching session message in time")

    def logout(self, timeout: float = 10.0) -> None:
        """Log out as a FIX engine does: send Logout, wait for the answer, and for the gateway
        to close the connection (a Logon sent before it has would find the session still
        logged on, and quickfix drops such a second connection without an answer)."""
        self._send("5", [])
        self.wait_admin(lambda m: m[35] == "5", timeout)
        self.closed.wait(timeout)
        self.drop()

    def drop(self) -> None:
        """Close the socket without a Logout (a lost connection)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
            self._sock = None
        self.closed.wait(5)

    def wait_closed(self, timeout: float = 10.0) -> bool:
        return self.closed.wait(timeout)

    # -- sending ---------------------------------------------------------------------------

    def send(self, msg_type: str, fields: list[tuple[int, str]] | dict[int, str], *,
             poss_resend: bool = False) -> int:
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
        return self._send(msg_type, pairs, poss_resend=poss_resend)

    def send_raw(self, data: bytes) -> None:
        assert self._sock is not None
        self._sock.sendall(data)

    def _send(self, msg_type: str, pairs: list[tuple[int, str]], *, seq: int | None = None,
              poss_dup: bool = False, orig_time: str | None = None,
              poss_resend: bool = False) -> int:
        with self._lock:
            if seq is None:
                seq = self.next_out
                self.next_out += 1
            sending_time = now_text()
            message = simplefix.FixMessage()
            message.append_pair(8, self.begin_string, header=True)
            message.append_pair(35, msg_type, header=True)
            message.append_pair(49, self.sender, header=True)
            message.append_pair(56, self.target, header=True)
            message.append_pair(34, seq, header=True)
            message.append_pair(52, sending_time, header=True)
            if poss_dup:
                message.append_pair(43, "Y", header=True)
                message.append_pair(122, orig_time or sending_time, header=True)
            if poss_resend:
                message.append_pair(97, "Y", header=True)
            for tag, value in pairs:
                message.append_pair(tag, value)
            if not poss_dup:
                self.sent[seq] = (msg_type, pairs, sending_time)
            if self._sock is not None:
                self._sock.sendall(message.encode())
        return seq

    # -- receiving -------------------------------------------------------------------------

    def next(self, timeout: float = 10.0) -> Fields:
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no application message within {timeout}s") from None

    def wait_for(self, predicate: Callable[[Fields], bool], timeout: float = 15.0) -> Fields:
        deadline = time.monotonic() + timeout
        seen: list[Fields] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching message within {timeout}s; saw {seen}")
            try:
                message = self.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(message):
                return message
            seen.append(message)

    def wait_admin(self, predicate: Callable[[Fields], bool], timeout: float = 10.0) -> Fields:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.admin.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if predicate(message):
                return message
        raise AssertionError(f"no matching session message within {timeout}s")

    def reports_for(self, cl_ord_id: str, count: int, timeout: float = 15.0) -> list[Fields]:
        return [self.wait_for(lambda m: m.get(11) == cl_ord_id, timeout) for _ in range(count)]

    def _read(self, sock: socket.socket) -> None:
        try:
            for raw in frames(sock):
                self._received(raw)
        finally:
            self.closed.set()

    def _received(self, raw: bytes) -> None:
        try:
            fields = check_frame(raw, self.begin_string)
            if (fields.get(49), fields.get(56)) != (self.target, self.sender):
                raise WireError(f"CompIDs {fields.get(49)}->{fields.get(56)}")
        except (WireError, ValueError) as exc:
            self.errors.append(f"{exc}: {raw!r}")
            return
        self._sequence(fields)
        msg_type = fields[35]
        if msg_type == "1":
            self._send("0", [(112, fields.get(112, ""))])
        elif msg_type == "2":
            self._resend(int(fields[7]), int(fields[16]))
        if msg_type in ADMIN:
            self.admin.put(fields)
        else:
            self.inbox.put(fields)

    def _sequence(self, fields: Fields) -> None:
        seq = int(fields[34])
        if fields[35] == "4" and fields.get(123) != "Y":  # SequenceReset-Reset
            self.next_in = int(fields[36])
            return
        if fields.get(43) == "Y":
            if fields[35] == "4":
                self.next_in = max(self.next_in, int(fields[36]))
            return
        if fields[35] == "A" and fields.get(141) == "Y":
            self.next_in = seq
        if seq != self.next_in and fields[35] not in ("5",):
            self.errors.append(f"MsgSeqNum {seq} received, {self.next_in} expected")
        self.next_in = seq + 1
        if fields[35] == "4":
            self.next_in = int(fields[36])

    def _resend(self, begin: int, end: int) -> None:
        last = self.next_out - 1 if end == 0 else min(end, self.next_out - 1)
        gap_from: int | None = None
        for seq in range(begin, last + 1):
            msg_type, pairs, sent_at = self.sent.get(seq, ("0", [], ""))
            if msg_type in ADMIN:
                gap_from = seq if gap_from is None else gap_from
                continue
            if gap_from is not None:
                self._send("4", [(123, "Y"), (36, str(seq))], seq=gap_from, poss_dup=True)
                gap_from = None
            self._send(msg_type, pairs, seq=seq, poss_dup=True, orig_time=sent_at)
        if gap_from is not None:
            self._send("4", [(123, "Y"), (36, str(last + 1))], seq=gap_from, poss_dup=True)
