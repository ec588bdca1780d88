"""Orders, client requests and order events through SQLAlchemy Core: a few statements per batch.

Rows are plain mappings keyed by column name; the engine converts its aggregates to and from
them. Updates are optimistic: each row carries the version it was read at, and a row changed by
anybody else since is refused with ``ConcurrentUpdateError`` (the whole transaction must then be
rolled back and the state reloaded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from oms.store.models import ORDER_ID_SEQ, VENUE_CL_ORD_ID_SEQ, ClientRequest, Order, OrderEvent

ORDERS = cast(Table, Order.__table__)
CLIENT_REQUESTS = cast(Table, ClientRequest.__table__)
ORDER_EVENTS = cast(Table, OrderEvent.__table__)

TERMINAL = ("filled", "canceled", "rejected", "expired")

UPDATABLE_COLUMNS = (
    "cl_ord_id", "orig_cl_ord_id", "quantity", "price", "stop_price", "status", "cum_qty",
    "leaves_qty", "avg_px", "venue_order_id", "in_doubt", "seq", "state", "updated_at",
)


class ConcurrentUpdateError(Exception):
    """An order row was changed by someone else since it was read."""

    def __init__(self, order_ids: Sequence[str]) -> None:
        super().__init__(f"orders changed concurrently: {', '.join(order_ids)}")
        self.order_ids = tuple(order_ids)


def insert_orders(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(ORDERS.insert(), [dict(r) for r in rows])


def update_orders(
    conn: Connection, rows: Sequence[Mapping[str, Any]], *, checked: bool = False
) -> None:
    """Write new state for orders read at ``row["version"]``; bumps each version by one.

    Two statements per batch: lock the rows and compare their versions (so a stale row is named
    exactly), then one executemany UPDATE that can no longer miss. ``checked``: the caller has
    already run ``check_versions`` in this transaction (the core does, then sends the rest of
    its batch in pipeline mode, where no statement can wait for results).
    """
    if not rows:
        return
    if not checked:
        check_versions(conn, rows)
    stmt = (
        update(ORDERS)
        .where(ORDERS.c.order_id == bindparam("b_order_id"))
        .values(
            {c: bindparam(f"b_{c}") for c in UPDATABLE_COLUMNS}
            | {"version": ORDERS.c.version + 1}
        )
    )
    params = [
        {f"b_{c}": row[c] for c in UPDATABLE_COLUMNS} | {"b_order_id": row["order_id"]}
        for row in rows
    ]
    conn.execute(stmt, params)


def check_versions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Lock the orders of ``rows`` (FOR UPDATE, to the end of the transaction) and raise
    ``ConcurrentUpdateError`` naming those whose version is not ``row["version"]``."""
    if not rows:
        return
    expected = {row["order_id"]: row["version"] for row in rows}
    lock = (
        select(ORDERS.c.order_id, ORDERS.c.version)
        .where(ORDERS.c.order_id.in_(expected))
        .with_for_update()
    )
    current = {row.order_id: row.version for row in conn.execute(lock)}
    stale = sorted(oid for oid, version in expected.items() if current.get(oid) != version)
    if stale:
        raise ConcurrentUpdateError(stale)


def get_order(conn: Connection, order_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(ORDERS).where(ORDERS.c.order_id == order_id)).mappings().first()
    return dict(row) if row else None


def load_open_orders(conn: Connection) -> list[dict[str, Any]]:
    """Every order not in a terminal state: what the core reloads at start."""
    stmt = select(ORDERS).where(ORDERS.c.status.not_in(TERMINAL)).order_by(ORDERS.c.created_at)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def record_client_requests(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[bool]:
    """Record commands by (origin, cl_ord_id, trading_day). Returns, per row, False where that
    key was recorded already (a replay)."""
    if not rows:
        return []
    table = CLIENT_REQUESTS
    stmt = (
        pg_insert(table)
        .on_conflict_do_nothing(index_elements=["origin", "cl_ord_id", "trading_day"])
        .returning(table.c.origin, table.c.cl_ord_id, table.c.trading_day)
    )
    inserted: set[tuple[str, str, date]] = set()
    for row in rows:
        got = conn.execute(stmt, dict(row)).first()
        if got is not None:
            inserted.add((got[0], got[1], got[2]))
    return [(r["origin"], r["cl_ord_id"], r["trading_day"]) in inserted for r in rows]


def find_client_request(conn: Connection, origin: str, cl_ord_id: str) -> dict[str, Any] | None:
    """The newest request of ``origin`` with ``cl_ord_id`` (a day-scoped FIX session may use a
    ClOrdID again on a later trading day)."""
    table = CLIENT_REQUESTS
    stmt = (
        select(table).where(table.c.origin == origin, table.c.cl_ord_id == cl_ord_id)
        .order_by(table.c.trading_day.desc()).limit(1)
    )
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


def append_events(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(ORDER_EVENTS.insert(), [dict(r) for r in rows])


def events_of_order(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    stmt = select(ORDER_EVENTS).where(ORDER_EVENTS.c.order_id == order_id).order_by(
        ORDER_EVENTS.c.seq
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


def reserve_ids(conn: Connection, count: int, *, venue: bool = False) -> list[int]:
    """Reserve ``count`` numbers from the order-id or venue-ClOrdID sequence in one round trip.

    Sequences never hand out a number twice, even across crashes and rollbacks, which is what
    makes venue ClOrdIDs unique for all time.
    """
    if count <= 0:
        return []
    seq = VENUE_CL_ORD_ID_SEQ if venue else ORDER_ID_SEQ
    stmt = select(func.nextval(seq.name)).select_from(func.generate_series(1, count))
    return [int(v) for v in conn.execute(stmt).scalars()]


def order_ids_by_status(conn: Connection, statuses: Iterable[str]) -> list[str]:
    stmt = select(ORDERS.c.order_id).where(ORDERS.c.status.in_(list(statuses)))
    return list(conn.execute(stmt).scalars())
