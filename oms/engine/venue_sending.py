"""Requests to the venues: whether one may go now (session up, rate limit), and handing it to
the venue's sender after the commit, with its answer watched from the send on.

Runs on the core thread, from the handlers; ``SentRequests.add`` runs on the venues' senders.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from oms.domain.order_inputs import RequestKind, VenueCancelReject
from oms.domain.orders import Order
from oms.engine import venue_silence
from oms.engine.batch import Batch
from oms.engine.ports import VenueCancel, VenueNewOrder, VenueReplace
from oms.engine.request_watch import SENT
from oms.engine.state import VenueRequestRef
from oms.engine.venue_outbound import OutboundMessage, send_later

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)


class SentRequests:
    """Venue requests handed to their session by the venue's sender: (venue, venue ClOrdID),
    whether the session took it, and when (``Context.monotonic``). The next batch marks those
    taken ``sent`` and starts each one's answer timeout from then (``settle``)."""

    def __init__(self) -> None:
        self._sent: deque[tuple[tuple[str, str], bool, float]] = deque()

    def add(self, key: tuple[str, str], taken: bool, at_s: float) -> None:
        """On the venue's sender thread (a deque's append is atomic)."""
        self._sent.append((key, taken, at_s))

    def settle(self, h: Handlers, batch: Batch) -> None:
        sent = self._sent
        while sent:
            key, taken, at_s = sent.popleft()
            watched = h.state.watch.get(key)
            if watched is not None and watched.stage == SENT:  # not answered meanwhile
                h.state.watch.arm(watched, SENT, at_s + venue_silence.timeout_of(h, key[0]))
                if taken:
                    batch.venue_request_states[key] = "sent"


def may_send(h: Handlers, batch: Batch, order: Order, cl_ord_id: str, kind: RequestKind,
             cause: dict[str, Any]) -> bool:
    """Whether a cancel/replace can go; when it cannot (venue down, or a replace over the
    venue's rate limit) it is answered as rejected, with the reason. A cancel is never
    refused for the rate limit: it waits its turn, ahead of new orders and replaces."""
    connected = h.ctx.venue.is_logged_on(order.venue)
    hold = (throttle(h, order.venue, must_go=kind is RequestKind.CANCEL) if connected
            else None)
    if hold is None:
        why = (throttled_text(h, order.venue) if connected
               else f"venue {order.venue} is not connected")
        reject = VenueCancelReject(cl_ord_id, kind, text=why)
        h.record(batch, order, order.apply(reject, batch.now), cause)
    return hold is not None


def throttle(h: Handlers, venue: str, *, must_go: bool = False) -> float | None:
    """Seconds the next message to ``venue`` will wait for its rate limit (0 = none), None
    = longer than the venue's hold: refused. ``must_go`` (a cancel): never refused."""
    limit = h.ctx.throttles.get(venue)
    if limit is None:
        return 0.0
    now = h.ctx.monotonic()
    return limit.reserve_always(now) if must_go else limit.reserve(now)


def throttled_text(h: Handlers, venue: str) -> str:
    return (f"outbound rate limit of venue {venue} reached "
            f"({h.ctx.throttles[venue].describe()})")


def to_venue(h: Handlers, batch: Batch, order: Order, request_cl_ord_id: str,
             request: VenueNewOrder | VenueCancel | VenueReplace, received_ns: int = 0) -> None:
    """Record the request and send it after the commit, through the venue's sender
    (``venue_outbound``). ``received_ns``: when the client's new order arrived (0: unknown)."""
    venue, venue_id, kind = order.venue, request.venue_cl_ord_id, request.kind
    batch.venue_requests.append({
        "venue": venue, "venue_cl_ord_id": venue_id, "order_id": order.order_id,
        "request_cl_ord_id": request_cl_ord_id, "kind": kind, "state": "pending_send",
        "created_at": batch.now, "sent_at": None,
    })
    h.state.venue_requests[(venue, venue_id)] = VenueRequestRef(
        order.order_id, request_cl_ord_id, kind
    )
    # its answer is awaited from the send on (``SentRequests.settle``), not while it is queued
    venue_silence.watch_request(h, order, venue_id, request_cl_ord_id, kind)
    sent, monotonic, metrics = h.sent, h.ctx.monotonic, h.ctx.metrics

    def done(taken: bool) -> None:  # on the venue's sender thread
        sent.add((venue, venue_id), taken, monotonic())
        if not taken:
            log.warning("venue %s: %s %s not sent (session down); in doubt", venue, kind,
                        venue_id)
            return
        if received_ns and metrics is not None:
            metrics.labelled(metrics.hop_latency, "intake_to_wire").observe(
                (time.perf_counter_ns() - received_ns) / 1e9)

    message = OutboundMessage(venue, order.order_id, request, done)
    batch.after_commit.append(send_later(h.ctx.outbound, h.ctx.venue, message))
