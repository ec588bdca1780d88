"""The advisory lock that keeps a second copy of the same gateway from running beside it."""

from __future__ import annotations

import zlib

from sqlalchemy import Connection, Engine, text


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

    def acquire(self) -> None:
        conn = self._engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(self._name)})
        if not got.scalar():
            conn.close()
            raise GatewayAlreadyRunningError(
                f"another gateway {self._name!r} holds the lock on this database"
            )
        conn.commit()
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            try:
                key = {"k": lock_key(self._name)}
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
