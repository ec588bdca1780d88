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
    unanswered: set[tuple[str, str]] = field(default_factory=set)
    """(venue, venue ClOrdID) of new orders the venue has not answered yet. After a logon they
    are in doubt (committed, but perhaps never sent, or sent and lost in a crash) and are asked
    about with an OrderStatusRequest; what the venue does not know is rejected, never guessed."""
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
    for req in conn.execute(select(vr).where(vr.c.order_id.in_(open_ids))).mappings():
        ref = VenueRequestRef(req["order_id"], req["request_cl_ord_id"], req["kind"])
        state.venue_requests[(req["venue"], req["venue_cl_ord_id"])] = ref
        order = state.orders[req["order_id"]]
        state.by_request[(order.origin, req["request_cl_ord_id"])] = order.order_id
        if req["kind"] == "new" and req["state"] in ("pending_send", "sent", "in_doubt"):
            state.unanswered.add((req["venue"], req["venue_cl_ord_id"]))
        if req["kind"] in ("new", "replace") and req["state"] in ("sent", "answered"):
            _track_live(state, req)
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


def _track_live(state: CoreState, req: Any) -> None:
    # The newest accepted new/replace request is the id the venue knows the order by; requests
    # are loaded in no particular order, so keep the highest creation time.
    current = state.live_venue_id.get(req["order_id"])
    if current is None or req["kind"] == "replace":
        state.live_venue_id[req["order_id"]] = req["venue_cl_ord_id"]
