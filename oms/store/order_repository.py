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

from sqlalchemy import Connection, Table, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from oms.store.models import (
    ORDER_ID_SEQ,
    VENUE_CL_ORD_ID_SEQ,
    ClientRequest,
    Order,
    OrderEvent,
    VenueRequest,
)

ORDERS = cast(Table, Order.__table__)
CLIENT_REQUESTS = cast(Table, ClientRequest.__table__)
ORDER_EVENTS = cast(Table, OrderEvent.__table__)
VENUE_REQUESTS = cast(Table, VenueRequest.__table__)

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


def load_open_orders(conn: Connection,
                     accounts: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Every order not in a terminal state (of ``accounts`` only, if given: a shard's): what
    the core reloads at start."""
    stmt = select(ORDERS).where(ORDERS.c.status.not_in(TERMINAL)).order_by(ORDERS.c.created_at)
    if accounts is not None:
        stmt = stmt.where(ORDERS.c.account.in_(accounts))
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


def order_of_request(conn: Connection, origin: str, cl_ord_id: str) -> str | None:
    """The order a client's ClOrdID names: that of the newest request of ``origin`` with
    ``cl_ord_id`` that named an order (a new order, or a cancel or replace of one). One probe
    of the primary key (origin, cl_ord_id, trading_day), read backwards."""
    table = CLIENT_REQUESTS
    stmt = (
        select(table.c.order_id)
        .where(table.c.origin == origin, table.c.cl_ord_id == cl_ord_id,
               table.c.order_id.is_not(None))
        .order_by(table.c.trading_day.desc()).limit(1)
    )
    return conn.execute(stmt).scalar()


_ORDERS_OF_REQUESTS = text(
    "SELECT DISTINCT ON (c.origin, c.cl_ord_id) c.origin, c.cl_ord_id, c.order_id"
    " FROM unnest(CAST(:origins AS text[]), CAST(:cl_ord_ids AS text[])) AS k(origin, cl_ord_id)"
    " JOIN client_requests AS c ON c.origin = k.origin AND c.cl_ord_id = k.cl_ord_id"
    " WHERE c.order_id IS NOT NULL"
    " ORDER BY c.origin, c.cl_ord_id, c.trading_day DESC"
)


def orders_of_requests(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """``order_of_request`` for many (origin, cl_ord_id) at once (the core's load): one
    statement, one primary-key probe per key; keys that name no order are left out."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    params = {"origins": [k[0] for k in unique], "cl_ord_ids": [k[1] for k in unique]}
    return {(r.origin, r.cl_ord_id): r.order_id
            for r in conn.execute(_ORDERS_OF_REQUESTS, params)}


def _live_venue_cl_ord_id() -> Any:
    """The venue ClOrdID the venue knows an order by now: that of the new or replace request
    that made its current terms (named by the order's current ClOrdID), else the new order's
    (the rule of ``oms.engine.state`` at load, as one correlated subquery)."""
    vr = VENUE_REQUESTS
    current = vr.c.request_cl_ord_id == ORDERS.c.cl_ord_id
    return (
        select(vr.c.venue_cl_ord_id)
        .where(vr.c.order_id == ORDERS.c.order_id, vr.c.kind.in_(("new", "replace")),
               (vr.c.kind == "new") | current)
        .order_by(current.desc(), vr.c.created_at.desc(), vr.c.venue_cl_ord_id.desc())
        .limit(1)
        .scalar_subquery()
        .label("live_venue_cl_ord_id")
    )


def read_back_order(conn: Connection, order_id: str) -> dict[str, Any] | None:
    """An order the core no longer holds in memory (closed, or never loaded), with the venue
    ClOrdID the venue knows it by (``live_venue_cl_ord_id``, None if none was sent): one
    statement, by primary key and ``ix_venue_requests_order_id``."""
    stmt = select(ORDERS, _live_venue_cl_ord_id()).where(ORDERS.c.order_id == order_id)
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


def find_venue_request(conn: Connection, venue: str, venue_cl_ord_id: str) -> dict[str, Any] | None:
    """The request sent to ``venue`` under ``venue_cl_ord_id`` (its primary key)."""
    vr = VENUE_REQUESTS
    stmt = select(vr).where(vr.c.venue == venue, vr.c.venue_cl_ord_id == venue_cl_ord_id)
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


_REQUEST_TEXTS = text(
    "SELECT e.order_id, e.body->>'cl_ord_id' AS cl_ord_id, e.body->>'text' AS text"
    " FROM order_events AS e WHERE e.order_id = ANY(CAST(:order_ids AS text[]))"
    " AND e.exec_type = 'pending_cancel' AND e.body->>'text' IS NOT NULL"
)


def cancel_request_texts(
    conn: Connection, pending: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Why the OMS itself asked each of the ``pending`` cancels (order_id, request ClOrdID):
    the text of its pending_cancel event (an operator's, a kill switch's...). Cancels of a
    client carry no text and are left out."""
    wanted = set(pending)
    if not wanted:
        return {}
    rows = conn.execute(_REQUEST_TEXTS, {"order_ids": sorted({o for o, _ in wanted})})
    return {(r.order_id, r.cl_ord_id): r.text for r in rows
            if (r.order_id, r.cl_ord_id) in wanted}


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
