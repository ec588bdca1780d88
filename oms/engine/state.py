"""The core's in-memory state: owned by the core thread only, rebuilt from Postgres at start
and after any failed commit (the database is the truth; memory is a cache that may be ahead
of it only inside one batch)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from oms.domain.order_handlers_refusals import awaits_venue_answer
from oms.domain.orders import Order
from oms.domain.risk import (
    DuplicateOrderGuard,
    ExecutionBreaker,
    KillSwitch,
    KillSwitchEntry,
    RateWindows,
)
from oms.domain.values import KillScope
from oms.engine.exposure import OpenExposure
from oms.engine.order_rows import order_from_row
from oms.engine.request_watch import IN_DOUBT, SENT, RequestWatch, WatchedRequest
from oms.store import order_repository as orders_repo
from oms.store.models import AccountBreaker, Position, VenueRequest
from oms.store.models import KillSwitch as KillSwitchRow
from oms.store.order_repository import TERMINAL


@dataclass(frozen=True, slots=True)
class VenueRequestRef:
    order_id: str
    request_cl_ord_id: str
    kind: str


@dataclass(slots=True)
class CoreState:
    orders: dict[str, Order] = field(default_factory=dict)
    row_versions: dict[str, int] = field(default_factory=dict)
    by_request: dict[tuple[str, str], str] = field(default_factory=dict)
    venue_requests: dict[tuple[str, str], VenueRequestRef] = field(default_factory=dict)
    live_venue_id: dict[str, str] = field(default_factory=dict)
    """The venue ClOrdID under which the venue knows each order now (OrigClOrdID of a cancel)."""
    watch: RequestWatch = field(default_factory=RequestWatch)
    """Venue requests (new, cancel, replace) awaiting the venue's answer, with deadlines: see
    ``venue_silence``. Rebuilt from ``venue_requests`` at load, so a restart keeps the watch;
    after a logon each is asked about with an OrderStatusRequest, never guessed. An order
    with a request in doubt is flagged ``in_doubt`` in its row."""
    positions: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    created: dict[str, datetime] = field(default_factory=dict)
    """When each order was created (UTC): day orders expire at the first close after it."""
    request_texts: dict[tuple[str, str], str] = field(default_factory=dict)
    """Why the OMS itself asked (operator, kill switch, breaker), by (order_id, request id):
    carried onto the venue's answer, which has no text of its own."""
    kill_switch: KillSwitch = field(default_factory=KillSwitch)
    breakers: dict[str, ExecutionBreaker] = field(default_factory=dict)
    windows: dict[str, RateWindows] = field(default_factory=dict)
    duplicates: dict[str, DuplicateOrderGuard] = field(default_factory=dict)
    exposure: OpenExposure = field(default_factory=OpenExposure)
    """Open order count and leaves per account: updated on every change to an order."""

    def breaker(self, account: str) -> ExecutionBreaker:
        b = self.breakers.get(account)
        if b is None:
            b = self.breakers[account] = ExecutionBreaker(account)
        return b

    def window(self, account: str) -> RateWindows:
        w = self.windows.get(account)
        if w is None:
            w = self.windows[account] = RateWindows()
        return w

    def guard(self, account: str) -> DuplicateOrderGuard:
        g = self.duplicates.get(account)
        if g is None:
            g = self.duplicates[account] = DuplicateOrderGuard()
        return g

    def adopt(self, order: Order, row_version: int) -> None:
        self.orders[order.order_id] = order
        self.row_versions[order.order_id] = row_version
        self.exposure.update(order)
        self.by_request[(order.origin, order.cl_ord_id)] = order.order_id

    def forget_closed(self, order_ids: Iterable[str]) -> None:
        """Drop orders in a terminal status from memory once their batch has committed.

        Memory then holds what a reload from Postgres gives (``load_state`` reads the orders
        not in a terminal status), so scans of the open orders (risk exposure, mass cancels)
        stay proportional to the open orders, not to every order since the start. A late
        message about a dropped order reads it back from the database (``Handlers._order``),
        as after a restart; request indexes are kept, as they would be found there too."""
        for order_id in order_ids:
            order = self.orders.get(order_id)
            if order is not None and order.status.value in TERMINAL:
                self.exposure.update(order)
                del self.orders[order_id]
                self.row_versions.pop(order_id, None)

    def open_orders_of(self, account: str) -> list[Order]:
        return [o for o in self.orders.values() if o.account == account and o.is_open]


def load_state(conn: Connection) -> CoreState:
    state = CoreState()
    for row in orders_repo.load_open_orders(conn):
        state.adopt(order_from_row(row), row["version"])
        state.created[row["order_id"]] = row["created_at"]
    open_ids = set(state.orders)
    vr = VenueRequest.__table__
    # oldest first: a ClOrdID used again on a later day names the newest order
    requests = select(vr).where(vr.c.order_id.in_(open_ids)).order_by(vr.c.created_at)
    for req in conn.execute(requests).mappings():
        ref = VenueRequestRef(req["order_id"], req["request_cl_ord_id"], req["kind"])
        state.venue_requests[(req["venue"], req["venue_cl_ord_id"])] = ref
        order = state.orders[req["order_id"]]
        state.by_request[(order.origin, req["request_cl_ord_id"])] = order.order_id
        if req["kind"] in ("new", "replace") and (
            req["request_cl_ord_id"] == order.cl_ord_id or req["kind"] == "new"
        ):
            _track_live(state, req, order.cl_ord_id)
        if req["state"] in _AWAITED and awaits_venue_answer(
            order, req["kind"], req["request_cl_ord_id"]
        ):
            # due at once: the first tick asks (or, venue down, waits for its logon)
            state.watch.watch(WatchedRequest(
                req["venue"], req["venue_cl_ord_id"], order.order_id, req["request_cl_ord_id"],
                req["kind"], _AWAITED[req["state"]], 0.0,
            ))
    pos = Position.__table__
    for p in conn.execute(select(pos.c.account, pos.c.symbol, pos.c.net_qty)):
        state.positions[(p.account, p.symbol)] = p.net_qty
    ks = KillSwitchRow.__table__
    entries = [
        KillSwitchEntry(
            scope=KillScope(r["scope"]), key=r["key"], reason=r["reason"],
            tripped_by=r["tripped_by"], tripped_at=r["tripped_at"],
        )
        for r in conn.execute(select(ks).where(ks.c.active.is_(True))).mappings()
    ]
    state.kill_switch = KillSwitch(entries)
    br = AccountBreaker.__table__
    for r in conn.execute(select(br).where(br.c.tripped.is_(True))).mappings():
        state.breakers[r["account"]] = ExecutionBreaker(
            r["account"], tripped_reason=r["reason"], tripped_at=r["tripped_at"]
        )
    return state


_AWAITED = {"pending_send": SENT, "sent": SENT, "status_requested": SENT, "in_doubt": IN_DOUBT}
"""Venue request states that still await the venue, and the watch stage each resumes at: a
status asked before the restart is asked again (its answer may be lost), in doubt stays so."""


def _track_live(state: CoreState, req: Any, current_cl_ord_id: str) -> None:
    # The venue knows the order by the ClOrdID of the request that made its current terms:
    # the replace the order's current request id names (the venue confirmed it), else the new
    # order's. Requests are loaded in no particular order.
    if req["request_cl_ord_id"] == current_cl_ord_id or req["order_id"] not in state.live_venue_id:
        state.live_venue_id[req["order_id"]] = req["venue_cl_ord_id"]
