"""The core's in-memory state: owned by the core thread only, rebuilt from Postgres at start
and after any failed commit (the database is the truth; memory is a cache that may be ahead
of it only inside one batch)."""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from oms.domain.order_handlers_refusals import awaits_venue_answer
from oms.domain.order_inputs import RequestKind
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
from oms.engine.order_indexes import OrderKeyed
from oms.engine.order_rows import order_from_row
from oms.engine.request_watch import IN_DOUBT, SENT, RequestWatch, WatchedRequest
from oms.settings import DEFAULT_SHARD
from oms.store import order_repository as orders_repo
from oms.store.models import AccountBreaker, Position, VenueRequest
from oms.store.models import KillSwitch as KillSwitchRow
from oms.store.order_repository import TERMINAL


@dataclass(frozen=True, slots=True)
class VenueRequestRef:
    order_id: str
    request_cl_ord_id: str
    kind: str


def _named_order(key: tuple[str, str], order_id: str) -> str:
    return order_id


def _request_order(key: tuple[str, str], ref: VenueRequestRef) -> str:
    return ref.order_id


def _keyed_order(key: tuple[str, str], text: str) -> str:
    return key[0]


@dataclass(slots=True)
class CoreState:
    """Memory holds the open orders and what they need; every per-order entry is dropped when
    its order closes (``forget_closed``). A lookup that misses reads the database (the
    ``Handlers`` lookups), which answers as memory did and as a restart does."""

    orders: dict[str, Order] = field(default_factory=dict)
    row_versions: dict[str, int] = field(default_factory=dict)
    by_request: OrderKeyed[tuple[str, str], str] = field(
        default_factory=lambda: OrderKeyed(_named_order))
    """(origin, client ClOrdID) -> the order the newest request with that ClOrdID named (as
    ``client_requests`` says: ``orders_repo.order_of_request``)."""
    venue_requests: OrderKeyed[tuple[str, str], VenueRequestRef] = field(
        default_factory=lambda: OrderKeyed(_request_order))
    """(venue, venue ClOrdID) -> the request we sent under it (``venue_requests``)."""
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
    request_texts: OrderKeyed[tuple[str, str], str] = field(
        default_factory=lambda: OrderKeyed(_keyed_order))
    """Why the OMS itself asked (operator, kill switch, breaker), by (order_id, request id):
    carried onto the venue's answer, which has no text of its own. Restored at load from the
    pending_cancel events of the open orders' pending cancels."""
    kill_switch: KillSwitch = field(default_factory=KillSwitch)
    breakers: dict[str, ExecutionBreaker] = field(default_factory=dict)
    windows: dict[str, RateWindows] = field(default_factory=dict)
    duplicates: dict[str, DuplicateOrderGuard] = field(default_factory=dict)
    exposure: OpenExposure = field(default_factory=OpenExposure)
    """Open order count and leaves per account: updated on every change to an order."""
    read_back_ids: set[str] = field(default_factory=set)
    """Orders read back from the database since the last commit (a late message about a
    closed order): dropped again after the next commit unless they reopened."""

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
        """Hold a new order (its ClOrdID now names it)."""
        self._hold(order, row_version)
        self.by_request[(order.origin, order.cl_ord_id)] = order.order_id

    def read_back(self, order: Order, row_version: int, created_at: datetime,
                  live_venue_id: str | None) -> None:
        """Hold an order read back from the database, as a load would hold it; until the next
        commit only, unless it reopens. Its ClOrdIDs are left to the database to resolve (a
        newer order may use one of them by now)."""
        self._hold(order, row_version)
        self.created[order.order_id] = created_at
        if live_venue_id is not None:
            self.live_venue_id[order.order_id] = live_venue_id
        self.read_back_ids.add(order.order_id)

    def _hold(self, order: Order, row_version: int) -> None:
        self.orders[order.order_id] = order
        self.row_versions[order.order_id] = row_version
        self.exposure.update(order)

    def forget_closed(self, order_ids: Iterable[str], keep: Container[str] = frozenset()
                      ) -> None:
        """Drop orders in a terminal status, and every entry of theirs, from memory once
        their batch has committed: ``order_ids`` (those the batch changed) and the orders read
        back since the last commit.

        Memory then holds what a reload from Postgres gives (``load_state`` reads the orders
        not in a terminal status), so it stays proportional to the open orders, not to every
        order since the start. A late message about a dropped order finds it in the database
        (the ``Handlers`` lookups), as after a restart. ``keep``: orders the following batch
        (not committed yet) changes or names, whose latest entries the database lacks; they
        are looked at again after the next commit."""
        candidates = {*order_ids, *self.read_back_ids}
        self.read_back_ids = set()
        for order_id in candidates:
            order = self.orders.get(order_id)
            if order is None or order.status.value not in TERMINAL:
                continue
            if order_id in keep:
                self.read_back_ids.add(order_id)
                continue
            self._forget(order)

    def _forget(self, order: Order) -> None:
        order_id = order.order_id
        self.exposure.update(order)
        del self.orders[order_id]
        self.row_versions.pop(order_id, None)
        self.by_request.forget(order_id)
        self.venue_requests.forget(order_id)
        self.request_texts.forget(order_id)
        self.live_venue_id.pop(order_id, None)
        self.created.pop(order_id, None)

    def index_sizes(self) -> dict[str, int]:
        """Entries of every index that grows with orders (for tests and diagnostics): after
        every order has closed and committed, each is back where it was."""
        return {
            "orders": len(self.orders), "row_versions": len(self.row_versions),
            "by_request": len(self.by_request),
            "by_request_orders": self.by_request.owners(),
            "venue_requests": len(self.venue_requests),
            "venue_requests_orders": self.venue_requests.owners(),
            "live_venue_id": len(self.live_venue_id), "created": len(self.created),
            "request_texts": len(self.request_texts),
            "request_texts_orders": self.request_texts.owners(),
            "read_back": len(self.read_back_ids),
            "exposure": len(self.exposure),
            **{f"watch_{name}": size for name, size in self.watch.sizes().items()
               if name != "deadlines"},  # stale ones: at most twice the live ones, plus 64
        }

    def open_orders_of(self, account: str) -> list[Order]:
        return [o for o in self.orders.values() if o.account == account and o.is_open]


