"""An operator resets a session's sequence numbers, with the gateway stopped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from fix_gateway.session_settings import SessionKey
from oms.fix_admin import reset_sequence
from oms.store.gateway_lock import GatewayAlreadyRunningError, GatewayLock

pytestmark = pytest.mark.integration
KEY = SessionKey("FIX.4.4", "OMS", "RESETME")


def _session_on_disk(store: Path, db_engine: Engine) -> None:
    store.mkdir(parents=True, exist_ok=True)
    for suffix in (".seqnums", ".body", ".header", ".session"):
        (store / f"FIX.4.4-OMS-RESETME{suffix}").write_text("x")
    (store / "FIX.4.4-OMS-OTHER.seqnums").write_text("keep")
    with db_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO fix_session_watermarks VALUES ('venue:RESETME', 77, :t) "
            "ON CONFLICT (session_id) DO UPDATE SET last_inbound_seq = 77"),
            {"t": datetime.now(UTC)})


def test_a_reset_removes_the_store_and_the_watermark_of_that_session_only(
    tmp_path: Path, db_engine: Engine
) -> None:
    _session_on_disk(tmp_path, db_engine)
    result = reset_sequence(db_engine, tmp_path, KEY, "venue:RESETME", gateway_name="reset")
    assert len(result.removed) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["FIX.4.4-OMS-OTHER.seqnums"]
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fix_session_watermarks "
                                 "WHERE session_id = 'venue:RESETME'")).scalar_one() == 0


def test_a_reset_is_refused_while_the_gateway_runs(tmp_path: Path, db_engine: Engine) -> None:
    _session_on_disk(tmp_path, db_engine)
    running = GatewayLock(db_engine, "busy")
    running.acquire()
    try:
        with pytest.raises(GatewayAlreadyRunningError):
            reset_sequence(db_engine, tmp_path, KEY, "venue:RESETME", gateway_name="busy")
        assert len(list(tmp_path.iterdir())) == 5
    finally:
        running.release()
