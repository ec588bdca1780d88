"""The demo's sample strategy, written against ``oms.client`` as any strategy would be.

It sends new orders at a steady rate for the run's duration (``Ideas`` decides what), reacts
to the venue's acknowledgements with cancels and replaces, and at the end cancels whatever is
still open and waits for the answers, so that the summary shows every order's final state.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from oms.client import OrderEvent, StrategyClient
from oms.demo.ideas import FollowUp, Ideas, NewOrder
from oms.demo.tally import Tally, TrackedOrder

Progress = Callable[[Tally, float, str], None]
"""Called about twice a second with the tally, the seconds elapsed and the phase."""

CANCELABLE = frozenset({"new", "partially_filled"})
PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True, slots=True)
class RunPlan:
    duration_s: float = 60.0
    orders_per_s: float = 60.0
    wind_down_s: float = 20.0
    """At most this long to cancel what is open and hear back at the end."""


class SampleStrategy:
    def __init__(self, client: StrategyClient, ideas: Ideas,
                 progress: Progress | None = None) -> None:
        self.client = client
        self.ideas = ideas
        self.tally = Tally()
        self._progress = progress
        self._due: list[tuple[float, int, str, FollowUp]] = []
        self._sequence = itertools.count()
        self._started = 0.0
        self._last_progress = 0.0
        self.phase = "trading"

    def run(self, plan: RunPlan) -> Tally:
        self._started = time.monotonic()
        end = self._started + plan.duration_s
        credit, last = 1.0, self._started
        while (now := time.monotonic()) < end:
            credit = min(credit + (now - last) * plan.orders_per_s, 50.0)
            last = now
            while credit >= 1:
                credit -= len(self._send(self.ideas.next_orders(self.tally.positions)))
            self._run_due(now)
            wait = (1 - credit) / plan.orders_per_s
            if self._due:
                wait = min(wait, self._due[0][0] - now)
            self._receive(max(min(wait, 0.05), 0.0))
        self.phase = "winding down"
        self._wind_down(plan.wind_down_s)
        self.phase = "done"
        self.tally.client_duplicates = self.client.dedup.duplicates
        self._report(force=True)
        return self.tally

    # -- sending ------------------------------------------------------------------------------

    def _send(self, orders: list[NewOrder]) -> list[NewOrder]:
        for order in orders:
            sent_ns = time.monotonic_ns()
            cl_ord_id = self.client.submit(
                order.account, order.symbol, order.side, order.quantity, price=order.price,
            )
            self.tally.submitted(cl_ord_id, order.account, order.symbol, order.side,
                                 order.intent, sent_ns)
        return orders

    def _cancel(self, order: TrackedOrder) -> None:
        sent_ns = time.monotonic_ns()
        cl_ord_id = self.client.cancel(order.account, order.current, symbol=order.symbol)
        self.tally.requested("cancel", cl_ord_id, order, sent_ns)

    def _replace(self, order: TrackedOrder, step: FollowUp) -> None:
        sent_ns = time.monotonic_ns()
        cl_ord_id = self.client.replace(order.account, order.current, price=step.price,
                                        quantity=step.quantity)
        self.tally.requested("replace", cl_ord_id, order, sent_ns)

    def _run_due(self, now: float) -> None:
        while self._due and self._due[0][0] <= now:
            _, _, root, step = heapq.heappop(self._due)
            order = self.tally.orders[root]
            if order.status not in CANCELABLE or order.request_in_flight is not None:
                continue
            if step.action == "cancel":
                self._cancel(order)
            else:
                self._replace(order, step)

    # -- receiving ----------------------------------------------------------------------------

    def _receive(self, timeout: float) -> None:
        for event in self.client.poll(timeout):
            self._on_event(event)
        self._report()

    def _on_event(self, event: OrderEvent) -> None:
        order = self.tally.on_event(event, time.monotonic_ns())
        if order is None or self.phase != "trading":
            return
        if event.exec_type in ("new", "replaced") and order.status in CANCELABLE:
            step = self.ideas.follow_up(order, event.price, event.quantity)
            if step is not None:
                due = time.monotonic() + step.delay_s
                heapq.heappush(self._due, (due, next(self._sequence), order.root, step))

    def _wind_down(self, limit_s: float) -> None:
        """Cancel every open order, and wait until no order is live (or ``limit_s``)."""
        deadline = time.monotonic() + limit_s
        self._due.clear()
        while time.monotonic() < deadline:
            live = self.tally.live_orders()
            if not live:
                break
            for order in live:
                if order.status in CANCELABLE and order.request_in_flight is None:
                    self._cancel(order)
            self._receive(0.2)
        quiet_until = time.monotonic() + 1.0  # late events (fills racing the cancels)
        while time.monotonic() < min(quiet_until, deadline + 1.0):
            events = self.client.poll(0.2)
            for event in events:
                self._on_event(event)
            if events:
                quiet_until = time.monotonic() + 1.0

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._progress is not None and (force or now - self._last_progress
                                           >= PROGRESS_EVERY_S):
            self._last_progress = now
            self._progress(self.tally, now - self._started, self.phase)
