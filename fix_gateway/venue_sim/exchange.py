"""The exchange's front desk: one thread owns the matching engine; everything else queues.

quickfix reader threads (one per session), the timers (delayed acks, unsolicited cancels, the
close) and callers in tests only put work on an unbounded queue; the engine thread takes it in
order, runs the matching engine and hands every report to the sender. So:

- each session gets its reports in the order the engine produced them;
- a reader thread never blocks on sending. If the engine thread sent from a reader thread
  (under a lock), a peer that stops reading would stall a send, the lock, every other
  session's reader, and then the peer's own sends to us: a distributed deadlock seen under
  load. Now the simulator always keeps reading, whatever its peers do.

Nothing here knows about FIX.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from fix_gateway.venue_sim.behaviours import Behaviours
from fix_gateway.venue_sim.matching import MatchingEngine
from fix_gateway.venue_sim.model import (
    CancelOrder,
    ExecKind,
    ExecutionReport,
    NewOrder,
    ReplaceOrder,
    Report,
    StatusRequest,
)
from fix_gateway.venue_sim.timers import Timers

log = logging.getLogger(__name__)

Send = Callable[[Report], None]
Request = NewOrder | CancelOrder | ReplaceOrder | StatusRequest

INJECTED_REJECT_TEXT = "rejected by the simulator (injected reject)"
UNSOLICITED_CANCEL_TEXT = "canceled by the venue (unsolicited)"


@dataclass(slots=True)
class _ExpireDay:
    done: threading.Event = field(default_factory=threading.Event)
    expired: int = 0


@dataclass(frozen=True, slots=True)
class _UnsolicitedCancel:
    order_id: str


_Work = Request | _ExpireDay | _UnsolicitedCancel | Callable[[], None] | None  # None: stop


class Exchange:
    def __init__(
        self,
        engine: MatchingEngine,
        send: Send,
        *,
        behaviours: Behaviours | None = None,
        seed: int = 1,
        timers: Timers | None = None,
    ) -> None:
        self.engine = engine
        self.behaviours = behaviours or Behaviours()
        self._send = send
        self._dice = random.Random(seed)
        self._timers = timers
        b = self.behaviours
        if timers is None and (b.ack_latency_ms or b.unsolicited_cancel_rate):
            raise ValueError("ack latency and unsolicited cancels need timers")
        self._latency_s = b.ack_latency_ms / 1000.0
        self._inbox: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("exchange already started")
        self._thread = threading.Thread(target=self._run, name="venue-sim-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._inbox.put(None)
            thread.join(timeout=10)

    # -- inputs (any thread) -------------------------------------------------------------------

    def handle(self, request: Request) -> None:
        """Queue one order request, now or after the injected ack latency."""
        if self._latency_s and self._timers is not None:
            self._timers.call_later(self._latency_s, lambda: self._inbox.put(request))
        else:
            self._inbox.put(request)

    def call_in_order(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the engine thread once the requests queued before it (and their
        reports) are done: e.g. to log a session out after answering its last message."""
        if self._latency_s and self._timers is not None:
            self._timers.call_later(self._latency_s, lambda: self._inbox.put(callback))
        else:
            self._inbox.put(callback)

    def expire_day_orders(self, wait_s: float | None = 10.0) -> int:
        """Expire every resting DAY order and report it. Waits (up to ``wait_s``) for the
        engine thread and returns how many expired; with ``wait_s=None`` returns 0 at once."""
        work = _ExpireDay()
        if self._thread is None:
            self._do(work)
            return work.expired
        self._inbox.put(work)
        if wait_s is None:
            return 0
        if not work.done.wait(wait_s):
            raise TimeoutError("the engine thread did not expire day orders in time")
        return work.expired

    # -- the engine thread ---------------------------------------------------------------------

    def _run(self) -> None:
        get = self._inbox.get
        while True:
            work = get()
            if work is None:
                return
            try:
                self._do(work)
            except Exception:
                log.exception("venue simulator failed to process %r", work)

    def _do(self, work: _Work) -> None:
        engine = self.engine
        if isinstance(work, NewOrder):
            reports = self._new_order(work)
        elif isinstance(work, CancelOrder):
            reports = engine.cancel(work)
        elif isinstance(work, ReplaceOrder):
            reports = engine.replace(work)
        elif isinstance(work, StatusRequest):
            reports = engine.status(work)
        elif isinstance(work, _UnsolicitedCancel):
            reports = engine.cancel_unsolicited(work.order_id, UNSOLICITED_CANCEL_TEXT)
        elif isinstance(work, _ExpireDay):
            reports = engine.expire_day_orders()
            work.expired = len(reports)
            if reports:
                log.info("expired %d day orders", len(reports))
            self._emit(reports)
            work.done.set()
            return
        elif work is not None:
            work()
            return
        else:
            return
        self._emit(reports)

    def _new_order(self, cmd: NewOrder) -> list[Report]:
        b = self.behaviours
        if b.reject_rate and self._dice.random() < b.reject_rate:
            return self.engine.reject(cmd, INJECTED_REJECT_TEXT)
        reports = self.engine.submit(cmd)
        if b.unsolicited_cancel_rate and self._timers is not None:
            ack = reports[0]
            if (
                isinstance(ack, ExecutionReport)
                and ack.kind is ExecKind.NEW
                and self.engine.live_order(ack.order_id) is not None
                and self._dice.random() < b.unsolicited_cancel_rate
            ):
                work = _UnsolicitedCancel(ack.order_id)
                self._timers.call_later(
                    b.unsolicited_cancel_after_ms / 1000.0, lambda: self._inbox.put(work)
                )
        return reports

    def _emit(self, reports: list[Report]) -> None:
        send = self._send
        twice = self.behaviours.duplicate_reports
        for report in reports:
            try:
                send(report)
                if twice:
                    send(report)
            except Exception:
                log.exception("sending %r failed", report)
