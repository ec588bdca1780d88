"""What the core does with each input, within one batch. Runs on the core thread only.

Every decision is the domain's (validation, entitlement, risk, the order state machine); this
module routes inputs to it and turns outcomes into rows and after-commit effects.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from fix_gateway import venue_orders as fixmsg
from oms.bus.intake_consumer import IntakeDelivery
from oms.domain.order_events import OrderEvent, Outcome
from oms.domain.order_inputs import (
    ExpireOrder,
    OrderAccepted,
    RejectOrder,
    RequestCancel,
    RequestKind,
    RequestReplace,
    SubmitOrder,
    VenueCancelReject,
    VenueExecutionReport,
    submit_order_problems,
)
from oms.domain.orders import Order
from oms.domain.requests import (
    CancelRequest,
    ClientRequest,
    InvalidRequest,
    NewOrderRequest,
    ReplaceRequest,
)
from oms.domain.risk import (
    KillSwitchEntry,
    MassCancelIntent,
    OrderIntent,
    ReferencePrice,
    ReplaceIntent,
    RiskContext,
    RiskLimits,
    check_new_order,
    check_replace,
    record_cancel,
    record_new_order,
    record_replace,
)
from oms.domain.values import ExecType, Instrument, OrdStatus, RejectSource
from oms.engine import venue_reject_handling, venue_silence
from oms.engine.batch import Batch
from oms.engine.event_rows import event_rows, orderless_body_rows
from oms.engine.expiry import due_for_expiry
from oms.engine.ids import IdAllocator
from oms.engine.inputs import (
    OperatorCommandReceived,
    RejectNotice,
    VenueMessage,
    VenueMessageRejectedByUs,
    VenueSessionChanged,
    VenueSessionReject,
)
from oms.engine.operator_commands import apply_operator_command, effective_limits, mass_cancel
from oms.engine.order_rows import order_from_row, order_row
from oms.engine.replays import Recorded, RequestKey, recorded_requests
from oms.engine.request_watch import SENT
from oms.engine.state import CoreState, VenueRequestRef
from oms.engine.trading_days import ClOrdIdScopes
from oms.engine.venue_outbound import OutboundMessage, OutboundSenders
from oms.engine.venue_quirks import request_confirmed
from oms.engine.venue_throttle import OutboundThrottle
from oms.metrics import GatewayMetrics
from oms.settings import TradingHours
from oms.store import order_repository as orders_repo
from oms.store.models import RiskLimit as RiskLimitRow

log = logging.getLogger(__name__)

TRADE_TYPES = (ExecType.PARTIAL_FILL, ExecType.FILL, ExecType.TRADE_CORRECT, ExecType.TRADE_CANCEL)
Translate = Callable[
    [dict[int, str], str], VenueExecutionReport | VenueCancelReject | RejectNotice]


@dataclass(frozen=True, slots=True)
class Context:
    """What the handlers read besides their state: reference data and ports."""

    engine: Engine
    instruments: dict[str, Instrument]
    file_default_limits: RiskLimits
    file_account_limits: dict[str, RiskLimits]
    user_accounts: Callable[[str], frozenset[str]]
    default_user: str | None
    known_accounts: frozenset[str]
    venue_begin_strings: dict[str, str]
    venue: Any  # VenuePort
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
    resetting_venues: frozenset[str] = frozenset()
    """Venues whose sessions reset sequence numbers (on logon, logout or disconnect): what they
    sent while the session was down is never resent, so every open order is asked about."""
    """Per venue: how long a request may go unanswered (see ``venue_silence``)."""
    session_control: Any = None  # SessionPort (oms.engine.session_commands); None: no FIX ops
    cl_ord_id_scopes: ClOrdIdScopes = dataclasses.field(default_factory=ClOrdIdScopes)
    """Per origin: the time zone of its trading day and whether ClOrdIDs are unique per day."""


class Handlers:
    def __init__(self, ctx: Context, state: CoreState) -> None:
        self.ctx = ctx
        self.state = state
        self._recorded: dict[tuple[str, str], Recorded] = {}
        """Requests of this batch's ClOrdIDs recorded before (the table, the batch in flight,
        this batch), by (origin, cl_ord_id): the newest, as ``begin`` found them."""
        self._sent_ok: deque[tuple[tuple[str, str], bool, float]] = deque()
        """Venue requests handed to their session (by the venue's sender): (venue, venue
        ClOrdID), whether the session took it, and when (``ctx.monotonic``). The next batch
        marks those taken ``sent`` and starts each one's answer timeout from then."""
        self._received_ns = 0
        self.default_limits = ctx.file_default_limits
        self.limits: dict[str, RiskLimits] = {}
        self.reload_limits()

    def limits_of(self, account: str) -> RiskLimits:
        return self.limits.get(account, self.default_limits)

    def reload_limits(self) -> str:
        """Effective limits: the settings file's, overridden by those edited by operators."""
        table = RiskLimitRow.__table__
        with self.ctx.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(select(table)).mappings()]
        self.default_limits, self.limits = effective_limits(
            self.ctx.file_default_limits, self.ctx.file_account_limits, rows
        )
        return f"limits reloaded ({len(rows)} edited row(s))"

    def order_by_id(self, order_id: str) -> Order | None:
        return self._order(order_id)

    def record(self, batch: Batch, order: Order, outcome: Outcome,
               cause: dict[str, Any]) -> None:
        """Write what an outcome changed (for the operator commands module)."""
        self._record(batch, order, outcome, cause)

    def mirror_kill_switches(self) -> None:
        self.ctx.mirror_kill_switches(self.state.kill_switch.entries())

    # -- batch start: prefetch what the inputs will need from the database ------------------

    def begin(self, batch: Batch, items: list[object], conn: Connection | None = None) -> None:
        """Look up what the batch's inputs need from the database (on ``conn``, the core's
        reading connection, else a pooled one)."""
        keys: list[RequestKey] = []
        for item in items:
            command = getattr(item, "command", None)
            if isinstance(command, NewOrderRequest | CancelRequest | ReplaceRequest
                          | InvalidRequest):
                keys.append(RequestKey(command.origin, command.cl_ord_id,
                                       self._duplicates_since(command.origin, batch.now)))
        # the previous batch may still be committing: its requests are not in the table yet
        in_flight = self._recorded
        self._recorded = {}
        if keys and conn is not None:
            self._recorded = recorded_requests(conn, keys)
        elif keys:
            with self.ctx.engine.connect() as pooled:
                self._recorded = recorded_requests(pooled, keys)
        for key in keys:
            pair = (key.origin, key.cl_ord_id)
            held, found = in_flight.get(pair), self._recorded.get(pair)
            if held is not None and held.trading_day >= key.since and (
                    found is None or held.trading_day >= found.trading_day):
                self._recorded[pair] = held
        sent = self._sent_ok
        while sent:
            sent_key, taken, at_s = sent.popleft()
            watched = self.state.watch.get(sent_key)
            if watched is not None and watched.stage == SENT:  # not answered meanwhile
                self.state.watch.arm(watched, SENT,
                                     at_s + venue_silence.timeout_of(self, sent_key[0]))
                if taken:
                    batch.venue_request_states[sent_key] = "sent"

    # -- client requests --------------------------------------------------------------------

    def recorded(self, request: ClientRequest, now: datetime) -> Recorded | None:
        """The newest earlier request with this request's ClOrdID within its scope (the same
        trading day for a day-scoped FIX session, any retained day otherwise): a duplicate, or
        a resend of it. Only for the requests of the batch ``begin`` was given."""
        held = self._recorded.get((request.origin, request.cl_ord_id))
        if held is None or held.trading_day < self._duplicates_since(request.origin, now):
            return None
        return held

    def _duplicates_since(self, origin: str, now: datetime) -> date:
        scope = self.ctx.cl_ord_id_scopes.of(origin)
        return scope.duplicates_since(scope.day_of(now))

    def client_request(self, batch: Batch, request: ClientRequest, delivery: Any) -> None:
        self._received_ns = int(getattr(delivery, "received_ns", 0) or 0)
        key = (request.origin, request.cl_ord_id)
        if self.recorded(request, batch.now) is not None:
            if delivery is not None and delivery.redelivered:
                batch.after_commit.append(delivery.ack)  # already recorded: no new event
                return
            self._orderless(batch, request, RejectSource.VALIDATION,
                            f"duplicate cl_ord_id {request.cl_ord_id!r}: already used")
            self._ack(batch, delivery)
            return
        day = self.ctx.cl_ord_id_scopes.of(request.origin).day_of(batch.now)
        self._recorded[key] = Recorded(day, None)
        kind = ("new" if isinstance(request, NewOrderRequest | InvalidRequest)
                and getattr(request, "kind", "new_order") not in ("cancel", "replace")
                else ("cancel" if isinstance(request, CancelRequest)
                      or getattr(request, "kind", "") == "cancel" else "replace"))
        row: dict[str, Any] = {
            "origin": request.origin, "cl_ord_id": request.cl_ord_id, "kind": kind,
            "order_id": None, "received_at": batch.now, "trading_day": day,
        }
        batch.client_requests.append(row)
        denial = self._entitlement(request)
        if denial is not None:
            self._orderless(batch, request, RejectSource.ENTITLEMENT, denial)
        elif isinstance(request, InvalidRequest):
            self._orderless(batch, request, RejectSource.VALIDATION, request.reason)
        elif isinstance(request, NewOrderRequest):
            self._new_order(batch, request)
        elif isinstance(request, CancelRequest):
            self._cancel(batch, request)
        else:
            self._replace(batch, request)
        self._recorded[key] = Recorded(day, row["order_id"])
        self._ack(batch, delivery)

    def _ack(self, batch: Batch, delivery: Any) -> None:
        if isinstance(delivery, IntakeDelivery):
            batch.deliveries.append(delivery)  # acked together after the commit
        elif delivery is not None:
            batch.after_commit.append(delivery.ack)

    def _entitlement(self, request: ClientRequest) -> str | None:
        user = request.user if request.user is not None else self.ctx.default_user
        if not request.origin.startswith(("amqp:", "fix:")):  # a FIX session is its user
            return None
        if user is None:
            return "the command carries no AMQP user_id and no default user is configured"
        if request.account not in self.ctx.known_accounts:
            return f"unknown account {request.account!r}"
        if request.account not in self.ctx.user_accounts(user):
            return f"user {user!r} may not trade account {request.account!r}"
        return None

    def _orderless(self, batch: Batch, request: ClientRequest, source: RejectSource,
                   text: str, order: Order | None = None) -> None:
        """Reject a request that changes no order. ``order``: the order a cancel/replace
        names, when known: the reject then carries its identity and current status."""
        if isinstance(request, CancelRequest) or getattr(request, "kind", "") == "cancel":
            exec_type = ExecType.CANCEL_REJECTED
        elif isinstance(request, ReplaceRequest) or getattr(request, "kind", "") == "replace":
            exec_type = ExecType.REPLACE_REJECTED
        else:
            exec_type = ExecType.REJECTED
        audit, outbox = orderless_body_rows(
            request if order is None else order, exec_type=exec_type, source=source,
            text=text, now=batch.now, request_cl_ord_id=request.cl_ord_id,
        )
        if self.ctx.metrics is not None:
            self.ctx.metrics.labelled(self.ctx.metrics.rejects, source.value).inc()
        batch.events.append(audit)
        batch.outbox.append(outbox)

    def _new_order(self, batch: Batch, request: NewOrderRequest) -> None:
        instrument = self.ctx.instruments.get(request.symbol)
        venue = request.venue or (instrument.venue if instrument else "")
        command = SubmitOrder(
            cl_ord_id=request.cl_ord_id, account=request.account, symbol=request.symbol,
            side=request.side, ord_type=request.ord_type, quantity=request.quantity,
            price=request.price, stop_price=request.stop_price,
            time_in_force=request.time_in_force, expire_time=request.expire_time,
            venue=venue, origin=request.origin,
        )
        order = Order.create(self.ctx.order_ids.next(), command, venue)
        batch.client_requests[-1]["order_id"] = order.order_id
        self.state.adopt(order, 1)
        self.state.created[order.order_id] = batch.now
        cause = {"input": "new_order", "origin": request.origin, "user": request.user}
        problems = list(submit_order_problems(command))
        if instrument is None:
            problems.insert(0, f"unknown symbol {request.symbol!r}")
        elif request.venue and request.venue != instrument.venue:
            problems.insert(0, f"{request.symbol} does not trade on venue {request.venue!r}")
        if problems:
            self._reject(batch, order, RejectSource.VALIDATION, "; ".join(problems), cause, True)
            return
        assert instrument is not None
        limits = self.limits_of(order.account)
        ctx = self._risk_context(order.account, order.symbol, instrument, limits)
        intent = OrderIntent(
            account=order.account, symbol=order.symbol, venue=venue, side=order.side,
            ord_type=order.ord_type, quantity=order.quantity, price=order.price,
            stop_price=order.stop_price,
        )
        decision = check_new_order(intent, ctx, batch.now)
        if not decision.accepted:
            cause["risk_code"] = str(decision.code)
            self._reject(batch, order, RejectSource.RISK, decision.text or "risk", cause, True)
            return
        if not self.ctx.venue.is_logged_on(venue):
            self._reject(batch, order, RejectSource.VENUE,
                         f"venue {venue} is not connected", cause, True)
            return
        if self._throttle(venue) is None:
            self._reject(batch, order, RejectSource.VENUE, self._throttled_text(venue), cause,
                         True)
            return
        record_new_order(intent, ctx, batch.now)
        outcome = order.apply(OrderAccepted(), batch.now)
        self._record(batch, order, outcome, cause, is_new=True)
        venue_id = self.ctx.venue_ids.next()
        body = fixmsg.new_order_single(
            venue_cl_ord_id=venue_id, account=order.account, symbol=order.symbol,
            side=order.side, ord_type=order.ord_type, quantity=order.quantity,
            price=order.price, stop_price=order.stop_price,
            time_in_force=order.time_in_force, expire_time=order.expire_time, now=batch.now,
        )
        self._to_venue(batch, order, venue_id, order.cl_ord_id, "new", fixmsg.NEW_ORDER_SINGLE,
                       body)
        self.state.live_venue_id[order.order_id] = venue_id

    def _reject(self, batch: Batch, order: Order, source: RejectSource, text: str,
                cause: dict[str, Any], is_new: bool) -> None:
        outcome = order.apply(RejectOrder(source, text), batch.now)
        self._record(batch, order, outcome, cause, is_new=is_new)

    def _risk_context(self, account: str, symbol: str, instrument: Instrument,
                      limits: RiskLimits) -> RiskContext:
        ref = self.ctx.reference_price(symbol)
        exposure = self.state.exposure  # kept up to date by _record: O(1), not a scan
        open_count = exposure.open_orders(account)
        buy, sell = exposure.open_leaves(account, symbol)
        return RiskContext(
            limits=limits, instrument=instrument,
            reference=ReferencePrice(ref[0], ref[1]) if ref else None,
            kill_switch=self.state.kill_switch, breaker=self.state.breaker(account),
            windows=self.state.window(account), duplicates=self.state.guard(account),
            open_orders=open_count,
            position=self.state.positions.get((account, symbol), Decimal(0)),
            open_buy_leaves=buy, open_sell_leaves=sell,
        )

    def request_order_id(self, origin: str, cl_ord_id: str) -> str | None:
        """The order a client's ClOrdID names (the newest request with it that named one):
        memory for the open orders, else one probe of ``client_requests``. The same answer
        before the order closed, after it was dropped from memory and after a restart."""
        order_id = self.state.by_request.get((origin, cl_ord_id))
        if order_id is None:
            with self.ctx.engine.connect() as conn:
                order_id = orders_repo.order_of_request(conn, origin, cl_ord_id)
        return order_id

    def _find(self, origin: str, cl_ord_id: str) -> Order | None:
        order_id = self.request_order_id(origin, cl_ord_id)
        return None if order_id is None else self._order(order_id)

    def _order(self, order_id: str) -> Order | None:
        """The order (memory: every open order; else read back from the database, held until
        the next commit as a load would hold it)."""
        order = self.state.orders.get(order_id)
        if order is None:
            with self.ctx.engine.connect() as conn:
                row = orders_repo.read_back_order(conn, order_id)
            if row is None:
                return None
            order = order_from_row(row)
            self.state.read_back(order, row["version"], row["created_at"],
                                 row["live_venue_cl_ord_id"])
        return order

    def _original(self, batch: Batch, request: CancelRequest | ReplaceRequest) -> Order | None:
        """The order a cancel or replace names; answers the request itself when there is none."""
        order = self._find(request.origin, request.orig_cl_ord_id)
        if order is None or order.account != request.account:
            self._orderless(batch, request, RejectSource.VALIDATION,
                            f"unknown orig_cl_ord_id {request.orig_cl_ord_id!r}")
            return None
        batch.client_requests[-1]["order_id"] = order.order_id
        self.state.by_request[(request.origin, request.cl_ord_id)] = order.order_id  # as the row
        return order

    def _cancel(self, batch: Batch, request: CancelRequest) -> None:
        order = self._original(batch, request)
        if order is None:
            return
        # never refused by risk; counted in the message rates (new orders after it see it)
        record_cancel(self.limits_of(order.account), self.state.window(order.account),
                      batch.now)
        cause = {"input": "cancel", "origin": request.origin, "user": request.user}
        self.state.by_request[(order.origin, request.cl_ord_id)] = order.order_id
        self.cancel_order(batch, order, request.cl_ord_id, cause)

    def cancel_order(self, batch: Batch, order: Order, cl_ord_id: str,
                     cause: dict[str, Any], text: str | None = None) -> None:
        outcome = order.apply(RequestCancel(cl_ord_id, text), batch.now)
        if text:
            self.state.request_texts[(order.order_id, cl_ord_id)] = text
        if outcome.refused:
            self._answer_refusal(batch, order, cl_ord_id, RequestKind.CANCEL, outcome, cause)
            return
        self._record(batch, order, outcome, cause)
        if not self._may_send(batch, order, cl_ord_id, RequestKind.CANCEL, cause):
            return
        venue_id = self.ctx.venue_ids.next()
        body = fixmsg.order_cancel_request(
            venue_cl_ord_id=venue_id,
            orig_venue_cl_ord_id=self.state.live_venue_id.get(order.order_id, ""),
            account=order.account, symbol=order.symbol, side=order.side,
            quantity=order.quantity, venue_order_id=order.venue_order_id, now=batch.now,
        )
        self._to_venue(batch, order, venue_id, cl_ord_id, "cancel",
                       fixmsg.ORDER_CANCEL_REQUEST, body)

    def _replace(self, batch: Batch, request: ReplaceRequest) -> None:
        order = self._original(batch, request)
        if order is None:
            return
        cause = {"input": "replace", "origin": request.origin, "user": request.user}
        instrument = self.ctx.instruments[order.symbol]
        limits = self.limits_of(order.account)
        ctx = self._risk_context(order.account, order.symbol, instrument, limits)
        new_qty = request.quantity if request.quantity is not None else order.quantity
        new_px = request.price if request.price is not None else order.price
        intent = ReplaceIntent(
            order=OrderIntent(
                account=order.account, symbol=order.symbol, venue=order.venue,
                side=order.side, ord_type=order.ord_type, quantity=new_qty, price=new_px,
                stop_price=order.stop_price,
            ),
            filled_qty=order.cum_qty, current_leaves=order.leaves_qty,
        )
        decision = check_replace(intent, ctx, batch.now)
        if not decision.accepted:
            self._orderless(batch, request, RejectSource.RISK, decision.text or "risk", order)
            return
        outcome = order.apply(
            RequestReplace(request.cl_ord_id, quantity=request.quantity, price=request.price),
            batch.now,
        )
        if outcome.refused:
            self._answer_refusal(batch, order, request.cl_ord_id, RequestKind.REPLACE, outcome,
                                 cause)
            return
        record_replace(ctx, batch.now)
        self.state.by_request[(order.origin, request.cl_ord_id)] = order.order_id
        self._record(batch, order, outcome, cause)
        if not self._may_send(batch, order, request.cl_ord_id, RequestKind.REPLACE, cause):
            return
        venue_id = self.ctx.venue_ids.next()
        body = fixmsg.order_cancel_replace_request(
            venue_cl_ord_id=venue_id,
            orig_venue_cl_ord_id=self.state.live_venue_id.get(order.order_id, ""),
            account=order.account, symbol=order.symbol, side=order.side,
            ord_type=order.ord_type, quantity=new_qty, price=new_px,
            stop_price=order.stop_price, time_in_force=order.time_in_force,
            venue_order_id=order.venue_order_id, now=batch.now,
        )
        self._to_venue(batch, order, venue_id, request.cl_ord_id, "replace",
                       fixmsg.ORDER_CANCEL_REPLACE_REQUEST, body)

    def _answer_refusal(self, batch: Batch, order: Order, cl_ord_id: str, kind: RequestKind,
                        outcome: Outcome, cause: dict[str, Any]) -> None:
        """A cancel/replace the order cannot take now (e.g. already filled): answer it with a
        cancel/replace reject carrying the order's identity and current state."""
        exec_type = ExecType.CANCEL_REJECTED if kind is RequestKind.CANCEL else (
            ExecType.REPLACE_REJECTED)
        audit, outbox = orderless_body_rows(
            order, exec_type=exec_type, source=RejectSource.VALIDATION,
            text=outcome.refused or "refused", now=batch.now, request_cl_ord_id=cl_ord_id,
        )
        batch.events.append(audit)
        batch.outbox.append(outbox)

    def _may_send(self, batch: Batch, order: Order, cl_ord_id: str, kind: RequestKind,
                  cause: dict[str, Any]) -> bool:
        """Whether a cancel/replace can go; when it cannot (venue down, or a replace over the
        venue's rate limit) it is answered as rejected, with the reason. A cancel is never
        refused for the rate limit: it waits its turn, ahead of new orders and replaces."""
        connected = self.ctx.venue.is_logged_on(order.venue)
        hold = (self._throttle(order.venue, must_go=kind is RequestKind.CANCEL) if connected
                else None)
        if hold is None:
            why = (self._throttled_text(order.venue) if connected
                   else f"venue {order.venue} is not connected")
            reject = VenueCancelReject(cl_ord_id, kind, text=why)
            self._record(batch, order, order.apply(reject, batch.now), cause)
        return hold is not None

    def _throttle(self, venue: str, *, must_go: bool = False) -> float | None:
        """Seconds the next message to ``venue`` will wait for its rate limit (0 = none), None
        = longer than the venue's hold: refused. ``must_go`` (a cancel): never refused."""
        throttle = self.ctx.throttles.get(venue)
        if throttle is None:
            return 0.0
        now = self.ctx.monotonic()
        return throttle.reserve_always(now) if must_go else throttle.reserve(now)

    def _throttled_text(self, venue: str) -> str:
        return (f"outbound rate limit of venue {venue} reached "
                f"({self.ctx.throttles[venue].describe()})")

    def _to_venue(self, batch: Batch, order: Order, venue_id: str, request_cl_ord_id: str,
                  kind: str, msg_type: str, body: dict[int, str]) -> None:
        """Send after the commit, through the venue's sender (``venue_outbound``)."""
        venue = order.venue
        batch.venue_requests.append({
            "venue": venue, "venue_cl_ord_id": venue_id, "order_id": order.order_id,
            "request_cl_ord_id": request_cl_ord_id, "kind": kind, "state": "pending_send",
            "created_at": batch.now, "sent_at": None,
        })
        self.state.venue_requests[(venue, venue_id)] = VenueRequestRef(
            order.order_id, request_cl_ord_id, kind
        )
        # its answer is awaited from the send on (``begin`` arms it), not while it is queued
        venue_silence.watch_request(self, order, venue_id, request_cl_ord_id, kind)
        received_ns = self._received_ns if kind == "new" else 0

        def done(taken: bool) -> None:  # on the venue's sender thread
            self._sent_ok.append(((venue, venue_id), taken, self.ctx.monotonic()))
            if not taken:
                log.warning("venue %s: %s %s not sent (session down); in doubt", venue, kind,
                            venue_id)
                return
            metrics = self.ctx.metrics
            if received_ns and metrics is not None:
                metrics.labelled(metrics.hop_latency, "intake_to_wire").observe(
                    (time.perf_counter_ns() - received_ns) / 1e9)

        message = OutboundMessage(venue, order.order_id, kind, msg_type, body, done)
        outbound = self.ctx.outbound
        if outbound is not None:
            batch.after_commit.append(lambda: outbound.submit(message))
        else:
            batch.after_commit.append(lambda: done(self.ctx.venue.send(venue, msg_type, body)))

    # -- recording outcomes -----------------------------------------------------------------

    def _record(self, batch: Batch, order: Order, outcome: Outcome, cause: dict[str, Any],
                *, is_new: bool = False) -> None:
        if outcome.refused or outcome.duplicate:
            return
        self.state.exposure.update(order)
        for event in outcome.events:
            self._count(event)
            if event.text is None and event.order_id is not None:
                why = self.state.request_texts.get((event.order_id, event.cl_ord_id))
                if why is not None:
                    event = dataclasses.replace(event, text=why)  # noqa: PLW2901
            audit, outbox = event_rows(event, cause, batch.now)
            batch.events.append(audit)
            batch.outbox.append(outbox)
        for delta in outcome.position_deltas:
            batch.position(delta.account, delta.symbol).add(delta.quantity, delta.price)
            key = (delta.account, delta.symbol)
            self.state.positions[key] = self.state.positions.get(key, Decimal(0)) + delta.quantity
        for anomaly in outcome.anomalies:
            log.warning("order %s: %s: %s", order.order_id, anomaly.kind, anomaly.text,
                        extra={"order_id": order.order_id, "cl_ord_id": order.cl_ord_id})
        doubt = venue_silence.settle_order(self, batch, order)  # answered: no longer watched
        version = self.state.row_versions.get(order.order_id, 1)
        if is_new or order.order_id in batch.new_orders:
            batch.save_order(order_row(order, version=1, now=batch.now, in_doubt=doubt),
                             is_new=True)
        elif order.order_id in batch.changed_orders:
            # changed twice in one batch: still one UPDATE from the version read at its start
            read_at = batch.changed_orders[order.order_id]["version"]
            row = order_row(order, version=read_at, now=batch.now, in_doubt=doubt)
            row.pop("created_at")
            batch.save_order(row, is_new=False)
        else:
            row = order_row(order, version=version, now=batch.now, in_doubt=doubt)
            row.pop("created_at")
            batch.save_order(row, is_new=False)
            self.state.row_versions[order.order_id] = version + 1

    # -- venue messages ---------------------------------------------------------------------

    def _count(self, event: OrderEvent) -> None:
        metrics = self.ctx.metrics
        if metrics is None:
            return
        if event.exec_type is ExecType.PENDING_NEW:
            metrics.labelled(metrics.orders, event.account).inc()
        elif event.exec_type in (ExecType.PARTIAL_FILL, ExecType.FILL):
            metrics.labelled(metrics.fills, event.venue or "").inc()
        elif event.exec_type is ExecType.REJECTED and event.reject_source is not None:
            metrics.labelled(metrics.rejects, event.reject_source.value).inc()

    def venue_message(self, batch: Batch, message: VenueMessage) -> None:
        metrics = self.ctx.metrics
        if metrics is not None and message.received_ns:
            hop = metrics.labelled(metrics.hop_latency, "wire_to_event")
            batch.after_commit.append(
                lambda: hop.observe((time.perf_counter_ns() - message.received_ns) / 1e9))
        batch.watermarks[f"venue:{message.venue}"] = message.seq_num
        begin = self.ctx.venue_begin_strings.get(message.venue, "FIX.4.4")
        try:
            report = self.ctx.translate(message.fields, begin)
        except Exception as exc:  # garbled report: keep it for an operator
            self._unmatched(batch, message, f"cannot translate: {exc}")
            return
        if isinstance(report, RejectNotice):  # a BusinessMessageReject (35=j) of our message
            venue_reject_handling.on_venue_reject(self, batch, message.venue, report,
                                                  message.sent, message.fields)
            return
        ref = self.venue_request(message.venue, report.cl_ord_id or "")
        if ref is None:
            self._unmatched(batch, message, "no order for this ClOrdID")
            return
        order = self._order(ref.order_id)
        if order is None:
            self._unmatched(batch, message, f"order {ref.order_id} not found")
            return
        orig_ref = None
        if report.orig_cl_ord_id:
            orig_ref = self.venue_request(message.venue, report.orig_cl_ord_id)
        mapped = dataclasses.replace(
            report, cl_ord_id=ref.request_cl_ord_id,
            orig_cl_ord_id=orig_ref.request_cl_ord_id if orig_ref else None,
        )
        confirmed = (request_confirmed(order, report, ref.request_cl_ord_id, ref.kind)
                     if isinstance(report, VenueExecutionReport) else None)
        if confirmed is not None:  # the venue named the order, not the request it answers
            mapped = dataclasses.replace(mapped, cl_ord_id=confirmed.cl_ord_id,
                                         orig_cl_ord_id=confirmed.orig_cl_ord_id)
        cause = {"input": "venue_report", "venue": message.venue, "msg_type": message.msg_type,
                 "seq": message.seq_num, "venue_cl_ord_id": report.cl_ord_id}
        outcome = order.apply(mapped, batch.now)
        if outcome.refused:
            log.warning("order %s: report refused: %s", order.order_id, outcome.refused)
            self._unmatched(batch, message, f"refused by order {order.order_id}: "
                                            f"{outcome.refused}")
            return
        if isinstance(report, VenueExecutionReport):
            if report.exec_type is ExecType.REPLACED:
                known_as = (self._venue_id_of(order.order_id, confirmed.cl_ord_id)
                            if confirmed is not None else None)
                self.state.live_venue_id[order.order_id] = known_as or report.cl_ord_id or ""
            if report.exec_type in TRADE_TYPES and not outcome.duplicate:
                self._execution_row(batch, message.venue, order, report)
        self._record(batch, order, outcome, cause)
        if isinstance(report, VenueExecutionReport) and report.exec_type is None:
            # an order status response: settles the requests we asked about, if it can
            venue_silence.status_answered(self, batch, order, report.ord_status, cause)

    def venue_reject(self, batch: Batch,
                     item: VenueSessionReject | VenueMessageRejectedByUs) -> None:
        """A venue's session Reject (35=3) of our message, or our session's of the venue's."""
        if isinstance(item, VenueSessionReject):
            venue_reject_handling.on_venue_reject(self, batch, item.venue, item.notice,
                                                  item.sent, item.fields)
        else:
            venue_reject_handling.on_rejected_by_us(self, batch, item)

    def venue_request(self, venue: str, venue_id: str) -> VenueRequestRef | None:
        """The request we sent ``venue`` under ``venue_id`` (memory, else the database)."""
        ref = self.state.venue_requests.get((venue, venue_id))
        return ref if ref is not None else self._lookup_venue_request(venue, venue_id)

    def _venue_id_of(self, order_id: str, request_cl_ord_id: str) -> str | None:
        return next((r.venue_cl_ord_id for r in self.state.watch.of_order(order_id)
                     if r.request_cl_ord_id == request_cl_ord_id), None)

    def _execution_row(self, batch: Batch, venue: str, order: Order,
                       report: VenueExecutionReport) -> None:
        assert report.exec_type is not None
        batch.executions.append({
            "venue": venue, "exec_id": report.exec_id, "order_id": order.order_id,
            "account": order.account, "symbol": order.symbol, "side": order.side.value,
            "exec_type": report.exec_type.value, "last_qty": report.last_qty or Decimal(0),
            "last_px": report.last_px or Decimal(0), "ref_exec_id": report.ref_exec_id,
            "transact_time": report.transact_time or batch.now, "recorded_at": batch.now,
        })
        if report.exec_type in (ExecType.PARTIAL_FILL, ExecType.FILL) and report.last_qty:
            limits = self.limits_of(order.account)
            change = self.state.breaker(order.account).record_execution(
                order.symbol, order.side, report.last_qty, report.last_px or Decimal(0),
                batch.now, limits,
            )
            if change is not None and change.applied:
                self._breaker_tripped(batch, order.account, change.text, change.mass_cancel)

    def _lookup_venue_request(self, venue: str, venue_id: str) -> VenueRequestRef | None:
        """Not kept in memory: memory holds the requests of the open orders only."""
        with self.ctx.engine.connect() as conn:
            row = orders_repo.find_venue_request(conn, venue, venue_id)
        return None if row is None else VenueRequestRef(
            row["order_id"], row["request_cl_ord_id"], row["kind"])

    def _unmatched(self, batch: Batch, message: VenueMessage, reason: str) -> None:
        log.warning("venue %s: unmatched report (%s)", message.venue, reason)
        batch.unmatched.append({
            "venue": message.venue, "venue_cl_ord_id": message.fields.get(11),
            "exec_id": message.fields.get(17), "reason": reason,
            "fields": {str(k): v for k, v in message.fields.items()},
            "received_at": batch.now,
        })

    def venue_session(self, batch: Batch, change: VenueSessionChanged) -> None:
        log.info("venue %s %s", change.venue, "logged on" if change.logged_on else "logged out")
        if not change.logged_on:
            return
        if change.next_target_seq > 0:
            # The watermark a restart rewinds to, also for a session that has had no
            # application message yet (or whose sequence numbers were just reset).
            batch.watermarks[f"venue:{change.venue}"] = change.next_target_seq - 1
        # every request the venue has not answered (sent before the drop, or before a
        # restart) is asked about: status_requested, and in doubt if that goes unanswered
        venue_silence.on_logon(self, batch, change.venue,
                               every_open_order=change.venue in self.ctx.resetting_venues)

    # -- operators and timers ---------------------------------------------------------------

    def operator_command(self, batch: Batch, command: OperatorCommandReceived) -> None:
        apply_operator_command(self, batch, command)

    def _breaker_tripped(self, batch: Batch, account: str, text: str,
                         intent: MassCancelIntent | None) -> None:
        log.error("account %s halted by the execution breaker: %s", account, text)
        batch.breakers.append({
            "account": account, "tripped": True, "reason": text, "tripped_at": batch.now,
            "reenabled_by": None, "reenabled_at": None,
        })
        if intent is not None:
            cause = {"input": "execution_breaker", "account": account, "reason": text}
            mass_cancel(self, batch, intent, cause, f"account halted: {text}")

    def tick(self, batch: Batch) -> None:
        """Timers: expire what the venues did not (day orders after the close, GTD orders);
        follow up requests the venues did not answer in time (``venue_silence``)."""
        due = due_for_expiry(list(self.state.orders.values()), self.ctx.venue_hours,
                             self.state.created, batch.now)
        for order, text in due:
            outcome = order.apply(ExpireOrder(text), batch.now)
            if outcome.applied:
                log.warning("order %s expired by the OMS: %s", order.order_id, text,
                            extra={"order_id": order.order_id, "cl_ord_id": order.cl_ord_id})
                self._record(batch, order, outcome, {"input": "timer", "reason": text})
        venue_silence.on_tick(self, batch)  # requests the venues leave unanswered


__all__ = ["Context", "Handlers", "OrdStatus"]
