"""What the core does with each input, within one batch. Runs on the core thread only.

Every decision is the domain's (validation, entitlement, risk, the order state machine); the
handlers route inputs to it and turn outcomes into rows and after-commit effects. ``Handlers``
is what the core calls; the work is in one module per concern, each given the handlers:

- ``client_intake``: client requests (duplicates, entitlement, rejects that change no order);
- ``order_requests``: new orders, cancels and replaces decided (risk, the state machine);
- ``venue_sending``: requests to the venues (may one go now, sent after the commit);
- ``venue_reports``: what the venues send (reports applied, executions, logons, unmatched),
  with ``venue_reject_handling`` (their rejects) and ``venue_silence`` (their silence);
- ``outcome_recording``: an outcome's events, positions and order row;
- ``timers`` and ``operator_commands``: ticks and operators.

Everything outside the process is reached through ``Context`` and the ports (``ports``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from oms.domain.order_events import Outcome
from oms.domain.order_inputs import VenueCancelReject, VenueExecutionReport
from oms.domain.orders import Order
from oms.domain.requests import ClientRequest
from oms.domain.risk import KillSwitchEntry, RiskLimits
from oms.domain.values import Instrument, RejectSource
from oms.engine import (
    client_intake,
    order_requests,
    outcome_recording,
    timers,
    venue_reject_handling,
    venue_reports,
)
from oms.engine.batch import Batch
from oms.engine.client_intake import Delivery, RecordedRequests
from oms.engine.ids import IdAllocator
from oms.engine.inputs import (
    OperatorCommandReceived,
    RejectNotice,
    VenueMessage,
    VenueMessageRejectedByUs,
    VenueSessionChanged,
    VenueSessionReject,
)
from oms.engine.operator_commands import apply_operator_command, effective_limits
from oms.engine.ports import OrderStore, SessionPort, VenuePort
from oms.engine.replays import Recorded
from oms.engine.state import CoreState, VenueRequestRef
from oms.engine.trading_days import ClOrdIdScopes
from oms.engine.venue_outbound import OutboundSenders
from oms.engine.venue_sending import SentRequests
from oms.engine.venue_throttle import OutboundThrottle
from oms.metrics import GatewayMetrics
from oms.settings import TradingHours

Translate = Callable[
    [dict[int, str], str], VenueExecutionReport | VenueCancelReject | RejectNotice]
"""A venue's application message (its fields, its BeginString) in domain terms."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the handlers read besides their state: reference data and ports."""

    store: OrderStore
    instruments: dict[str, Instrument]
    file_default_limits: RiskLimits
    file_account_limits: dict[str, RiskLimits]
    user_accounts: Callable[[str], frozenset[str]]
    default_user: str | None
    known_accounts: frozenset[str]
    venue_begin_strings: dict[str, str]
    venue: VenuePort
    reference_price: Callable[[str], tuple[Decimal, datetime] | None]
    translate: Translate
    order_ids: IdAllocator
    venue_ids: IdAllocator
    mirror_kill_switches: Callable[[tuple[KillSwitchEntry, ...]], None] = lambda entries: None
    throttles: dict[str, OutboundThrottle] = dataclasses.field(default_factory=dict)
    outbound: OutboundSenders | None = None
    """Each venue's sender, off the commit thread (its pace, cancels first); None: sent on the
    commit thread at once (a core under test, without venue rate limits)."""
    metrics: GatewayMetrics | None = None
    venue_hours: dict[str, TradingHours] = dataclasses.field(default_factory=dict)
    monotonic: Callable[[], float] = time.monotonic
    request_timeout_s: dict[str, float] = dataclasses.field(default_factory=dict)
    """Per venue: how long a request may go unanswered (see ``venue_silence``)."""
    resetting_venues: frozenset[str] = frozenset()
    """Venues whose sessions reset sequence numbers (on logon, logout or disconnect): what they
    sent while the session was down is never resent, so every open order is asked about."""
    session_control: SessionPort | None = None
    """The FIX sessions for operators' session commands; None: no FIX session operations."""
    cl_ord_id_scopes: ClOrdIdScopes = dataclasses.field(default_factory=ClOrdIdScopes)
    """Per origin: the time zone of its trading day and whether ClOrdIDs are unique per day."""


