"""New orders, cancels and replaces, decided: validation and risk, the order's state machine,
then the request to the venue (``venue_sending``).

Runs on the core thread, from the handlers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from oms.domain.order_events import Outcome
from oms.domain.order_inputs import (
    OrderAccepted,
    RejectOrder,
    RequestCancel,
    RequestKind,
    RequestReplace,
    SubmitOrder,
    submit_order_problems,
)
from oms.domain.orders import Order
from oms.domain.requests import CancelRequest, NewOrderRequest, ReplaceRequest
from oms.domain.risk import (
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
from oms.domain.values import ExecType, Instrument, RejectSource
from oms.engine import venue_sending
from oms.engine.batch import Batch
from oms.engine.event_rows import orderless_body_rows
from oms.engine.ports import VenueCancel, VenueNewOrder, VenueReplace

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers


def new_order(h: Handlers, batch: Batch, request: NewOrderRequest, received_ns: int) -> None:
    """``received_ns``: when the request arrived (0: unknown), for the latency to the wire."""
    instrument = h.ctx.instruments.get(request.symbol)
    venue = request.venue or (instrument.venue if instrument else "")
    command = SubmitOrder(
        cl_ord_id=request.cl_ord_id, account=request.account, symbol=request.symbol,
        side=request.side, ord_type=request.ord_type, quantity=request.quantity,
        price=request.price, stop_price=request.stop_price,
        time_in_force=request.time_in_force, expire_time=request.expire_time,
        venue=venue, origin=request.origin,
    )
    order = Order.create(h.ctx.order_ids.next(), command, venue)
    batch.client_requests[-1]["order_id"] = order.order_id
    h.state.adopt(order, 1)
    h.state.created[order.order_id] = batch.now
    cause = {"input": "new_order", "origin": request.origin, "user": request.user}
    problems = list(submit_order_problems(command))
    if instrument is None:
        problems.insert(0, f"unknown symbol {request.symbol!r}")
    elif request.venue and request.venue != instrument.venue:
        problems.insert(0, f"{request.symbol} does not trade on venue {request.venue!r}")
    if problems:
        _reject(h, batch, order, RejectSource.VALIDATION, "; ".join(problems), cause)
        return
    assert instrument is not None
    limits = h.limits_of(order.account)
    ctx = risk_context(h, order.account, order.symbol, instrument, limits)
    intent = OrderIntent(
        account=order.account, symbol=order.symbol, venue=venue, side=order.side,
        ord_type=order.ord_type, quantity=order.quantity, price=order.price,
        stop_price=order.stop_price,
    )
    decision = check_new_order(intent, ctx, batch.now)
    if not decision.accepted:
        cause["risk_code"] = str(decision.code)
        _reject(h, batch, order, RejectSource.RISK, decision.text or "risk", cause)
        return
    if not h.ctx.venue.is_logged_on(venue):
        _reject(h, batch, order, RejectSource.VENUE, f"venue {venue} is not connected", cause)
        return
    if venue_sending.throttle(h, venue) is None:
        _reject(h, batch, order, RejectSource.VENUE, venue_sending.throttled_text(h, venue),
                cause)
        return
    record_new_order(intent, ctx, batch.now)
    outcome = order.apply(OrderAccepted(), batch.now)
    h.record(batch, order, outcome, cause, is_new=True)
    venue_id = h.ctx.venue_ids.next()
    venue_sending.to_venue(h, batch, order, order.cl_ord_id, VenueNewOrder(
        venue_cl_ord_id=venue_id, account=order.account, symbol=order.symbol,
        side=order.side, ord_type=order.ord_type, quantity=order.quantity,
        price=order.price, stop_price=order.stop_price,
        time_in_force=order.time_in_force, expire_time=order.expire_time, now=batch.now,
    ), received_ns)
    h.state.live_venue_id[order.order_id] = venue_id


def _reject(h: Handlers, batch: Batch, order: Order, source: RejectSource, text: str,
            cause: dict[str, Any]) -> None:
    """Reject a new order (its first and last event)."""
    outcome = order.apply(RejectOrder(source, text), batch.now)
    h.record(batch, order, outcome, cause, is_new=True)


def risk_context(h: Handlers, account: str, symbol: str, instrument: Instrument,
                 limits: RiskLimits) -> RiskContext:
    ref = h.ctx.reference_price(symbol)
    exposure = h.state.exposure  # kept up to date by recording: O(1), not a scan
    open_count = exposure.open_orders(account)
    buy, sell = exposure.open_leaves(account, symbol)
    return RiskContext(
        limits=limits, instrument=instrument,
        reference=ReferencePrice(ref[0], ref[1]) if ref else None,
        kill_switch=h.state.kill_switch, breaker=h.state.breaker(account),
        windows=h.state.window(account), duplicates=h.state.guard(account),
        open_orders=open_count,
        position=h.state.positions.get((account, symbol), Decimal(0)),
        open_buy_leaves=buy, open_sell_leaves=sell,
    )


def cancel(h: Handlers, batch: Batch, order: Order, request: CancelRequest) -> None:
    # never refused by risk; counted in the message rates (new orders after it see it)
    record_cancel(h.limits_of(order.account), h.state.window(order.account), batch.now)
    cause = {"input": "cancel", "origin": request.origin, "user": request.user}
    h.state.by_request[(order.origin, request.cl_ord_id)] = order.order_id
    cancel_order(h, batch, order, request.cl_ord_id, cause)


def cancel_order(h: Handlers, batch: Batch, order: Order, cl_ord_id: str,
                 cause: dict[str, Any], text: str | None = None) -> None:
    """Cancel ``order`` under ``cl_ord_id`` (a client's, or the OMS's own with ``text`` saying
    why: an operator, a kill switch, cancel on disconnect)."""
    outcome = order.apply(RequestCancel(cl_ord_id, text), batch.now)
    if text:
        h.state.request_texts[(order.order_id, cl_ord_id)] = text
    if outcome.refused:
        _answer_refusal(batch, order, cl_ord_id, RequestKind.CANCEL, outcome)
        return
    h.record(batch, order, outcome, cause)
    if not venue_sending.may_send(h, batch, order, cl_ord_id, RequestKind.CANCEL, cause):
        return
    venue_sending.to_venue(h, batch, order, cl_ord_id, VenueCancel(
        venue_cl_ord_id=h.ctx.venue_ids.next(),
        orig_venue_cl_ord_id=h.state.live_venue_id.get(order.order_id, ""),
        account=order.account, symbol=order.symbol, side=order.side,
        quantity=order.quantity, venue_order_id=order.venue_order_id, now=batch.now,
    ))


def replace(h: Handlers, batch: Batch, order: Order, request: ReplaceRequest) -> None:
    cause = {"input": "replace", "origin": request.origin, "user": request.user}
    instrument = h.ctx.instruments[order.symbol]
    limits = h.limits_of(order.account)
    ctx = risk_context(h, order.account, order.symbol, instrument, limits)
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
        h.reject_request(batch, request, RejectSource.RISK, decision.text or "risk", order)
        return
    outcome = order.apply(
        RequestReplace(request.cl_ord_id, quantity=request.quantity, price=request.price),
        batch.now,
    )
    if outcome.refused:
        _answer_refusal(batch, order, request.cl_ord_id, RequestKind.REPLACE, outcome)
        return
    record_replace(ctx, batch.now)
    h.state.by_request[(order.origin, request.cl_ord_id)] = order.order_id
    h.record(batch, order, outcome, cause)
    if not venue_sending.may_send(h, batch, order, request.cl_ord_id, RequestKind.REPLACE,
                                  cause):
        return
    venue_sending.to_venue(h, batch, order, request.cl_ord_id, VenueReplace(
        venue_cl_ord_id=h.ctx.venue_ids.next(),
        orig_venue_cl_ord_id=h.state.live_venue_id.get(order.order_id, ""),
        account=order.account, symbol=order.symbol, side=order.side,
        ord_type=order.ord_type, quantity=new_qty, price=new_px,
        stop_price=order.stop_price, time_in_force=order.time_in_force,
        venue_order_id=order.venue_order_id, now=batch.now,
    ))


def _answer_refusal(batch: Batch, order: Order, cl_ord_id: str, kind: RequestKind,
                    outcome: Outcome) -> None:
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
