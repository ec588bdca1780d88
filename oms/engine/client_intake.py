"""Client requests as they come in: duplicates and redeliveries, entitlement, routing to the
order's decisions (``order_requests``), and the rejects that change no order.

Runs on the core thread, from the handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from oms.domain.orders import Order
from oms.domain.requests import (
    CancelRequest,
    ClientRequest,
    InvalidRequest,
    NewOrderRequest,
    ReplaceRequest,
)
from oms.domain.values import ExecType, RejectSource
from oms.engine import order_requests
from oms.engine.batch import Batch
from oms.engine.event_rows import orderless_body_rows
from oms.engine.inputs import ClientFixRequest
from oms.engine.ports import Envelope, OrderStore
from oms.engine.recorded_keys import RecordedKeys
from oms.engine.replays import Recorded, RequestKey
from oms.engine.trading_days import ClOrdIdScopes

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

Delivery = Envelope | ClientFixRequest | None
"""How a request came: a strategy command's envelope (settled after the commit), a FIX client's
request (its inbound watermark, committed with the batch, is its acknowledgement), or neither."""


class RecordedRequests:
    """Requests of the batch's ClOrdIDs recorded before (the table, the batch in flight, this
    batch), by (origin, cl_ord_id): the newest, as ``look_up`` found them for the batch.

    Only the keys ``known`` cannot rule out go to the database (``recorded_keys``): almost every
    ClOrdID is new, and memory says so without a round trip. ``known`` is loaded from the table
    when the core loads its state (the gateway passes the same one to each new set of handlers,
    see ``recorded_keys``), else by the first lookup that has keys."""

    def __init__(self, scopes: ClOrdIdScopes, known: RecordedKeys | None = None) -> None:
        self._scopes = scopes
        self._held: dict[tuple[str, str], Recorded] = {}
        self.known = RecordedKeys() if known is None else known

    def load(self, store: OrderStore) -> None:
        """Load ``known`` from the table (streamed), unless it is loaded already."""
        if not self.known.loaded:
            self.known.load(*store.recorded_keys())

    def look_up(self, store: OrderStore, batch: Batch, items: Sequence[object],
                reader: Connection | None) -> None:
        """Find what the batch's requests need (on ``reader``, else a pooled connection)."""
        keys: list[RequestKey] = []
        for item in items:
            command = getattr(item, "command", None)
            if isinstance(command, NewOrderRequest | CancelRequest | ReplaceRequest
                          | InvalidRequest):
                keys.append(RequestKey(command.origin, command.cl_ord_id,
                                       self.since(command.origin, batch.now)))
        if keys:
            self.load(store)
        # the rest were never recorded: the table cannot have them
        asked = [k for k in keys if self.known.might_hold((k.origin, k.cl_ord_id))]
        # the previous batch may still be committing: its requests are not in the table yet
        in_flight = self._held
        self._held = store.recorded_requests(asked, reader) if asked else {}
        for key in keys:
            pair = (key.origin, key.cl_ord_id)
            held, found = in_flight.get(pair), self._held.get(pair)
            if held is not None and held.trading_day >= key.since and (
                    found is None or held.trading_day >= found.trading_day):
                self._held[pair] = held

    def of(self, request: ClientRequest, now: datetime) -> Recorded | None:
        """The newest earlier request with this request's ClOrdID within its scope (the same
        trading day for a day-scoped FIX session, any retained day otherwise)."""
        held = self._held.get((request.origin, request.cl_ord_id))
        if held is None or held.trading_day < self.since(request.origin, now):
            return None
        return held

    def hold(self, request: ClientRequest, recorded: Recorded) -> None:
        self._held[(request.origin, request.cl_ord_id)] = recorded

    def record(self, request: ClientRequest, day: date) -> None:
        """``request`` is recorded on ``day`` (its row in the batch, not committed yet): held for
        the rest of the batch and the next, and in ``known`` from now on."""
        self.hold(request, Recorded(day, None))
        self.known.add((request.origin, request.cl_ord_id))

    def day_of(self, origin: str, now: datetime) -> date:
        return self._scopes.of(origin).day_of(now)

    def since(self, origin: str, now: datetime) -> date:
        scope = self._scopes.of(origin)
        return scope.duplicates_since(scope.day_of(now))


