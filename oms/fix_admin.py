"""Operator tooling for FIX sessions.

- With the gateway stopped: sequence number reset (``reset_sequence``). quickfix keeps each
  session's sequence numbers and sent messages in its FileStore (``<data_dir>/fix/venues/store``
  for venues, ``.../clients/store`` for FIX clients); the core keeps the last inbound MsgSeqNum
  it committed per session (``fix_session_watermarks``). A reset agreed with the counterparty
  sets both back, so the next logon starts at 1 on both sides.
- On a running gateway: the ``oms fix`` session commands issue operator commands
  (``oms.engine.session_commands``) and wait for the core's result (``wait_for_results``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, bindparam, select, text

from fix_gateway.session_settings import SessionKey
from oms.store.gateway_lock import GatewayLock, lock_key
from oms.store.operator_channel import COMMANDS

STORE_SUFFIXES = (".seqnums", ".body", ".header", ".session")


@dataclass(frozen=True)
class ResetResult:
    removed: list[Path]
    watermark_key: str


def store_prefix(key: SessionKey) -> str:
    return f"{key.begin_string}-{key.sender_comp_id}-{key.target_comp_id}"


def reset_sequence(engine: Engine, store_dir: Path, key: SessionKey, watermark_key: str,
                   gateway_name: str = "main") -> ResetResult:
    """Remove the session's FileStore and its inbound watermark. Refuses while a gateway runs
    (it holds the advisory lock) because quickfix would write the store straight back."""
    lock = GatewayLock(engine, gateway_name)
    lock.acquire()  # raises GatewayAlreadyRunningError while the gateway is up
    try:
        removed = []
        for suffix in STORE_SUFFIXES:
            path = store_dir / f"{store_prefix(key)}{suffix}"
            if path.exists():
                path.unlink()
                removed.append(path)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM fix_session_watermarks WHERE session_id = :s"),
                         {"s": watermark_key})
        return ResetResult(removed, watermark_key)
    finally:
        lock.release()


def gateway_running(engine: Engine, gateway_name: str = "main") -> bool:
    """Whether a gateway holds its lock on this database. Read from ``pg_locks``: taking the
    lock to find out would make a gateway starting at that moment fail."""
    with engine.connect() as conn:
        return bool(conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                 "AND classid = 0 AND objid = CAST(:k AS oid) AND objsubid = 1)"),
            {"k": lock_key(gateway_name)},
        ).scalar())


def wait_for_results(engine: Engine, command_ids: Sequence[int], timeout_s: float,
                     poll_s: float = 0.2) -> dict[int, str | None]:
    """Each command's result once the core has applied it (None: not within ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    query = (select(COMMANDS.c.id, COMMANDS.c.result)
             .where(COMMANDS.c.id.in_(bindparam("ids", expanding=True)),
                    COMMANDS.c.processed_at.is_not(None)))
    results: dict[int, str | None] = dict.fromkeys(command_ids)
    while True:
        with engine.connect() as conn:
            for row in conn.execute(query, {"ids": list(command_ids)}):
                results[int(row.id)] = str(row.result)
        if all(r is not None for r in results.values()) or time.monotonic() >= deadline:
            return results
        time.sleep(poll_s)
