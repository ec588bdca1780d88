"""Counts and recent latency for the dashboard: a handful of indexed aggregate queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, and_, func, select
from sqlalchemy.orm import aliased

from oms.admin.queries.tables import (
    BREAKERS,
    COMMANDS,
    EXECUTIONS,
    KILL_SWITCHES,
    ORDER_EVENTS,
    ORDERS,
    TERMINAL_STATUSES,
    UNMATCHED,
    VENUE_REQUESTS,
)

LATENCY_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class AckLatency:
    """From the OMS committing an order (``pending_new``) to committing the venue's
    acknowledgement (``new``), over orders acknowledged in the window."""

    orders: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


@dataclass(frozen=True, slots=True)
class DashboardCounts:
    orders_today_by_status: dict[str, int]
    open_orders: int
    fills_today: int
    filled_qty_today: Decimal
    filled_notional_today: Decimal
    pending_commands: int
    oldest_pending_command: datetime | None
    in_doubt: int
    unmatched: int
    kill_switches: Sequence[Row[Any]]
    tripped_breakers: Sequence[Row[Any]]
    latency: AckLatency

    @property
    def orders_today(self) -> int:
        return sum(self.orders_today_by_status.values())


def dashboard_counts(conn: Connection, now: datetime) -> DashboardCounts:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    by_status = {
        str(status): int(n)
        for status, n in conn.execute(
            select(ORDERS.c.status, func.count())
            .where(ORDERS.c.created_at >= midnight)
            .group_by(ORDERS.c.status)
        )
    }
    open_orders = conn.execute(
        select(func.count()).select_from(ORDERS).where(ORDERS.c.status.not_in(TERMINAL_STATUSES))
    ).scalar_one()
    fills = conn.execute(
        select(func.count(), func.coalesce(func.sum(EXECUTIONS.c.last_qty), 0),
               func.coalesce(func.sum(EXECUTIONS.c.last_qty * EXECUTIONS.c.last_px), 0))
        .where(EXECUTIONS.c.recorded_at >= midnight)
        .where(EXECUTIONS.c.exec_type.in_(("fill", "partial_fill")))
    ).one()
    pending = conn.execute(
        select(func.count(), func.min(COMMANDS.c.created_at))
        .where(COMMANDS.c.processed_at.is_(None))
    ).one()
    return DashboardCounts(
        orders_today_by_status=by_status,
        open_orders=int(open_orders),
        fills_today=int(fills[0]),
        filled_qty_today=Decimal(fills[1]),
        filled_notional_today=Decimal(fills[2]),
        pending_commands=int(pending[0]),
        oldest_pending_command=pending[1],
        in_doubt=in_doubt_count(conn),
        unmatched=int(conn.execute(
            select(func.count()).select_from(UNMATCHED).where(UNMATCHED.c.resolved_at.is_(None))
        ).scalar_one()),
        kill_switches=conn.execute(
            select(KILL_SWITCHES).where(KILL_SWITCHES.c.active).order_by(KILL_SWITCHES.c.tripped_at)
        ).all(),
        tripped_breakers=conn.execute(
            select(BREAKERS).where(BREAKERS.c.tripped).order_by(BREAKERS.c.tripped_at)
        ).all(),
        latency=ack_latency(conn, now),
    )


def in_doubt_count(conn: Connection) -> int:
    # An order in doubt is still open: the open-orders partial index keeps this off a full scan.
    flagged = select(ORDERS.c.order_id).where(
        ORDERS.c.in_doubt, ORDERS.c.status.not_in(TERMINAL_STATUSES)
    )
    unsent = select(VENUE_REQUESTS.c.order_id).where(
        VENUE_REQUESTS.c.state.in_(("in_doubt", "pending_send"))
    )
    return int(conn.execute(
        select(func.count()).select_from(flagged.union(unsent).subquery())
    ).scalar_one())


def ack_latency(conn: Connection, now: datetime) -> AckLatency:
    sent = aliased(ORDER_EVENTS, name="sent")
    acked = aliased(ORDER_EVENTS, name="acked")
    millis = func.extract("epoch", acked.c.created_at - sent.c.created_at) * 1000
    row = conn.execute(
        select(
            func.count(),
            func.percentile_cont(0.5).within_group(millis),
            func.percentile_cont(0.99).within_group(millis),
            func.max(millis),
        )
        .select_from(sent.join(acked, and_(
            acked.c.order_id == sent.c.order_id, acked.c.exec_type == "new",
        )))
        .where(sent.c.exec_type == "pending_new")
        .where(acked.c.created_at >= now - LATENCY_WINDOW)
        # both ends inside the window (plus a minute): two range scans of the time index
        .where(sent.c.created_at >= now - LATENCY_WINDOW - timedelta(minutes=1))
    ).one()
    return AckLatency(
        orders=int(row[0]),
        p50_ms=None if row[1] is None else float(row[1]),
        p99_ms=None if row[2] is None else float(row[2]),
        max_ms=None if row[3] is None else float(row[3]),
    )