def client_request(h: Handlers, batch: Batch, request: ClientRequest,
                   delivery: Delivery) -> None:
    received_ns = 0 if delivery is None or isinstance(delivery, ClientFixRequest) else (
        delivery.received_ns)
    requests = h.requests
    if requests.of(request, batch.now) is not None:
        if delivery is None or not delivery.redelivered:
            reject_request(h, batch, request, RejectSource.VALIDATION,
                           f"duplicate cl_ord_id {request.cl_ord_id!r}: already used")
        _settle(batch, delivery)  # a redelivery already recorded: no new event
        return
    row = record_request(h, batch, request)
    denial = _entitlement(h, request)
    if denial is not None:
        reject_request(h, batch, request, RejectSource.ENTITLEMENT, denial)
    elif isinstance(request, InvalidRequest):
        reject_request(h, batch, request, RejectSource.VALIDATION, request.reason)
    elif isinstance(request, NewOrderRequest):
        order_requests.new_order(h, batch, request, received_ns)
    else:
        order = _original(h, batch, request)
        if order is None:
            pass
        elif isinstance(request, CancelRequest):
            order_requests.cancel(h, batch, order, request)
        else:
            order_requests.replace(h, batch, order, request)
    requests.hold(request, Recorded(row["trading_day"], row["order_id"]))
    _settle(batch, delivery)


def record_request(h: Handlers, batch: Batch, request: ClientRequest) -> dict[str, Any]:
    """Record ``request`` under its ClOrdID (its ``client_requests`` row, in ``batch``): a
    resend of it is a duplicate from now on. The row's ``order_id`` is filled in once known."""
    day = h.requests.day_of(request.origin, batch.now)
    h.requests.record(request, day)
    row: dict[str, Any] = {
        "origin": request.origin, "cl_ord_id": request.cl_ord_id, "kind": _kind(request),
        "order_id": None, "received_at": batch.now, "trading_day": day,
    }
    batch.client_requests.append(row)
    return row


def _kind(request: ClientRequest) -> str:
    """The ``client_requests.kind`` of ``request``: new, cancel or replace."""
    if isinstance(request, CancelRequest):
        return "cancel"
    if isinstance(request, ReplaceRequest):
        return "replace"
    if isinstance(request, InvalidRequest) and request.kind in ("cancel", "replace"):
        return request.kind
    return "new"


def _settle(batch: Batch, delivery: Delivery) -> None:
    if delivery is not None and not isinstance(delivery, ClientFixRequest):
        batch.deliveries.append(delivery)  # acknowledged together after the commit


def _entitlement(h: Handlers, request: ClientRequest) -> str | None:
    user = request.user if request.user is not None else h.ctx.default_user
    if not request.origin.startswith(("amqp:", "fix:")):  # a FIX session is its user
        return None
    if user is None:
        return "the command carries no AMQP user_id and no default user is configured"
    if request.account not in h.ctx.known_accounts:
        return f"unknown account {request.account!r}"
    if request.account not in h.ctx.user_accounts(user):
        return f"user {user!r} may not trade account {request.account!r}"
    return None


def reject_request(h: Handlers, batch: Batch, request: ClientRequest, source: RejectSource,
                   text: str, order: Order | None = None) -> None:
    """Reject a request that changes no order. ``order``: the order a cancel/replace names,
    when known: the reject then carries its identity and current status."""
    kind = _kind(request)
    exec_type = (ExecType.CANCEL_REJECTED if kind == "cancel"
                 else ExecType.REPLACE_REJECTED if kind == "replace" else ExecType.REJECTED)
    audit, outbox = orderless_body_rows(
        request if order is None else order, exec_type=exec_type, source=source,
        text=text, now=batch.now, request_cl_ord_id=request.cl_ord_id,
    )
    metrics = h.ctx.metrics
    if metrics is not None:
        metrics.labelled(metrics.rejects, source.value).inc()
    batch.events.append(audit)
    batch.outbox.append(outbox)


def _original(h: Handlers, batch: Batch, request: CancelRequest | ReplaceRequest) -> Order | None:
    """The order a cancel or replace names; answers the request itself when there is none."""
    order_id = h.request_order_id(request.origin, request.orig_cl_ord_id)
    order = None if order_id is None else h.order_by_id(order_id)
    if order is None or order.account != request.account:
        reject_request(h, batch, request, RejectSource.VALIDATION,
                       f"unknown orig_cl_ord_id {request.orig_cl_ord_id!r}")
        return None
    batch.client_requests[-1]["order_id"] = order.order_id
    h.state.by_request[(request.origin, request.cl_ord_id)] = order.order_id  # as the row
    return order
