"""The advisory lock that keeps a second copy of the same gateway from running beside it.

A session-level advisory lock lives as long as its connection: if PostgreSQL restarts, the
lock is gone. ``verify()`` (called every second by the gateway) notices and takes it again; if
another gateway took it meanwhile, it raises and this gateway must stop.
"""

from __future__ import annotations

import logging
import zlib

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)


class GatewayAlreadyRunningError(Exception):
    pass


def lock_key(name: str) -> int:
    return zlib.crc32(f"oms-gateway:{name}".encode())


class GatewayLock:
    """Holds a session-level advisory lock on a dedicated connection for the process's life."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self._name = name
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def acquire(self) -> None:
        conn = self._engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                               {"k": lock_key(self._name)}).scalar()
            conn.commit()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            raise GatewayAlreadyRunningError(
                f"another gateway {self._name!r} holds the lock on this database"
            )
        self._conn = conn

    def verify(self) -> None:
        """Check the lock's connection; after a database restart, take the lock again.

        Raises ``GatewayAlreadyRunningError`` if another gateway holds it now. A database that
        is still down is not an error here (the core waits for it)."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return
            except SQLAlchemyError:
                log.warning("gateway lock: its connection was lost; taking the lock again")
                self._drop()
        try:
            self.acquire()
        except SQLAlchemyError:
            return

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(self._name)})
            self._conn.commit()
        except SQLAlchemyError:
            pass  # the connection is gone, and the lock with it
        finally:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except SQLAlchemyError:
                pass
