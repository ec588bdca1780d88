"""The session-level acceptance scenarios of FIX 4.4 and FIX 4.2 against one gateway run.

A counterparty configured as most are (sequence numbers reset at each logon, no 141=Y sent)
has a FIX 4.4 and a FIX 4.2 session side by side in one settings file, on one port, both with
strict validation (another counterparty's lenient session shares the port, to show what
lenient validation lets through). Every scenario of ``tests.support.session_scenarios`` is
played on both sessions, one after the other, by a player that builds every message by hand
(no FIX engine): no reset, no restart in between. Each reply is checked field by field (35,
34, 45, 371, 372, 373, 58, 141, 123, 36, 7, 16, 112 as the scenario needs) and every message
the gateway sends is framed, counted and checked for its MsgSeqNum.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oms.settings import Settings
from tests.support.isolation import TestVhost
from tests.support.session_player import Player, Version
from tests.support.session_scenarios import (
    LENIENT_CASES,
    SCENARIOS,
    LenientCase,
    Scenario,
    play_lenient,
)
from tests.support.stack import free_port, running_stack, test_settings

pytestmark = pytest.mark.e2e

COUNTERPARTY = """
[[accounts]]
name = "ACME-1"

[[fix_clients]]
name = "ACME-44"
sender_comp_id = "ACME"
target_comp_id = "OMS"
fix_version = "4.4"
port = {port}
accounts = ["ACME-1"]
reset_on_logon = true
validation = "strict"

[[fix_clients]]
name = "ACME-42"
sender_comp_id = "ACME"
target_comp_id = "OMS"
fix_version = "4.2"
port = {port}
accounts = ["ACME-1"]
reset_on_logon = true
validation = "strict"

[[fix_clients]]
sender_comp_id = "LAX"
fix_version = "4.4"
port = {port}
accounts = ["ACME-1"]
reset_on_logon = true
validation = "lenient"
"""


def add_counterparty(raw: dict[str, Any]) -> None:
    sessions = tomllib.loads(COUNTERPARTY.format(port=free_port()))
    raw["accounts"] += sessions["accounts"]
    raw["fix_clients"] += sessions["fix_clients"]


@pytest.fixture(scope="module")
def settings(database_url: str, amqp_vhost: TestVhost,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("session-acceptance")
    return test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                         data_dir=data_dir, edit=add_counterparty)


@pytest.fixture(scope="module")
def gateway(settings: Settings, run_id: str) -> Iterator[Any]:
    """One gateway run for every scenario of both versions."""
    data_dir = Path(settings.file.engine.data_dir)
    with running_stack(settings, data_dir, f"oms_test_{run_id}_accept:") as gw:
        yield gw


def version(settings: Settings, begin_string: str, sender: str = "ACME") -> Version:
    client = next(c for c in settings.file.fix_clients
                  if c.sender_comp_id == sender and c.begin_string == begin_string)
    return Version(begin_string, client.sender_comp_id, client.target_comp_id, client.port,
                   client.accounts[0])


def test_both_sessions_of_the_counterparty_share_one_port(settings: Settings) -> None:
    acme = [c for c in settings.file.fix_clients if c.sender_comp_id == "ACME"]
    assert sorted(c.session_name for c in acme) == ["ACME-42", "ACME-44"]
    assert len({c.port for c in acme}) == 1
    assert all(c.reset_on_logon and c.validation == "strict" for c in acme)


@pytest.mark.parametrize("begin_string", ["FIX.4.4", "FIX.4.2"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_session_scenario(gateway: Any, settings: Settings, scenario: Scenario,
                          begin_string: str) -> None:
    player = Player(version(settings, begin_string))
    try:
        scenario.play(player)
    finally:
        player.close()
    assert player.errors == [], player.errors


@pytest.mark.parametrize("case", LENIENT_CASES, ids=str)
def test_a_lenient_session_keeps_the_checks_it_always_had(
        gateway: Any, settings: Settings, case: LenientCase) -> None:
    player = Player(version(settings, "FIX.4.4", sender="LAX"))
    try:
        play_lenient(player, case)
    finally:
        player.close()
    assert player.errors == [], player.errors
