"""The core thread's own database connections: two, checked out once and kept.

A pooled checkout per use cost round trips on every batch: a ping when taken (pre-ping), a
BEGIN, and a ROLLBACK when given back. The core is one thread doing one thing at a time, so it
keeps its connections:

- the *reader*, in autocommit mode, for what a batch must look up before it is processed
  (one round trip, no transaction);
- the *writer*, for the batch's one transaction. The batch's rows go as one statement
  (``batch_sql``), sent in pipeline mode with the COMMIT: one round trip and the WAL flush
  (plus one before it when FIX clients are owed reports: those rows' ids come back). Changed
  orders are updated only from the version they were read at, checked within that statement
  (no read and lock before it): a stale version fails the batch as
  ``ConcurrentUpdateError``.

The reader is used by the core thread, the writer by the commit thread (``committer``). After a
failed commit the writer is dropped (its transaction with it), and the core drops the reader
when it learns of the failure; the next use connects again. Durability is unchanged: the
transaction commits with the server's settings (``synchronous_commit`` on) before any effect of
the batch happens.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from oms.engine import batch_sql
from oms.engine.batch import WATERMARKS, Batch, watermark_of_row
from oms.engine.state import CoreState, load_state
from oms.settings import DEFAULT_SHARD
from oms.store import order_repository as orders_repo

if TYPE_CHECKING:
    from oms.engine.client_sessions import ClientSessions


class CoreStorage(Protocol):
    """The core's database: its reading connection, its batch commit and its state's load."""

    def reader(self) -> Connection | None: ...
    def commit(self, batch: Batch) -> None: ...
    def discard(self) -> None: ...
    def load(self, clients: ClientSessions | None,
             now: datetime) -> tuple[CoreState, dict[str, int]]: ...


class CoreDatabase:
    def __init__(self, engine: Engine, *, shard: str = DEFAULT_SHARD,
                 accounts: frozenset[str] | None = None) -> None:
        """``accounts``: the shard's; its open orders, positions and breakers are loaded
        (None: every account's, the implicit shard)."""
        self._engine = engine
        self._shard = shard
        self._accounts = accounts
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
            batch.write_returning(conn)
            with driver.pipeline():
                batch.write(conn, returning_done=True)  # versions checked in the statement
                conn.commit()
        except (DBAPIError, psycopg.Error) as exc:
            self._discard_writer()
            if batch_sql.is_stale_version(exc):
                raise orders_repo.ConcurrentUpdateError(sorted(batch.changed_orders)) from exc
            if isinstance(exc, DBAPIError):
                raise
            # raised by the driver outside SQLAlchemy: the core handles SQLAlchemy's errors
            raise DBAPIError("batch commit", None, exc) from exc
        except BaseException:
            self._discard_writer()
            raise

    def load(self, clients: ClientSessions | None,
             now: datetime) -> tuple[CoreState, dict[str, int]]:
        """The open orders and what the core keeps of them, the last inbound sequence number
        committed per venue, and (into ``clients``) the FIX client sessions' state."""
        with self._engine.connect() as conn:
            state = load_state(conn, self._accounts, self._shard)
            rows = conn.execute(select(WATERMARKS.c.session_id, WATERMARKS.c.last_inbound_seq))
            committed = {}
            for r in rows:
                key = watermark_of_row(r.session_id, self._shard)
                if key is not None:
                    committed[key.removeprefix("venue:")] = int(r.last_inbound_seq)
            if clients is not None:
                clients.reload(conn, now)
        return state, committed

    def discard(self) -> None:
        """Drop both connections (after an error, or when the core stops; the commit thread
        must be idle)."""
        _drop(self._reader)
        _drop(self._writer)
        self._reader = self._writer = None

    def _discard_writer(self) -> None:
        """After a failed commit, on the commit thread: the reader belongs to the core thread,
        which drops it too when it learns of the failure (``discard``)."""
        _drop(self._writer)
        self._writer = None


def _drop(conn: Connection | None) -> None:
    if conn is not None:
        with contextlib.suppress(SQLAlchemyError):
            conn.invalidate()
            conn.close()
