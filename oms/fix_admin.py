"""Operator tooling for FIX sessions: sequence number reset, with the gateway stopped.

quickfix keeps each session's sequence numbers and sent messages in its FileStore
(``<data_dir>/fix/venues/store`` for venues, ``.../clients/store`` for FIX clients); the core
keeps the last inbound MsgSeqNum it committed per session (``fix_session_watermarks``). A reset
agreed with the counterparty sets both back, so the next logon starts at 1 on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from fix_gateway.session_settings import SessionKey
from oms.store.gateway_lock import GatewayLock

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
