"""The core's ``OrderStore`` port over PostgreSQL: the reads the handlers make beside what
their batch writes, and the id reservations.

Each call takes a pooled connection for its one statement, except ``recorded_requests``,
which runs on the core's own reading connection when given one. Recorded requests are looked
up in one statement per batch, whatever its size, by the primary key (origin, cl_ord_id,
trading_day): the keys are passed as arrays and joined, so the statement text never changes
(PostgreSQL keeps it prepared) and each key is one index probe; the first day that counts is a
range on the key's third column, so it stays an index probe either way.

Most keys never reach that statement: the core rules out the ClOrdIDs never recorded from
memory (``oms.engine.recorded_keys``), loaded from ``recorded_keys``: every (origin, cl_ord_id)
of the table, streamed from a server-side cursor in chunks, never all in one list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DBAPIError

from oms.engine.order_rows import order_from_row
from oms.engine.ports import StoredOrder
from oms.engine.replays import Recorded, RequestKey
from oms.engine.state import VenueRequestRef
from oms.store import order_repository as orders_repo
from oms.store.models import RiskLimit
from oms.store.operator_channel import mark_processed

KEY_CHUNK = 50_000
"""Rows fetched per round trip while streaming the recorded keys."""
RECORDED_KEYS = "SELECT origin, cl_ord_id FROM client_requests"

RECORDED_REQUESTS = (
    "SELECT DISTINCT ON (c.origin, c.cl_ord_id) c.origin, c.cl_ord_id, c.trading_day,"
    " c.order_id"
    " FROM unnest(%s::text[], %s::text[], %s::date[]) AS k(origin, cl_ord_id, since)"
    " JOIN client_requests AS c ON c.origin = k.origin AND c.cl_ord_id = k.cl_ord_id"
    " AND c.trading_day >= k.since"
    " ORDER BY c.origin, c.cl_ord_id, c.trading_day DESC"
)


def recorded_requests(
    conn: Connection, keys: Sequence[RequestKey]
) -> dict[tuple[str, str], Recorded]:
    """The (origin, cl_ord_id) of ``keys`` that ``client_requests`` holds on or after the key's
    ``since`` day, with the newest such request."""
    if not keys:
        return {}
    # straight to the driver: SQLAlchemy's own work per statement was most of the cost
    cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    params = ([k.origin for k in keys], [k.cl_ord_id for k in keys], [k.since for k in keys])
    try:
        cursor.execute(RECORDED_REQUESTS, params)
        return {(origin, cl_ord_id): Recorded(day, order_id)
                for origin, cl_ord_id, day, order_id in cursor.fetchall()}
    except psycopg.Error as exc:  # as SQLAlchemy would raise it: the core handles those
        raise DBAPIError(RECORDED_REQUESTS, None, exc) from exc


class DatabaseOrderStore:
    """``oms.engine.ports.OrderStore`` on ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def order_of_request(self, origin: str, cl_ord_id: str) -> str | None:
        with self._engine.connect() as conn:
            return orders_repo.order_of_request(conn, origin, cl_ord_id)

    def read_back_order(self, order_id: str) -> StoredOrder | None:
        with self._engine.connect() as conn:
            row = orders_repo.read_back_order(conn, order_id)
        if row is None:
            return None
        return StoredOrder(order_from_row(row), row["version"], row["created_at"],
                           row["live_venue_cl_ord_id"])

    def find_venue_request(self, venue: str, venue_cl_ord_id: str) -> VenueRequestRef | None:
        with self._engine.connect() as conn:
            row = orders_repo.find_venue_request(conn, venue, venue_cl_ord_id)
        return None if row is None else VenueRequestRef(
            row["order_id"], row["request_cl_ord_id"], row["kind"])

    def recorded_requests(
        self, keys: Sequence[RequestKey], reader: Connection | None = None
    ) -> dict[tuple[str, str], Recorded]:
        if not keys:
            return {}
        if reader is not None:
            return recorded_requests(reader, keys)
        with self._engine.connect() as pooled:
            return recorded_requests(pooled, keys)

    def recorded_keys(self) -> tuple[int, Iterator[tuple[str, str]]]:
        table = orders_repo.CLIENT_REQUESTS
        with self._engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(table)).scalar_one()
        return rows, self._stream_keys()

    def _stream_keys(self) -> Iterator[tuple[str, str]]:
        """Each row's (origin, cl_ord_id), ``KEY_CHUNK`` rows per fetch from a server-side
        cursor, on its own pooled connection (held until the last row is read)."""
        with self._engine.connect() as conn, conn.begin():  # a named cursor needs one
            # straight to the driver: SQLAlchemy's rows cost half as much again per key
            driver: Any = conn.connection.driver_connection
            try:
                with driver.cursor(name="recorded_keys") as cursor:
                    cursor.execute(RECORDED_KEYS)
                    while rows := cursor.fetchmany(KEY_CHUNK):
                        yield from rows
            except psycopg.Error as exc:  # as SQLAlchemy would raise it: the core handles those
                raise DBAPIError(RECORDED_KEYS, None, exc) from exc

    def edited_limit_rows(self) -> list[dict[str, Any]]:
        with self._engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(RiskLimit.__table__)).mappings()]

    def reserve_order_ids(self, count: int) -> list[int]:
        with self._engine.begin() as conn:
            return orders_repo.reserve_ids(conn, count)

    def reserve_venue_ids(self, count: int) -> list[int]:
        with self._engine.begin() as conn:
            return orders_repo.reserve_ids(conn, count, venue=True)

    def mark_command_processed(self, command_id: int, result: str, at: datetime) -> None:
        with self._engine.begin() as conn:
            mark_processed(conn, command_id, result, at)
