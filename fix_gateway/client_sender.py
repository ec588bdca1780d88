"""Sends what the core owes FIX clients, off the core thread.

One worker thread per client session, each with its own queue: a client that stops reading
delays only its own reports (until quickfix's heartbeat check drops it), never the core or the
other clients. The core hands over committed ``client_outbox`` rows (``deliver``), says when a
session may be sent to (``resume`` after the core has seen its logon, so owed rows go out in
order before new ones) and collects the ids sent (``take_sent``) to mark them in its next batch.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping, Sequence

import quickfix as fix

from fix_gateway.session_settings import SessionKey
from fix_gateway.wire import build_message
from oms.engine.client_sessions import OwedMessage

log = logging.getLogger(__name__)


class ClientSender:
    def __init__(self, sessions: Mapping[str, SessionKey]) -> None:
        self._keys = dict(sessions)
        self._lock = threading.Lock()
        self._wake = {name: threading.Condition(self._lock) for name in self._keys}
        self._queues: dict[str, deque[OwedMessage]] = {name: deque() for name in self._keys}
        self._resumed: dict[str, int] = {}
        """Sessions that may be sent to, with the generation of their last resume."""
        self._generation = 0
        self._sent: list[int] = []
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        for name in self._keys:
            thread = threading.Thread(target=self._run, args=(name,), daemon=True,
                                      name=f"oms-client-sender-{name}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            for condition in self._wake.values():
                condition.notify_all()
        for thread in self._threads:
            thread.join(5)
        self._threads = []

    # -- the core's side (ClientPort) -------------------------------------------------------

    def deliver(self, messages: Sequence[OwedMessage]) -> None:
        with self._lock:
            for message in messages:
                queue = self._queues.get(message.session)
                if queue is not None:
                    queue.append(message)
                    self._wake[message.session].notify()

    def replace_all(self, messages: Sequence[OwedMessage]) -> None:
        with self._lock:
            for queue in self._queues.values():
                queue.clear()
        self.deliver(messages)

    def resume(self, session: str) -> None:
        with self._lock:
            if session in self._keys:
                self._generation += 1
                self._resumed[session] = self._generation
                self._wake[session].notify()

    def pause(self, session: str) -> None:
        with self._lock:
            self._resumed.pop(session, None)

    def take_sent(self) -> list[int]:
        with self._lock:
            sent, self._sent = self._sent, []
        return sent

    def pending(self, session: str) -> int:
        with self._lock:
            return len(self._queues.get(session, ()))

    # -- quickfix ---------------------------------------------------------------------------

    def is_logged_on(self, session: str) -> bool:
        quickfix_session = self._session(session)
        return bool(quickfix_session is not None and quickfix_session.isLoggedOn())

    def sequence_numbers(self, session: str) -> tuple[int, int]:
        quickfix_session = self._session(session)
        if quickfix_session is None:
            return (0, 0)
        return (quickfix_session.getExpectedSenderNum(),
                quickfix_session.getExpectedTargetNum())

    def rewind(self, session: str, next_target_seq: int) -> None:
        """Expect ``next_target_seq`` next and drop the connection: at its next logon the client
        is asked to resend from there (messages received but never committed)."""
        quickfix_session = self._session(session)
        if quickfix_session is not None:
            quickfix_session.setNextTargetMsgSeqNum(next_target_seq)
            quickfix_session.disconnect()

    def _session(self, session: str) -> fix.Session | None:
        key = self._keys.get(session)
        return None if key is None else fix.Session.lookupSession(key.session_id())

    def _send(self, message: OwedMessage) -> bool:
        key = self._keys[message.session]
        try:
            if not self.is_logged_on(message.session):
                return False
            outgoing = build_message(key.begin_string, message.msg_type, message.fields)
            if message.replay:
                outgoing.getHeader().setField(97, "Y")  # PossResend: may have been sent before
            return bool(fix.Session.sendToTarget(outgoing, key.session_id()))
        except Exception:
            log.exception("client %s: message %d not sent", message.session, message.row_id)
            return False

    def _run(self, session: str) -> None:
        wake = self._wake[session]
        while True:
            with self._lock:
                while not self._stopping and not (session in self._resumed
                                                  and self._queues[session]):
                    wake.wait()
                if self._stopping:
                    return
                message = self._queues[session][0]
                generation = self._resumed[session]
            sent = self._send(message)
            with self._lock:
                queue = self._queues[session]
                if sent:
                    if queue and queue[0] is message:
                        queue.popleft()
                    self._sent.append(message.row_id)
                elif self._resumed.get(session) == generation:
                    self._resumed.pop(session)  # the session dropped: wait for its next logon
