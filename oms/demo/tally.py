"""What the sample strategy knows about its orders, built from the commands it sent and the
events it received (pure: the caller passes the clock readings).

An order is followed from its first ``cl_ord_id`` (its root) along its cancel/replace chain;
``seq`` orders its events, so a late duplicate or an out-of-order event cannot move it back.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from oms.client import OrderEvent

LIVE_STATUSES = frozenset({"pending_new", "new", "partially_filled", "pending_cancel",
                           "pending_replace"})
REQUEST_LATENCY = {"canceled": "cancel -> canceled", "replaced": "replace -> replaced"}
SIGN = {"buy": Decimal(1), "sell": Decimal(-1), "sell_short": Decimal(-1)}


class Intent(StrEnum):
    """Why the strategy sent an order: what it expects to happen to it."""

    TAKE = "take"          # marketable: fills on arrival against the simulated liquidity
    REST = "rest"          # passive: rests, then is replaced or cancelled
    CROSS_MAKER = "cross maker"  # first leg of a ZVZZT cross: rests until the taker comes
    CROSS_TAKER = "cross taker"  # second leg: fills on arrival against the maker
    RISK_TEST = "risk test"      # deliberately outside a limit: a risk reject is expected
    VALIDATION_TEST = "validation test"


FILLS_ON_ARRIVAL = frozenset({Intent.TAKE, Intent.CROSS_TAKER})


@dataclass
class TrackedOrder:
    root: str
    account: str
    symbol: str
    side: str
    intent: Intent
    submitted_ns: int
    current: str
    """The latest accepted ``cl_ord_id`` of the chain: what a cancel or replace names."""
    order_id: str | None = None
    seq: int = 0
    status: str | None = None
    reject_source: str | None = None
    cum_qty: Decimal = Decimal(0)
    request_in_flight: str | None = None
    """The ``cl_ord_id`` of a cancel or replace sent and not yet answered."""
    followed_up: bool = False
    acked: bool = False
    filled: bool = False

    @property
    def is_live(self) -> bool:
        return self.status is None or self.status in LIVE_STATUSES


@dataclass
class Latencies:
    """Samples in milliseconds, by what was measured."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, what: str, start_ns: int, end_ns: int) -> None:
        self.samples[what].append((end_ns - start_ns) / 1e6)


@dataclass
class Tally:
    orders: dict[str, TrackedOrder] = field(default_factory=dict)
    root_of: dict[str, str] = field(default_factory=dict)
    request_sent_ns: dict[str, int] = field(default_factory=dict)
    commands: Counter[str] = field(default_factory=Counter)
    events: int = 0
    exec_types: Counter[str] = field(default_factory=Counter)
    request_rejects: Counter[str] = field(default_factory=Counter)
    fills: int = 0
    filled_qty: Counter[str] = field(default_factory=Counter)
    notional: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    positions: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    latency: Latencies = field(default_factory=Latencies)
    foreign_events: int = 0
    client_duplicates: int = 0
    """Events the client dropped as repeats (``event_id`` seen before)."""

    # -- what the strategy sent -----------------------------------------------------------

    def submitted(self, cl_ord_id: str, account: str, symbol: str, side: str, intent: Intent,
                  now_ns: int) -> TrackedOrder:
        order = TrackedOrder(cl_ord_id, account, symbol, side, intent, now_ns, cl_ord_id)
        self.orders[cl_ord_id] = order
        self.root_of[cl_ord_id] = cl_ord_id
        self.commands["new_order"] += 1
        return order

    def requested(self, kind: str, cl_ord_id: str, order: TrackedOrder, now_ns: int) -> None:
        """A cancel or replace of ``order`` was sent as ``cl_ord_id``."""
        self.root_of[cl_ord_id] = order.root
        self.request_sent_ns[cl_ord_id] = now_ns
        order.request_in_flight = cl_ord_id
        self.commands[kind] += 1

    # -- what came back -------------------------------------------------------------------

    def on_event(self, event: OrderEvent, now_ns: int) -> TrackedOrder | None:
        """Apply one event; returns the order it concerns (None for one of no order of ours)."""
        self.events += 1
        self.exec_types[event.exec_type] += 1
        root = self.root_of.get(event.cl_ord_id or "")
        order = self.orders.get(root) if root else None
        if order is None:
            self.foreign_events += 1
            return None
        if event.is_fill and event.last_qty is not None and event.last_px is not None:
            self._fill(order, event, now_ns)
        if event.cl_ord_id != order.root and event.cl_ord_id == order.request_in_flight:
            self._answer(order, event, now_ns)
        if event.order_id is None:  # a command that created no order: only its reject
            if event.cl_ord_id == order.root:
                order.status, order.reject_source = "rejected", event.reject_source
            return order
        order.order_id = event.order_id
        if event.seq is not None and event.seq <= order.seq:
            return order
        order.seq = event.seq or order.seq
        order.status = event.ord_status
        order.cum_qty = event.cum_qty or order.cum_qty
        if event.exec_type == "rejected":
            order.reject_source = event.reject_source
        if event.exec_type == "replaced" and event.cl_ord_id:
            order.current = event.cl_ord_id
        if event.exec_type == "pending_new" and event.cl_ord_id == order.root:
            self.latency.add("submit -> accepted (pending_new)", order.submitted_ns, now_ns)
        if event.exec_type == "new" and not order.acked:
            order.acked = True
            self.latency.add("submit -> ack (new)", order.submitted_ns, now_ns)
        return order

    def _fill(self, order: TrackedOrder, event: OrderEvent, now_ns: int) -> None:
        assert event.last_qty is not None and event.last_px is not None
        self.fills += 1
        self.filled_qty[order.symbol] += int(event.last_qty)
        self.notional[order.symbol] += event.last_qty * event.last_px
        self.positions[(order.account, order.symbol)] += SIGN[order.side] * event.last_qty
        if not order.filled and order.intent in FILLS_ON_ARRIVAL:
            self.latency.add("submit -> fill (marketable)", order.submitted_ns, now_ns)
        order.filled = True

    def _answer(self, order: TrackedOrder, event: OrderEvent, now_ns: int) -> None:
        """The answer to the cancel or replace in flight, if ``event`` is one."""
        assert event.cl_ord_id is not None
        sent = self.request_sent_ns.get(event.cl_ord_id)
        label = REQUEST_LATENCY.get(event.exec_type)
        if label is not None and sent is not None:
            self.latency.add(label, sent, now_ns)
        if event.is_reject:
            self.request_rejects[event.exec_type] += 1
        if event.exec_type in ("canceled", "replaced") or event.is_reject:
            order.request_in_flight = None

    # -- summaries ------------------------------------------------------------------------

    def final_states(self) -> Counter[str]:
        """Orders by final state; a rejected order by who rejected it, a cancelled one by
        whether part of it had filled."""
        states: Counter[str] = Counter()
        for order in self.orders.values():
            status = order.status or "no answer"
            if status == "rejected":
                status = f"rejected ({order.reject_source or 'unknown'})"
            elif status == "canceled" and order.cum_qty > 0:
                status = "canceled (partly filled)"
            states[status] += 1
        return states

    def live_orders(self) -> list[TrackedOrder]:
        return [o for o in self.orders.values() if o.is_live]

    @property
    def rejects(self) -> int:
        return sum(self.exec_types[t] for t in ("rejected", "cancel_rejected",
                                                "replace_rejected"))
