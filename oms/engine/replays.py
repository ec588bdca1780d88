"""Which client requests of a batch were recorded before (duplicates and broker redeliveries).

One statement per batch, whatever its size, and by the primary key (origin, cl_ord_id): the
pairs are passed as two arrays and joined, so the statement text never changes (PostgreSQL
keeps it prepared) and each pair is one index probe. Looking up ``cl_ord_id`` alone, the
second column of that key, scanned the whole table once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

_RECORDED = (
    "SELECT c.origin, c.cl_ord_id"
    " FROM unnest(%s::text[], %s::text[]) AS k(origin, cl_ord_id)"
    " JOIN client_requests AS c ON c.origin = k.origin AND c.cl_ord_id = k.cl_ord_id"
)


def recorded_requests(conn: Connection, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (origin, cl_ord_id) pairs of ``keys`` that ``client_requests`` already holds."""
    if not keys:
        return set()
    # straight to the driver: SQLAlchemy's own work per statement was most of the cost
    cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_RECORDED, ([k[0] for k in keys], [k[1] for k in keys]))
        return {(origin, cl_ord_id) for origin, cl_ord_id in cursor.fetchall()}
    except psycopg.Error as exc:  # as SQLAlchemy would raise it: the core handles those
        raise DBAPIError(_RECORDED, None, exc) from exc
