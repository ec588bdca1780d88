"""No venue request waits silently.

Every new, cancel and replace sent to a venue is watched (``RequestWatch``). When the venue
has not answered within its ``request_timeout_s``, the core sends an OrderStatusRequest (35=H)
for the order and the request becomes ``status_requested``. The answer settles it: a new order
is reconciled by the domain (``status_report``); a cancel or replace the status shows was not
taken up is answered cancel_rejected / replace_rejected (``request_not_taken_by_status``), a
cancel the status shows done is answered canceled. Not answered within the timeout either, the
request is ``in_doubt``: the order is flagged in doubt (``orders.in_doubt``, the Exceptions
page, with the reason in ``venue_requests.note``), a metric counts it and an error is logged.
A later answer still settles it and clears the flag.

While the venue is logged out nothing is asked: after the next logon the status of every
watched request of the venue is asked (the same ``status_requested`` stage).

Runs on the core thread, from the handlers (timers on the core's Tick).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from oms.domain.order_events import Outcome
from oms.domain.order_handlers_refusals import awaits_venue_answer, request_not_taken_by_status
from oms.domain.orders import Order
from oms.domain.values import OrdStatus
from oms.engine.batch import Batch
from oms.engine.ports import VenueStatusQuery
from oms.engine.request_watch import IN_DOUBT, SENT, STATUS_REQUESTED, WatchedRequest
from oms.engine.venue_outbound import OutboundMessage, send_later

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
ANSWERED = "answered"


def timeout_of(handlers: Handlers, venue: str) -> float:
    return handlers.ctx.request_timeout_s.get(venue, DEFAULT_TIMEOUT_S)


def _seconds(value: float) -> str:
    return f"{Decimal(repr(value)).normalize():f}s"


def watch_request(handlers: Handlers, order: Order, venue_cl_ord_id: str,
                  request_cl_ord_id: str, kind: str) -> None:
    """Watch a request the core is about to send; its clock starts only once the venue's
    sender has sent it (``venue_sending.SentRequests`` arms it then), not while it waits in the
    queue."""
    due = math.inf
    handlers.state.watch.watch(WatchedRequest(
        order.venue, venue_cl_ord_id, order.order_id, request_cl_ord_id, kind, SENT, due))


def settle_order(handlers: Handlers, batch: Batch, order: Order) -> bool:
    """Stop watching the requests ``order`` no longer waits for (the venue answered them, or
    the order closed), marking them answered. Returns whether the order is still in doubt."""
    watch = handlers.state.watch
    for request in watch.of_order(order.order_id):
        if awaits_venue_answer(order, request.kind, request.request_cl_ord_id):
            continue
        watch.settle(request.key)
        batch.venue_request_states[request.key] = ANSWERED
        if request.stage == IN_DOUBT:
            log.warning("order %s: the %s %s in doubt is settled (order %s)", order.order_id,
                        request.kind, request.venue_cl_ord_id, order.status.value,
                        extra={"order_id": order.order_id, "cl_ord_id": order.cl_ord_id})
    return watch.in_doubt(order.order_id)


def status_answered(handlers: Handlers, batch: Batch, order: Order,
                    reported: OrdStatus | None, cause: dict[str, Any]) -> None:
    """After an order status response was applied to ``order``: answer the cancels and
    replaces we asked about that the venue shows it never took up."""
    for request in handlers.state.watch.of_order(order.order_id):
        if request.kind == "new" or request.stage not in (STATUS_REQUESTED, IN_DOUBT):
            continue
        waited = _seconds(timeout_of(handlers, request.venue))
        verdict = request_not_taken_by_status(order, request.request_cl_ord_id, reported, waited)
        if verdict is None:
            continue
        outcome = order.apply(verdict, batch.now)
        if outcome.applied:
            log.warning("order %s: %s", order.order_id, verdict.text,
                        extra={"order_id": order.order_id, "cl_ord_id": order.cl_ord_id})
            handlers.record(batch, order, outcome, {**cause, "input": "status_after_timeout"})


def on_tick(handlers: Handlers, batch: Batch) -> None:
    """Move on every watched request whose stage ran out."""
    watch = handlers.state.watch
    now = handlers.ctx.monotonic()
    asked: set[str] = set()
    for request in watch.due(now):
        order = _still_awaited(handlers, batch, request)
        if order is None:
            continue
        timeout = timeout_of(handlers, request.venue)
        if not handlers.ctx.venue.is_logged_on(request.venue):
            watch.arm(request, request.stage, now + timeout)  # asked after the next logon
            continue
        if request.stage == SENT:
            _ask_status(handlers, batch, order, request, asked)
            watch.arm(request, STATUS_REQUESTED, now + timeout)
            batch.venue_request_states[request.key] = STATUS_REQUESTED
            log.warning(
                "venue %s: no answer to the %s %s (order %s) within %s: OrderStatusRequest sent",
                request.venue, request.kind, request.venue_cl_ord_id, order.order_id,
                _seconds(timeout), extra={"order_id": order.order_id,
                                          "cl_ord_id": order.cl_ord_id})
            _count(handlers, request.venue, STATUS_REQUESTED)
        else:
            asked_at = request.status_asked_at
            note = (f"no answer from venue {request.venue} to the {request.kind} request"
                    f" {request.venue_cl_ord_id}, nor to the OrderStatusRequest sent"
                    f"{' at ' + _time(asked_at) if asked_at else ''}, each within"
                    f" {_seconds(timeout)}")
            raise_in_doubt(handlers, batch, order, request, note)
    metrics = handlers.ctx.metrics
    if metrics is not None:
        metrics.orders_in_doubt.set(watch.orders_in_doubt())


def on_logon(handlers: Handlers, batch: Batch, venue: str, *,
             every_open_order: bool = False) -> None:
    """Ask the status of every watched request of ``venue`` (sent before the session dropped,
    or before a restart): nothing is guessed. ``every_open_order``: the session resets its
    sequence numbers, so what the venue sent while it was down is never resent: every open
    order of the venue is asked about too (a fill missed meanwhile shows as the venue's CumQty
    disagreeing with ours, an anomaly for operators; it is never guessed either)."""
    watch = handlers.state.watch
    now = handlers.ctx.monotonic()
    timeout = timeout_of(handlers, venue)
    asked: set[str] = set()
    for request in watch.of_venue(venue):
        order = _still_awaited(handlers, batch, request)
        if order is None:
            continue
        _ask_status(handlers, batch, order, request, asked)
        if request.stage != IN_DOUBT:  # in doubt stays so until answered
            watch.arm(request, STATUS_REQUESTED, now + timeout)
            batch.venue_request_states[request.key] = STATUS_REQUESTED
    if asked:
        log.warning("venue %s: asking the status of %d order(s) with unanswered requests",
                    venue, len(asked))
    if every_open_order:
        others = [o for o in handlers.state.orders.values()
                  if o.venue == venue and o.is_open and o.order_id not in asked]
        for order in others:
            _send_status_request(handlers, batch, order, venue,
                                 handlers.state.live_venue_id.get(order.order_id))
        if others:
            log.info("venue %s: sequence numbers were reset: asking the status of %d open"
                     " order(s)", venue, len(others))


def _still_awaited(handlers: Handlers, batch: Batch, request: WatchedRequest) -> Order | None:
    """The order of ``request`` if it still waits for the venue's answer; else the request is
    settled (answered) and None."""
    order = handlers.order_by_id(request.order_id)
    if order is not None and awaits_venue_answer(order, request.kind, request.request_cl_ord_id):
        return order
    handlers.state.watch.settle(request.key)
    batch.venue_request_states[request.key] = ANSWERED
    return None


def status_refused(handlers: Handlers, batch: Batch, order: Order, text: str) -> bool:
    """The venue refused our OrderStatusRequest for ``order``: what we asked about is in
    doubt at once. Returns whether there was such a request."""
    found = False
    for request in handlers.state.watch.of_order(order.order_id):
        if request.stage == STATUS_REQUESTED:
            found = True
            note = (f"no answer from venue {request.venue} to the {request.kind} request"
                    f" {request.venue_cl_ord_id}, and it refused the OrderStatusRequest: {text}")
            raise_in_doubt(handlers, batch, order, request, note)
    return found


def raise_in_doubt(handlers: Handlers, batch: Batch, order: Order, request: WatchedRequest,
                   note: str) -> None:
    """An operator must look: the request is in doubt, the order flagged, counted, logged."""
    handlers.state.watch.arm(request, IN_DOUBT, math.inf)
    batch.venue_request_states[request.key] = IN_DOUBT
    batch.venue_request_notes[request.key] = note
    log.error("order %s in doubt: %s", order.order_id, note,
              extra={"order_id": order.order_id, "cl_ord_id": order.cl_ord_id})
    _count(handlers, request.venue, IN_DOUBT)
    # no change to the order itself: its row is written again, flagged in doubt
    handlers.record(batch, order, Outcome(note=note),
                    {"input": "request_timeout", "venue": request.venue,
                     "venue_cl_ord_id": request.venue_cl_ord_id})


def _ask_status(handlers: Handlers, batch: Batch, order: Order, request: WatchedRequest,
                asked: set[str]) -> None:
    """One OrderStatusRequest per order, under the ClOrdID the venue knows the order by."""
    request.status_asked_at = batch.now
    if order.order_id in asked:
        return
    asked.add(order.order_id)
    known_as = handlers.state.live_venue_id.get(order.order_id)
    if known_as is None and request.kind == "new":
        known_as = request.venue_cl_ord_id
    _send_status_request(handlers, batch, order, request.venue, known_as)


def _send_status_request(handlers: Handlers, batch: Batch, order: Order, venue: str,
                         known_as: str | None) -> None:
    """An OrderStatusRequest for ``order`` under ``known_as``, after the batch commits, through
    the venue's sender: paced with the venue's other messages, and never ahead of a request of
    the same order still queued (it would ask about what the venue has not been sent yet)."""
    if known_as is None:
        log.warning("order %s: no venue ClOrdID to ask its status by", order.order_id)
        return
    query = VenueStatusQuery(venue_cl_ord_id=known_as, symbol=order.symbol, side=order.side)

    def done(taken: bool) -> None:
        if not taken:
            log.warning("venue %s: OrderStatusRequest for %s not sent (session down)", venue,
                        known_as)

    message = OutboundMessage(venue, order.order_id, query, done)
    batch.after_commit.append(send_later(handlers.ctx.outbound, handlers.ctx.venue, message))


def _count(handlers: Handlers, venue: str, stage: str) -> None:
    metrics = handlers.ctx.metrics
    if metrics is not None:
        metrics.request_timeouts.labels(venue, stage).inc()


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
