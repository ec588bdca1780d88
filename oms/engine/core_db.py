"""The core thread's own database connections: two, checked out once and kept.

A pooled checkout per use cost round trips on every batch: a ping when taken (pre-ping), a
BEGIN, and a ROLLBACK when given back. The core is one thread doing one thing at a time, so it
keeps its connections:

- the *reader*, in autocommit mode, for what a batch must look up before it is processed
  (one round trip, no transaction);
- the *writer*, for the batch's one transaction. The batch's rows are sent in pipeline mode
  with the COMMIT: one round trip and the WAL flush, after the one read the optimistic version
  check of changed orders needs (and the insert of client-outbox rows, whose ids come back).

After any error both connections are dropped (the writer's transaction with it); the next use
connects again. Durability is unchanged: the transaction commits with the server's settings
(``synchronous_commit`` on) before any effect of the batch happens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from oms.engine.batch import Batch
from oms.store import order_repository as orders_repo

_LOCK_VERSIONS = "SELECT order_id, version FROM orders WHERE order_id = ANY(%s) FOR UPDATE"


def _check_versions(cursor: Any, rows: Iterable[dict[str, Any]]) -> None:
    """``order_repository.check_versions`` straight on the driver: lock the changed orders and
    refuse the batch if one was changed since it was read."""
    expected = {row["order_id"]: row["version"] for row in rows}
    cursor.execute(_LOCK_VERSIONS, (list(expected),))
    current = dict(cursor.fetchall())
    stale = sorted(oid for oid, version in expected.items() if current.get(oid) != version)
    if stale:
        raise orders_repo.ConcurrentUpdateError(stale)


class CoreDatabase:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader: Connection | None = None
        self._writer: Connection | None = None

    def reader(self) -> Connection:
        if self._reader is None or self._reader.closed or self._reader.invalidated:
            self._reader = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT")
        return self._reader

    def commit(self, batch: Batch) -> None:
        """Write the batch in one transaction. Raises on failure; nothing is then visible."""
        if batch.is_empty():
            return
        if self._writer is None or self._writer.closed or self._writer.invalidated:
            self._writer = self._engine.connect()
        conn = self._writer
        try:
            if not conn.in_transaction():
                conn.begin()  # else a batch of raw statements only would never be committed
            driver: Any = conn.connection.driver_connection
            if batch.changed_orders:
                _check_versions(driver.cursor(), batch.changed_orders.values())
            batch.write_returning(conn)
            with driver.pipeline():
                batch.write(conn, versions_checked=True, returning_done=True)
                conn.commit()
        except psycopg.Error as exc:  # raised outside SQLAlchemy: the core handles its errors
            self.discard()
            raise DBAPIError("batch commit", None, exc) from exc
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Drop both connections (after an error, or when the core stops)."""
        for conn in (self._reader, self._writer):
            if conn is not None:
                with contextlib.suppress(SQLAlchemyError):
                    conn.invalidate()
                    conn.close()
        self._reader = self._writer = None