class UnreadableOrderError(RuntimeError):
    """An open order's row the core cannot rebuild: the gateway does not start without it (an
    order left out would be live at the venue and unknown to risk)."""


def _order_of(row: dict[str, Any]) -> Order:
    try:
        return order_from_row(row)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadableOrderError(
            f"open order {row['order_id']}: its snapshot (orders.state) cannot be read: {exc}"
        ) from exc


def load_state(conn: Connection, accounts: frozenset[str] | None = None,
               shard: str = DEFAULT_SHARD) -> CoreState:
    """The core's state from the database; ``accounts``: only theirs, and ``shard``'s kill
    switches (a shard's)."""
    state = CoreState()
    for row in orders_repo.load_open_orders(conn, accounts):
        state._hold(_order_of(row), row["version"])
        state.created[row["order_id"]] = row["created_at"]
    open_ids = set(state.orders)
    client_keys = [(o.origin, o.cl_ord_id) for o in state.orders.values()]
    vr = VenueRequest.__table__
    # oldest first: of requests under the order's current ClOrdID, the newest is live
    requests = select(vr).where(vr.c.order_id.in_(open_ids)).order_by(vr.c.created_at)
    for req in conn.execute(requests).mappings():
        ref = VenueRequestRef(req["order_id"], req["request_cl_ord_id"], req["kind"])
        state.venue_requests[(req["venue"], req["venue_cl_ord_id"])] = ref
        order = state.orders[req["order_id"]]
        client_keys.append((order.origin, req["request_cl_ord_id"]))
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
    # the client ClOrdIDs of the open orders, each naming what client_requests says it names
    # (as a lookup that misses memory would find it): not the OMS's own request ids
    named = orders_repo.orders_of_requests(conn, client_keys)
    for key, order_id in named.items():
        if order_id in open_ids:
            state.by_request[key] = order_id
    for order in state.orders.values():  # an order no request names (not made by a client)
        if (order.origin, order.cl_ord_id) not in named:
            state.by_request[(order.origin, order.cl_ord_id)] = order.order_id
    pending_cancels = [(o.order_id, p.cl_ord_id) for o in state.orders.values()
                       for p in o.pending_of(RequestKind.CANCEL)]
    for key, text in orders_repo.cancel_request_texts(conn, pending_cancels).items():
        state.request_texts[key] = text
    pos = Position.__table__
    positions = select(pos.c.account, pos.c.symbol, pos.c.net_qty)
    if accounts is not None:
        positions = positions.where(pos.c.account.in_(accounts))
    for p in conn.execute(positions):
        state.positions[(p.account, p.symbol)] = p.net_qty
    ks = KillSwitchRow.__table__
    entries = [
        KillSwitchEntry(
            scope=KillScope(r["scope"]), key=r["key"], reason=r["reason"],
            tripped_by=r["tripped_by"], tripped_at=r["tripped_at"],
        )
        for r in conn.execute(
            select(ks).where(ks.c.active.is_(True), ks.c.shard == shard)).mappings()
    ]
    state.kill_switch = KillSwitch(entries)
    br = AccountBreaker.__table__
    tripped = select(br).where(br.c.tripped.is_(True))
    if accounts is not None:
        tripped = tripped.where(br.c.account.in_(accounts))
    for r in conn.execute(tripped).mappings():
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
