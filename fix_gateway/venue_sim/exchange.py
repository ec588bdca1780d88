"""The exchange's front desk: one lock around the matching engine, the injected behaviours,
and the hand-off of every report to the sender.

Reports are handed over while the lock is held, so that each session receives its reports in
the order the engine produced them (a fill never overtakes the cancel that followed it). The
sender must therefore never call back into the exchange. Nothing here knows about FIX.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

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
        self._lock = threading.Lock()
        self._dice = random.Random(seed)
        self._timers = timers
        b = self.behaviours
        if timers is None and (b.ack_latency_ms or b.unsolicited_cancel_rate):
            raise ValueError("ack latency and unsolicited cancels need timers")
        self._latency_s = b.ack_latency_ms / 1000.0

    def handle(self, request: Request) -> None:
        """Process one order request now, or after the injected ack latency."""
        if self._latency_s and self._timers is not None:
            self._timers.call_later(self._latency_s, lambda: self._handle(request))
        else:
            self._handle(request)

    def expire_day_orders(self) -> int:
        """Expire every resting DAY order now; returns how many expired."""
        with self._lock:
            reports = self.engine.expire_day_orders()
            self._emit(reports)
        if reports:
            log.info("expired %d day orders", len(reports))
        return len(reports)

    def _handle(self, request: Request) -> None:
        with self._lock:
            if isinstance(request, NewOrder):
                reports = self._new_order(request)
            elif isinstance(request, CancelOrder):
                reports = self.engine.cancel(request)
            elif isinstance(request, ReplaceOrder):
                reports = self.engine.replace(request)
            else:
                reports = self.engine.status(request)
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
                order_id = ack.order_id
                self._timers.call_later(
                    b.unsolicited_cancel_after_ms / 1000.0, lambda: self._unsolicited(order_id)
                )
        return reports

    def _unsolicited(self, order_id: str) -> None:
        with self._lock:
            self._emit(self.engine.cancel_unsolicited(order_id, UNSOLICITED_CANCEL_TEXT))

    def _emit(self, reports: list[Report]) -> None:
        send = self._send
        twice = self.behaviours.duplicate_reports
        for report in reports:
            send(report)
            if twice:
                send(report)
