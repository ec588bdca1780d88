"""Venue sessions configured unlike our default: sequence numbers reset at every logon, and a
FIX 4.2 venue validated leniently. What the venue received is read from the venue simulator's
own message log (the wire as the venue saw it), not from the gateway."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import quickfix as fix
from sqlalchemy import text

from fix_gateway.session_settings import venue_session_key
from oms.settings import Settings
from tests.support.events import cid, is_
from tests.support.isolation import TestVhost
from tests.support.stack import Strategy, running_stack, test_settings
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e


def _messages_the_venue_received(data_dir: Path, msg_type: str) -> list[dict[int, str]]:
    """The messages of ``msg_type`` the gateway sent, as the venue simulator's log has them."""
    found = []
    for log in (data_dir / "venue-sim" / "log").glob("*.messages.current.log"):
        for line in log.read_text(errors="replace").splitlines():
            raw = line.split(" : ", 1)[-1]
            fields = {int(tag): value
                      for tag, value in re.findall(r"(\d+)=([^\x01]*)\x01", raw)}
            if fields.get(35) == msg_type and fields.get(49) == "OMS":
                found.append(fields)
    return found


def _logons_the_venue_received(data_dir: Path) -> list[dict[int, str]]:
    return _messages_the_venue_received(data_dir, "A")


def _venue_session(settings: Settings) -> Any:
    """The gateway's quickfix session to the venue (in this process)."""
    return fix.Session.lookupSession(venue_session_key(settings.file.venues[0]).session_id())


def _resetting_venue(raw: dict[str, Any]) -> None:
    raw["venues"][0]["reset_on_logon"] = True
    raw["venues"][0]["reconnect_s"] = 1


def test_a_venue_session_that_resets_at_every_logon_logs_on_at_1_and_keeps_trading(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path, edit=_resetting_venue)
    with running_stack(settings, tmp_path, f"oms_test_{run_id}_vreset:") as gateway, \
            Strategy(amqp_vhost.url) as trader:
        before = cid("before-drop")
        trader.new_order("DEMO1", before, "ZVZZT", "buy", "1", "9.00")
        assert trader.wait_for(is_(before, "new"), timeout=30)["ord_status"] == "new"
        _venue_session(settings).disconnect()
        eventually(lambda: len(_logons_the_venue_received(tmp_path)) >= 2)
        assert gateway.wait_until_ready(30), "the venue session did not come back"
        after = cid("after-reset")
        trader.new_order("DEMO1", after, "ZVZZT", "buy", "1", "9.00")
        assert trader.wait_for(is_(after, "new"), timeout=30)["ord_status"] == "new"
    logons = _logons_the_venue_received(tmp_path)
    assert len(logons) >= 2, logons
    assert all(logon[34] == "1" and logon.get(141) == "Y" for logon in logons), logons


def _lenient_fix42_venue(raw: dict[str, Any]) -> None:
    raw["venues"][0]["fix_version"] = "4.2"
    raw["venues"][0]["validation"] = "lenient"
    raw["venues"][0]["reset_on_logout"] = True
    raw["venues"][0]["reset_on_disconnect"] = True


def test_a_lenient_fix_42_venue_that_resets_on_logout_and_disconnect_fills_a_cross(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path, edit=_lenient_fix42_venue)
    with running_stack(settings, tmp_path, f"oms_test_{run_id}_v42len:"), \
            Strategy(amqp_vhost.url) as trader:
        buy, sell = cid("b42l"), cid("s42l")
        trader.new_order("DEMO1", buy, "ZVZZT", "buy", "10", "10.00")
        trader.wait_for(is_(buy, "new"))
        trader.new_order("DEMO2", sell, "ZVZZT", "sell", "10", "10.00")
        assert trader.wait_for(is_(buy, "fill"))["ord_status"] == "filled"
        assert trader.wait_for(is_(sell, "fill"))["ord_status"] == "filled"
    logons = _logons_the_venue_received(tmp_path)
    assert logons and all(logon[8] == "FIX.4.2" for logon in logons), logons



def _resetting_on_disconnect(raw: dict[str, Any]) -> None:
    raw["venues"][0]["reset_on_disconnect"] = True
    raw["venues"][0]["reconnect_s"] = 1


def test_after_a_reset_the_status_of_every_open_order_is_asked_as_nothing_is_resent(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path
) -> None:
    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path, edit=_resetting_on_disconnect)
    with running_stack(settings, tmp_path, f"oms_test_{run_id}_vresetst:") as gateway, \
            Strategy(amqp_vhost.url) as trader:
        resting = [cid("resting") for _ in range(2)]
        for order in resting:
            trader.new_order("DEMO1", order, "ZVZZT", "buy", "1", "9.00")
        for order in resting:
            assert trader.wait_for(is_(order, "new"), timeout=30)["ord_status"] == "new"
        with gateway.engine.connect() as conn:
            known_as = set(conn.execute(text(
                "SELECT venue_cl_ord_id FROM venue_requests JOIN orders USING (order_id)"
                " WHERE orders.cl_ord_id = ANY(:ids)"), {"ids": resting}).scalars())
        # a lost connection: both sides start again at 1, and nothing is resent
        _venue_session(settings).disconnect()
        asked: set[str] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not known_as <= asked:
            asked = {m[11] for m in _messages_the_venue_received(tmp_path, "H")}
            time.sleep(0.1)
        assert len(known_as) == 2 and known_as <= asked, (known_as, asked)
        assert gateway.wait_until_ready(30), "the venue session did not come back"
    logons = _logons_the_venue_received(tmp_path)
    assert len(logons) >= 2 and logons[-1][34] == "1" and logons[-1].get(141) == "Y", logons
