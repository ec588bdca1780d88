"""Retention of ``client_requests``: requests of old trading days are deleted, so the table stops
growing forever.

A request is deleted when its trading day is before the cutoff and its order is not open (no
order, or an order in a terminal status): the ClOrdIDs of open orders stay known however old.
Deletes go in chunks, each its own short transaction that skips rows locked by anyone else, so
a purge never holds long locks nor waits behind the core. The gateway purges once a day (and at
start) with ``engine.client_requests_retention_days`` (``RetentionPurge``, one chunk per tick of
its housekeeping thread); ``oms db purge --before DATE`` does it by hand.

Uniqueness of the ClOrdIDs of ``cl_ord_id_scope = "forever"`` sessions and of AMQP strategies
holds within the retention: once a request is purged, its ClOrdID may be used again.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from oms.store.order_repository import TERMINAL

log = logging.getLogger(__name__)

CHUNK = 5000
"""Rows deleted per transaction."""

RETRY_AFTER = timedelta(minutes=1)
"""After a failed chunk (database unreachable), the gateway tries again this much later."""

_DELETE_CHUNK = text(
    "DELETE FROM client_requests AS c USING ("
    " SELECT r.origin, r.cl_ord_id, r.trading_day FROM client_requests AS r"
    " LEFT JOIN orders AS o ON o.order_id = r.order_id"
    " WHERE r.trading_day < :before"
    " AND (o.order_id IS NULL OR o.status::text = ANY(CAST(:terminal AS text[])))"
    " ORDER BY r.trading_day LIMIT :chunk"
    " FOR UPDATE OF r SKIP LOCKED) AS old"
    " WHERE c.origin = old.origin AND c.cl_ord_id = old.cl_ord_id"
    " AND c.trading_day = old.trading_day"
)
_KEPT = text("SELECT count(*) FROM client_requests WHERE trading_day < :before")


def retention_cutoff(today: date, retention_days: int) -> date:
    """The first trading day kept: requests of earlier days are purged."""
    return today - timedelta(days=retention_days)


def purge_refusal(before: date, today: date, retention_days: int, *, force: bool) -> str | None:
    """Why a purge by hand of the requests before ``before`` is refused, if it is: a date after
    today (today's requests keep today's ClOrdIDs unique), or one within the retention unless
    forced (it shortens how long ClOrdIDs stay unique for forever-scoped sessions and AMQP)."""
    if before > today:
        return (f"{before} is after today ({today}): today's requests are never purged, "
                f"they keep today's ClOrdIDs unique")
    cutoff = retention_cutoff(today, retention_days)
    if before > cutoff and not force:
        return (f"{before} is within the retention of {retention_days} day(s) "
                f"(engine.client_requests_retention_days): the latest date allowed is "
                f"{cutoff}; --force to purge anyway (ClOrdIDs of forever-scoped sessions and "
                f"of strategies may then be used again)")
    return None


def purge_chunk(engine: Engine, before: date, chunk: int = CHUNK) -> int:
    """Delete up to ``chunk`` purgeable requests of trading days before ``before``, in one
    transaction; returns how many were deleted (fewer than ``chunk``: nothing is left)."""
    params = {"before": before, "chunk": chunk, "terminal": list(TERMINAL)}
    with engine.begin() as conn:
        return int(conn.execute(_DELETE_CHUNK, params).rowcount)


def purge_client_requests(engine: Engine, before: date, chunk: int = CHUNK) -> int:
    """Delete every purgeable request of trading days before ``before``, chunk by chunk;
    returns how many were deleted."""
    removed = 0
    while True:
        deleted = purge_chunk(engine, before, chunk)
        removed += deleted
        if deleted < chunk:
            return removed


def kept_before(engine: Engine, before: date) -> int:
    """Requests of trading days before ``before`` still in the table (those of open orders,
    after a purge)."""
    with engine.connect() as conn:
        return int(conn.execute(_KEPT, {"before": before}).scalar_one())


class RetentionPurge:
    """The gateway's automatic purge: a run once per UTC day (the first at start), one chunk
    per ``step`` so the housekeeping thread is never held for long; logged with its count."""

    def __init__(self, engine: Engine, retention_days: int, chunk: int = CHUNK) -> None:
        self._engine = engine
        self._retention_days = retention_days
        self._chunk = chunk
        self._cutoff: date | None = None
        """The cutoff of the run in progress."""
        self._removed = 0
        self._last_run_day: date | None = None
        self._not_before: datetime | None = None

    def step(self, now: datetime) -> None:
        today = now.astimezone(UTC).date()
        if self._not_before is not None and now < self._not_before:
            return
        if self._cutoff is None:
            if self._last_run_day == today:
                return
            self._cutoff, self._removed = retention_cutoff(today, self._retention_days), 0
        try:
            deleted = purge_chunk(self._engine, self._cutoff, self._chunk)
        except SQLAlchemyError as exc:
            log.error("client_requests purge failed, tried again in %s: %s", RETRY_AFTER, exc)
            self._not_before = now + RETRY_AFTER
            return
        self._not_before = None
        self._removed += deleted
        if deleted < self._chunk:
            log.info("client_requests: purged %d request(s) of trading days before %s "
                     "(retention %d days; those of open orders kept)", self._removed,
                     self._cutoff, self._retention_days)
            self._cutoff, self._last_run_day = None, today
