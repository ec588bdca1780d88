"""Around the matching engine: the venue's close, session settings, IDs, behaviours, timers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from fix_gateway.venue_sim.behaviours import Behaviours
from fix_gateway.venue_sim.timers import Timers
from fix_gateway.venue_sim.trading_hours import next_close
from oms.settings import TradingHours, VenueSettings

NEW_YORK = TradingHours(
    timezone="America/New_York",
    open=time(9, 30),
    close=time(16, 0),
    days=("mon", "tue", "wed", "thu", "fri"),
    holidays=("2026-11-26",),
)


def test_next_close_is_today_before_the_close() -> None:
    friday_noon_ny = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert next_close(NEW_YORK, friday_noon_ny) == datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def test_next_close_skips_weekends_and_holidays() -> None:
    after_friday_close = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    assert next_close(NEW_YORK, after_friday_close) == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    wednesday_evening = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
    assert next_close(NEW_YORK, wednesday_evening) == datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def test_next_close_follows_daylight_saving() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert next_close(NEW_YORK, summer) == datetime(2026, 7, 1, 20, 0, tzinfo=UTC)


def test_next_close_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_close(NEW_YORK, datetime(2026, 1, 1))


def test_behaviours_are_validated() -> None:
    assert Behaviours() == Behaviours(reject_rate=0.0)
    with pytest.raises(ValueError, match="reject_rate"):
        Behaviours(reject_rate=1.5)
    with pytest.raises(ValueError, match="ack_latency_ms"):
        Behaviours(ack_latency_ms=-1)
    with pytest.raises(ValueError, match="disconnect_after_messages"):
        Behaviours(disconnect_after_messages=0)


def test_timers_run_in_due_order_and_survive_a_failing_callback() -> None:
    timers = Timers()
    timers.start()
    ran: list[str] = []
    done = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    timers.call_later(0.05, lambda: ran.append("second"))
    timers.call_later(0.0, fail)
    timers.call_later(0.0, lambda: ran.append("first"))
    timers.call_later(0.1, done.set)
    assert done.wait(5)
    timers.stop()
    assert ran == ["first", "second"]


def test_run_prefix_is_short_and_changes_with_time() -> None:
    pytest.importorskip("quickfix")
    from fix_gateway.venue_sim.simulator import run_prefix

    assert run_prefix(0) == "0-"
    assert run_prefix(1_795_000_000_000) != run_prefix(1_795_000_000_001)
    assert len(run_prefix(1_795_000_000_000)) <= 10


def test_session_settings_swap_the_comp_ids(tmp_path: Path) -> None:
    pytest.importorskip("quickfix")
    from fix_gateway.venue_sim.session_config import (
        SessionSpec,
        build_session_settings,
        venue_session,
    )

    venue = VenueSettings(name="SIM", port=9876, sender_comp_id="OMS", target_comp_id="SIM",
                          fix_version="4.2", hours=NEW_YORK)  # fmt: skip
    spec = venue_session(venue)
    assert (spec.begin_string, spec.sender_comp_id, spec.target_comp_id, spec.port) == (
        "FIX.4.2", "SIM", "OMS", 9876,
    )  # fmt: skip
    assert spec.key == "FIX.4.2:SIM->OMS" == spec.session_id().toString()
    with pytest.raises(ValueError, match="unsupported"):
        SessionSpec("FIX.5.0", "A", "B", 1)
    winter = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    settings = build_session_settings([spec], tmp_path, NEW_YORK, now=winter)
    session = settings.get(spec.session_id())
    assert session.getString("ConnectionType") == "acceptor"
    assert session.getString("SocketAcceptPort") == "9876"
    assert (session.getString("StartTime"), session.getString("EndTime")) == (
        "14:30:00",
        "21:00:00",
    )
    assert session.getString("DataDictionary").endswith("FIX42.xml")
    assert session.getString("FileStorePath") == str(tmp_path / "store")
