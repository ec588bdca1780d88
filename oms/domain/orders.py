"""The order aggregate: one order along its whole cancel/replace chain.

An order changes only through ``Order.apply(input, now)``, which looks the pair
(phase, input kind) up in the explicit transition table (``order_transitions``). A pair with no
row is refused with a reason; nothing here raises for a bad input or a surprising report.

What the aggregate keeps as facts: the fills by ExecID, the requests in flight, whether the
order was sent, acknowledged, paused for the day or closed. What it derives after every change:
``status`` (FIX 4.4 precedence over every state the order is in), ``cum_qty``, ``avg_px`` and
``leaves_qty`` (0 once closed, otherwise quantity - cum, never negative: an overfill is
recorded in ``overfilled`` and surfaced as an anomaly, never clipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from functools import cache

from oms.domain.order_events import (
    Anomaly,
    AnomalyKind,
    OrderEvent,
    Outcome,
    PositionDelta,
    orderless_rejection,
)
from oms.domain.order_inputs import (
    ExpireOrder,
    OperatorCloseOrder,
    OrderAccepted,
    OrderInput,
    RejectOrder,
    RequestCancel,
    RequestKind,
    RequestReplace,
    RestatementReason,
    RestateOrder,
    SubmitOrder,
    VenueCancelReject,
    VenueExecutionReport,
    submit_order_problems,
)
from oms.domain.order_phases import InputKind, Phase, input_kind
from oms.domain.order_records import ZERO, FillBook, PendingRequest
from oms.domain.order_status import highest_precedence
from oms.domain.order_transitions import TRANSITIONS
from oms.domain.order_unmatched import UnmatchedReport, unmatched_report
from oms.domain.values import ExecType, OrdStatus, OrdType, RejectSource, Side, TimeInForce

# What the engine needs, importable from one place.
__all__ = [
    "Anomaly",
    "AnomalyKind",
    "ExpireOrder",
    "OperatorCloseOrder",
    "Order",
    "OrderAccepted",
    "OrderEvent",
    "OrderInput",
    "Outcome",
    "PendingRequest",
    "Phase",
    "PositionDelta",
    "RejectOrder",
    "RequestCancel",
    "RequestKind",
    "RequestReplace",
    "RestateOrder",
    "RestatementReason",
    "SubmitOrder",
    "UnmatchedReport",
    "VenueCancelReject",
    "VenueExecutionReport",
    "orderless_rejection",
    "submit_order_problems",
    "unmatched_report",
]


@dataclass(slots=True)
class Order:
    order_id: str
    account: str
    symbol: str
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    venue: str
    expire_time: datetime | None
    cl_ord_id: str
    """The currently effective request id (the last accepted new, replace or cancel)."""
    orig_cl_ord_id: str | None = None
    origin: str = ""
    status: OrdStatus = OrdStatus.PENDING_NEW
    cum_qty: Decimal = ZERO
    leaves_qty: Decimal = ZERO
    avg_px: Decimal = ZERO
    venue_order_id: str | None = None
    seq: int = 0
    """Events emitted so far; the next event carries seq + 1."""
    version: int = 0
    """Inputs applied so far (for optimistic writes)."""
    pending: tuple[PendingRequest, ...] = ()
    fills: FillBook = field(default_factory=FillBook)
    seen_exec_ids: set[str] = field(default_factory=set)
    overfilled: bool = False
    """Sticky: cum qty went above the quantity at some point."""
    sent: bool = False
    acknowledged: bool = False
    paused_for_day: bool = False
    """A good-till order the venue reported done for the day; trading resumes next session."""
    closed_as: OrdStatus | None = None
    """canceled, expired, rejected, or done_for_day for a day order; None while open."""

    @classmethod
    def create(cls, order_id: str, command: SubmitOrder, venue: str) -> Order:
        """A new order from a validated command, routed to ``venue``; no event yet.

        Apply ``OrderAccepted`` (pending_new) or ``RejectOrder`` (rejected) next.
        """
        order = cls(
            order_id=order_id,
            account=command.account,
            symbol=command.symbol,
            side=command.side,
            ord_type=command.ord_type,
            time_in_force=command.time_in_force,
            quantity=command.quantity,
            price=command.price,
            stop_price=command.stop_price,
            venue=venue,
            expire_time=command.expire_time,
            cl_ord_id=command.cl_ord_id,
            origin=command.origin,
        )
        order._refresh()
        return order

    # --- reading ----------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        if self.closed_as is not None:
            return Phase.CLOSED
        if not self.sent:
            return Phase.CREATED
        if self.fills.cum_qty >= self.quantity:
            return Phase.FILLED
        if not self.acknowledged:
            return Phase.PENDING_NEW
        return Phase.WORKING

    @property
    def is_open(self) -> bool:
        """Can still trade: sent, not closed, quantity left."""
        return self.phase in (Phase.PENDING_NEW, Phase.WORKING)

    @property
    def pending_request(self) -> PendingRequest | None:
        """The latest request in flight, if any."""
        return self.pending[-1] if self.pending else None

    def pending_of(self, kind: RequestKind) -> tuple[PendingRequest, ...]:
        return tuple(r for r in self.pending if r.kind is kind)

    # --- changing ---------------------------------------------------------------------------

    def apply(self, value: OrderInput, now: datetime) -> Outcome:
        """Apply one input at ``now`` (UTC). Refusals and duplicates leave the order untouched."""
        if now.tzinfo is None:
            return Outcome.refuse("now must be a timezone-aware UTC datetime")
        kind = input_kind(value)
        problem = _non_finite_field(value)
        if problem is not None:
            return self._refusal(kind, value, problem)
        report = value if isinstance(value, VenueExecutionReport) else None
        if report is not None and report.exec_type is not None and self._seen(report):
            conflict = self._conflicting_reuse(report)
            if conflict is not None:
                return self._refusal(kind, value, conflict)
            flags = " (PossDup)" if report.poss_dup else ""
            flags += " (PossResend)" if report.poss_resend else ""
            note = f"ExecID {report.exec_id} already applied{flags}"
            return Outcome(duplicate=True, note=note)
        handler = TRANSITIONS.get((self.phase, kind))
        if handler is None:
            return self._refusal(kind, value)
        outcome = handler(self, value, now)
        if outcome.applied:
            if report is not None and report.exec_type is not None:
                self.seen_exec_ids.add(report.exec_id)
            self.version += 1
            self._refresh()
        return outcome

    def _seen(self, report: VenueExecutionReport) -> bool:
        return report.exec_id in self.seen_exec_ids

    def _conflicting_reuse(self, report: VenueExecutionReport) -> str | None:
        """A fill under an ExecID this order already applied to a different fill: not a resend
        (FIX promises ExecIDs unique per trading day only; a venue restart may reuse them).
        Neither is dropped silently as a duplicate nor applied: an operator checks it."""
        if report.exec_type not in (ExecType.PARTIAL_FILL, ExecType.FILL):
            return None
        applied = self.fills.executions.get(report.exec_id)
        if applied is None or report.last_qty is None or report.last_px is None:
            return None
        if (applied.quantity, applied.price) == (report.last_qty, report.last_px):
            return None
        return (f"ExecID {report.exec_id} reused: already applied as {applied.quantity} @ "
                f"{applied.price}, now {report.last_qty} @ {report.last_px}; not applied, "
                f"check the execution with the venue")

    def _refusal(self, kind: InputKind, value: OrderInput, reason: str | None = None) -> Outcome:
        if reason is None:
            reason = f"{kind.value} is not valid for an order in phase {self.phase.value}"
            reason += f" (status {self.status.value})"
        if isinstance(value, VenueExecutionReport | VenueCancelReject):
            return Outcome.refuse(reason, Anomaly(AnomalyKind.UNEXPECTED_REPORT, reason))
        return Outcome.refuse(reason)

    # --- helpers for the transition handlers (order_handlers_*) -----------------------------

    def _refresh(self) -> None:
        """Derive status, cum, avg and leaves from the facts kept."""
        self.cum_qty = self.fills.cum_qty
        self.avg_px = self.fills.avg_px
        if self.closed_as is not None:
            self.leaves_qty = ZERO
        else:
            self.leaves_qty = max(self.quantity - self.cum_qty, ZERO)
        self.status = highest_precedence(self._statuses())

    def _statuses(self) -> list[OrdStatus]:
        """Every state the order is in at once; ``status`` is the one FIX ranks highest.

        A closed order is no longer new or partially filled (it has no leaves): that keeps a
        rejected order with a stray late fill ``rejected`` (FIX ranks rejected below
        partially filled only because the two never meet on the sell side).
        """
        if self.closed_as is not None:
            statuses = [self.closed_as]
        else:
            statuses = [OrdStatus.NEW if self.acknowledged else OrdStatus.PENDING_NEW]
            if self.fills.cum_qty > 0:
                statuses.append(OrdStatus.PARTIALLY_FILLED)
        if self.fills.cum_qty > 0 and self.fills.cum_qty >= self.quantity:
            statuses.append(OrdStatus.FILLED)
        if self.paused_for_day:
            statuses.append(OrdStatus.DONE_FOR_DAY)
        if self.pending and self.pending_of(RequestKind.REPLACE):
            statuses.append(OrdStatus.PENDING_REPLACE)
        if self.pending and self.pending_of(RequestKind.CANCEL):
            statuses.append(OrdStatus.PENDING_CANCEL)
        return statuses

    def _emit(
        self,
        exec_type: ExecType,
        when: datetime,
        *,
        cl_ord_id: str | None = None,
        orig_cl_ord_id: str | None = None,
        last_qty: Decimal | None = None,
        last_px: Decimal | None = None,
        text: str | None = None,
        reject_source: RejectSource | None = None,
        venue_exec_id: str | None = None,
    ) -> OrderEvent:
        self._refresh()
        self.seq += 1
        return OrderEvent(
            order_id=self.order_id,
            seq=self.seq,
            cl_ord_id=cl_ord_id if cl_ord_id is not None else self.cl_ord_id,
            orig_cl_ord_id=orig_cl_ord_id,
            account=self.account,
            symbol=self.symbol,
            side=self.side,
            venue=self.venue,
            exec_type=exec_type,
            ord_status=self.status,
            quantity=self.quantity,
            price=self.price,
            cum_qty=self.cum_qty,
            leaves_qty=self.leaves_qty,
            avg_px=self.avg_px,
            last_qty=last_qty,
            last_px=last_px,
            text=text,
            reject_source=reject_source,
            venue_order_id=self.venue_order_id,
            venue_exec_id=venue_exec_id,
            transact_time=when,
        )

    def _find_request(self, cl_ord_id: str | None) -> PendingRequest | None:
        if cl_ord_id is None:
            return None
        return next((r for r in self.pending if r.cl_ord_id == cl_ord_id), None)

    def _drop_request(self, request: PendingRequest) -> None:
        self.pending = tuple(r for r in self.pending if r is not request)

    def _knows_id(self, cl_ord_id: str) -> bool:
        if cl_ord_id in (self.cl_ord_id, self.orig_cl_ord_id):
            return True
        return self._find_request(cl_ord_id) is not None

    def _chain_head(self) -> str:
        """The id a new request chains on: the latest replace in flight, else the current id."""
        replaces = self.pending_of(RequestKind.REPLACE)
        return replaces[-1].cl_ord_id if replaces else self.cl_ord_id

    def _replace_target(self) -> tuple[Decimal, Decimal | None, Decimal | None]:
        """Quantity, price, stop price as they will be once every replace in flight is done."""
        quantity, price, stop = self.quantity, self.price, self.stop_price
        for request in self.pending_of(RequestKind.REPLACE):
            quantity = request.quantity if request.quantity is not None else quantity
            price = request.price if request.price is not None else price
            stop = request.stop_price if request.stop_price is not None else stop
        return quantity, price, stop

    def _close(self, status: OrdStatus) -> tuple[PendingRequest, ...]:
        """Close the order; returns the requests it abandons (see ``_answer_abandoned``)."""
        self.closed_as = status
        self.paused_for_day = False
        abandoned, self.pending = self.pending, ()
        return abandoned

    def _answer_abandoned(
        self,
        abandoned: tuple[PendingRequest, ...],
        when: datetime,
        source: RejectSource | None,
    ) -> list[OrderEvent]:
        """Every request a closed order abandons still gets its answer: a reject event."""
        status = self.closed_as.value if self.closed_as is not None else self.status.value
        return [
            self._emit(
                ExecType.CANCEL_REJECTED
                if request.kind is RequestKind.CANCEL
                else ExecType.REPLACE_REJECTED,
                when,
                cl_ord_id=request.cl_ord_id,
                orig_cl_ord_id=request.orig_cl_ord_id,
                text=f"order {status} before the {request.kind.value} request was answered",
                reject_source=source,
            )
            for request in abandoned
        ]

    def _note_venue_order_id(self, venue_order_id: str | None) -> None:
        if venue_order_id:
            self.venue_order_id = venue_order_id


def _non_finite_field(value: OrderInput) -> str | None:
    """Inputs carry numbers from outside; NaN or infinity would poison every comparison."""
    kind: type = type(value)
    for name in _field_names(kind):
        number = getattr(value, name)
        if isinstance(number, Decimal) and not number.is_finite():
            return f"{name} is {number}: not a number the OMS can use"
    return None


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(item.name for item in fields(kind))
