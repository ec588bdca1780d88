"""The Sessions page's rows: every session of the settings file, named and described as the OMS
names them, with the state the gateway published (or "no status")."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from oms.admin.session_rows import session_rows
from oms.admin.status_view import read_components
from oms.settings import SettingsFile

CONFIG = Path(__file__).resolve().parents[2] / "config" / "oms.toml"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def settings_file(**client: Any) -> SettingsFile:
    raw = tomllib.loads(CONFIG.read_text())
    raw["fix_clients"][0].update(client)
    return SettingsFile.model_validate(raw)


def published(**sessions: str) -> Any:
    return read_components({"gateway": {"heartbeat": NOW.isoformat(), **sessions}}, NOW)


def test_each_venue_and_client_session_is_described_from_our_side() -> None:
    file = settings_file(name="CLIENT1-44", reset_on_logon=True, validation="lenient")
    venue, client = session_rows(file, [])
    assert (venue.session, venue.begin_string, venue.our_comp_id, venue.their_comp_id) == (
        "venue:SIM", "FIX.4.4", "OMS", "SIM")
    assert venue.where == "connects to 127.0.0.1:9876"
    assert venue.settings == "strict validation"
    assert (client.session, client.our_comp_id, client.their_comp_id) == (
        "client:CLIENT1-44", "OMS", "CLIENT1")
    assert client.where == "accepts on port 9880"
    assert client.settings == "order_entry, lenient validation; resets on logon"
    assert venue.state == client.state == ("grey", "no status")


@pytest.mark.parametrize(("value", "state"), [
    ("logged_on 5 6", ("ok", "logged on")),
    ("down 5 6", ("bad", "down")),
    ("logged_out_by_operator 5 6", ("bad", "logged out by an operator: logons refused")),
])
def test_a_venue_shows_the_state_the_gateway_published(
    value: str, state: tuple[str, str]
) -> None:
    venue, _ = session_rows(settings_file(), published(**{"venue:SIM": value}))
    assert venue.state == state
    assert venue.status is not None
    assert (venue.status.sender_seq, venue.status.target_seq) == ("5", "6")
    assert venue.reported_at == NOW


def test_a_client_that_is_not_connected_is_not_an_alarm() -> None:
    _, client = session_rows(settings_file(), published(**{"client:CLIENT1": "down 1 1"}))
    assert client.state == ("grey", "not connected")


def test_a_stale_status_says_so() -> None:
    old = read_components({"gateway": {"heartbeat": "2026-12-03T08:59:50+00:00",
                                       "venue:SIM": "logged_on 1 1"}}, NOW)
    venue, _ = session_rows(settings_file(), old)
    assert venue.state == ("warn", "logged on (stale)")