class Handlers:
    def __init__(self, ctx: Context, state: CoreState) -> None:
        self.ctx = ctx
        self.state = state
        self.requests = RecordedRequests(ctx.cl_ord_id_scopes)
        """The batch's client requests recorded before (``client_intake``)."""
        self.sent = SentRequests()
        """Venue requests the venues' senders handed over (``venue_sending``)."""
        self.default_limits = ctx.file_default_limits
        self.limits: dict[str, RiskLimits] = {}
        self.reload_limits()

    # -- reference data ---------------------------------------------------------------------

    def limits_of(self, account: str) -> RiskLimits:
        return self.limits.get(account, self.default_limits)

    def reload_limits(self) -> str:
        """Effective limits: the settings file's, overridden by those edited by operators."""
        rows = self.ctx.store.edited_limit_rows()
        self.default_limits, self.limits = effective_limits(
            self.ctx.file_default_limits, self.ctx.file_account_limits, rows
        )
        return f"limits reloaded ({len(rows)} edited row(s))"

    def mirror_kill_switches(self) -> None:
        self.ctx.mirror_kill_switches(self.state.kill_switch.entries())

    # -- lookups: memory holds the open orders; else the store --------------------------------

    def order_by_id(self, order_id: str) -> Order | None:
        """The order (memory: every open order; else read back from the database, held until
        the next commit as a load would hold it)."""
        order = self.state.orders.get(order_id)
        if order is None:
            stored = self.ctx.store.read_back_order(order_id)
            if stored is None:
                return None
            order = stored.order
            self.state.read_back(order, stored.version, stored.created_at,
                                 stored.live_venue_cl_ord_id)
        return order

    def request_order_id(self, origin: str, cl_ord_id: str) -> str | None:
        """The order a client's ClOrdID names (the newest request with it that named one):
        memory for the open orders, else one probe of ``client_requests``. The same answer
        before the order closed, after it was dropped from memory and after a restart."""
        order_id = self.state.by_request.get((origin, cl_ord_id))
        if order_id is None:
            order_id = self.ctx.store.order_of_request(origin, cl_ord_id)
        return order_id

    def venue_request(self, venue: str, venue_id: str) -> VenueRequestRef | None:
        """The request we sent ``venue`` under ``venue_id`` (memory, else the database)."""
        ref = self.state.venue_requests.get((venue, venue_id))
        return ref if ref is not None else self.ctx.store.find_venue_request(venue, venue_id)

    # -- the batch --------------------------------------------------------------------------

    def begin(self, batch: Batch, items: Sequence[object],
              conn: Connection | None = None) -> None:
        """Look up what the batch's inputs need from the database (on ``conn``, the core's
        reading connection, else a pooled one); arm the answer timeouts of the requests the
        venues' senders handed over meanwhile."""
        self.requests.look_up(self.ctx.store, batch, items, conn)
        self.sent.settle(self, batch)

    # -- client requests --------------------------------------------------------------------

    def recorded(self, request: ClientRequest, now: datetime) -> Recorded | None:
        """The newest earlier request with this request's ClOrdID within its scope (the same
        trading day for a day-scoped FIX session, any retained day otherwise): a duplicate, or
        a resend of it. Only for the requests of the batch ``begin`` was given."""
        return self.requests.of(request, now)

    def client_request(self, batch: Batch, request: ClientRequest, delivery: Delivery) -> None:
        client_intake.client_request(self, batch, request, delivery)

    def reject_request(self, batch: Batch, request: ClientRequest, source: RejectSource,
                       text: str, order: Order | None = None) -> None:
        """Reject a request that changes no order (also one whose input failed). ``order``:
        the order a cancel/replace names, when known."""
        client_intake.reject_request(self, batch, request, source, text, order)

    def cancel_order(self, batch: Batch, order: Order, cl_ord_id: str,
                     cause: dict[str, Any], text: str | None = None) -> None:
        order_requests.cancel_order(self, batch, order, cl_ord_id, cause, text)

    # -- venues -----------------------------------------------------------------------------

    def venue_message(self, batch: Batch, message: VenueMessage) -> None:
        venue_reports.venue_message(self, batch, message)

    def venue_session(self, batch: Batch, change: VenueSessionChanged) -> None:
        venue_reports.venue_session(self, batch, change)

    def venue_reject(self, batch: Batch,
                     item: VenueSessionReject | VenueMessageRejectedByUs) -> None:
        """A venue's session Reject (35=3) of our message, or our session's of the venue's."""
        if isinstance(item, VenueSessionReject):
            venue_reject_handling.on_venue_reject(self, batch, item.venue, item.notice,
                                                  item.sent, item.fields)
        else:
            venue_reject_handling.on_rejected_by_us(self, batch, item)

    def unmatched(self, batch: Batch, message: VenueMessage, reason: str) -> None:
        """Keep a venue message no order takes for an operator, with ``reason``."""
        venue_reports.unmatched(batch, message, reason)

    # -- operators and timers ---------------------------------------------------------------

    def operator_command(self, batch: Batch, command: OperatorCommandReceived) -> None:
        apply_operator_command(self, batch, command)

    def tick(self, batch: Batch) -> None:
        timers.tick(self, batch)

    # -- outcomes ---------------------------------------------------------------------------

    def record(self, batch: Batch, order: Order, outcome: Outcome, cause: dict[str, Any],
               *, is_new: bool = False) -> None:
        """Write what an outcome changed (events, positions, the order's row)."""
        outcome_recording.record(self, batch, order, outcome, cause, is_new=is_new)


__all__ = ["Context", "Handlers"]
