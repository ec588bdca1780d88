"""What awaits an operator: in-doubt orders and venue messages no order matched.

An order is in doubt when the venue answered neither a request of it nor the order status
request that followed (``orders.in_doubt``, the request ``in_doubt`` with a ``note`` saying
why), or when a request of it was committed but never confirmed sent (``pending_send``).
Unmatched: execution reports for orders the OMS does not know, venue rejects (35=3, 35=j) it
could not match to a request, and venue messages our own session rejected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select

from oms.admin.queries.tables import ORDERS, TERMINAL_STATUSES, UNMATCHED, VENUE_REQUESTS

UNSETTLED = ("in_doubt", "pending_send")


def in_doubt_orders(conn: Connection, limit: int = 200) -> Sequence[Row[Any]]:
    """Orders flagged in doubt, or with a venue request never confirmed sent, with those
    requests' venue ClOrdIDs (kind, state) and why they are in doubt (``notes``)."""
    unsettled = (
        select(
            VENUE_REQUESTS.c.order_id,
            func.string_agg(
                func.concat(VENUE_REQUESTS.c.venue_cl_ord_id, " (", VENUE_REQUESTS.c.kind, ", ",
                            VENUE_REQUESTS.c.state, ")"),
                ", ",
            ).label("requests"),
            func.min(VENUE_REQUESTS.c.created_at).label("since"),
            func.string_agg(VENUE_REQUESTS.c.note, "; ").label("notes"),
        )
        .where(VENUE_REQUESTS.c.state.in_(UNSETTLED))
        .group_by(VENUE_REQUESTS.c.order_id)
        .subquery()
    )
    stmt = (
        select(ORDERS, unsettled.c.requests, unsettled.c.since, unsettled.c.notes)
        .select_from(ORDERS.outerjoin(unsettled, unsettled.c.order_id == ORDERS.c.order_id))
        .where(or_(ORDERS.c.in_doubt, unsettled.c.order_id.is_not(None)))
        .where(ORDERS.c.status.not_in(TERMINAL_STATUSES))
        .order_by(ORDERS.c.updated_at)
        .limit(limit)
    )
    return conn.execute(stmt).all()


def unmatched_reports(
    conn: Connection, *, resolved: bool, limit: int = 200
) -> Sequence[Row[Any]]:
    column = UNMATCHED.c.resolved_at
    stmt = select(UNMATCHED).where(column.is_not(None) if resolved else column.is_(None))
    order = UNMATCHED.c.resolved_at.desc() if resolved else UNMATCHED.c.received_at
    return conn.execute(stmt.order_by(order).limit(limit)).all()
