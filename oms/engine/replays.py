"""Which client requests of a batch were recorded before (duplicates and broker redeliveries).

One statement per batch, whatever its size, by the primary key (origin, cl_ord_id,
trading_day): the keys are passed as arrays and joined, so the statement text never changes
(PostgreSQL keeps it prepared) and each key is one index probe. Each key carries the first
trading day that counts (``ClOrdIdScope.duplicates_since``): the request's own day for a
day-scoped FIX session, ``EVERY_DAY`` otherwise; the probe is a range on the key's third
column, so it stays an index probe either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

_RECORDED = (
    "SELECT DISTINCT ON (c.origin, c.cl_ord_id) c.origin, c.cl_ord_id, c.trading_day,"
    " c.order_id"
    " FROM unnest(%s::text[], %s::text[], %s::date[]) AS k(origin, cl_ord_id, since)"
    " JOIN client_requests AS c ON c.origin = k.origin AND c.cl_ord_id = k.cl_ord_id"
    " AND c.trading_day >= k.since"
    " ORDER BY c.origin, c.cl_ord_id, c.trading_day DESC"
)


@dataclass(frozen=True, slots=True)
class RequestKey:
    """A request to look for: its origin and ClOrdID, and the first trading day that counts."""

    origin: str
    cl_ord_id: str
    since: date


@dataclass(frozen=True, slots=True)
class Recorded:
    """The newest recorded request of a key: its trading day and the order it named."""

    trading_day: date
    order_id: str | None


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
        cursor.execute(_RECORDED, params)
        return {(origin, cl_ord_id): Recorded(day, order_id)
                for origin, cl_ord_id, day, order_id in cursor.fetchall()}
    except psycopg.Error as exc:  # as SQLAlchemy would raise it: the core handles those
        raise DBAPIError(_RECORDED, None, exc) from exc
