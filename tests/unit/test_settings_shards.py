"""Shards in the settings file: every account on exactly one shard, a FIX client on the shard of
its accounts, one SenderCompID per shard on every venue, and a shard's view of the file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from oms.settings import (
    DEFAULT_SHARD,
    ConfigError,
    Settings,
    SettingsFile,
    parse_settings_file,
)

VENUE = """
[[venues]]
name = "SIM"
port = 9876
target_comp_id = "SIM"
"""

SHARDED_VENUE = VENUE + 'shard_sender_comp_ids = { A = "OMS_A", B = "OMS_B" }\n'

ACCOUNTS = """
[[accounts]]
name = "DEMO1"

[[accounts]]
name = "DEMO2"

[[accounts]]
name = "CLIENT1"

[[amqp_users]]
name = "guest"
accounts = ["DEMO1", "DEMO2"]

[[fix_clients]]
sender_comp_id = "CLIENT1"
port = 9880
accounts = ["CLIENT1"]
"""

TWO_SHARDS = """
[[shards]]
name = "A"
accounts = ["DEMO1"]
metrics_port = 9118
health_port = 9119

[[shards]]
name = "B"
accounts = ["DEMO2", "CLIENT1"]
metrics_port = 9128
health_port = 9129
"""


def _parse(text: str) -> SettingsFile:
    return parse_settings_file(text, Path("oms.toml"))


def _refused(text: str) -> str:
    with pytest.raises(ConfigError) as refused:
        _parse(text)
    return str(refused.value)


def test_a_file_without_shards_is_the_one_implicit_shard() -> None:
    file = _parse(VENUE + ACCOUNTS)
    assert file.shard_names == (DEFAULT_SHARD,)
    assert file.shard_view(DEFAULT_SHARD) is file
    assert file.shard_of_account("DEMO2") == DEFAULT_SHARD


def test_each_shard_sees_its_accounts_its_clients_and_its_own_venue_session() -> None:
    file = _parse(SHARDED_VENUE + ACCOUNTS + TWO_SHARDS)
    a, b = file.shard_view("A"), file.shard_view("B")
    assert [x.name for x in a.accounts] == ["DEMO1"]
    assert [x.name for x in b.accounts] == ["DEMO2", "CLIENT1"]
    assert a.amqp_users[0].accounts == ("DEMO1",)
    assert b.amqp_users[0].accounts == ("DEMO2",)
    assert a.fix_clients == () and [c.session_name for c in b.fix_clients] == ["CLIENT1"]
    assert a.venues[0].sender_comp_id == "OMS_A" and b.venues[0].sender_comp_id == "OMS_B"
    assert (a.engine.metrics_port, a.engine.health_port) == (9118, 9119)
    assert (b.engine.metrics_port, b.engine.health_port) == (9128, 9129)
    assert file.shard_of_account("CLIENT1") == "B"
    assert file.shard_of_fix_client("CLIENT1") == "B"


def test_an_account_on_two_shards_is_refused() -> None:
    text = SHARDED_VENUE + ACCOUNTS + TWO_SHARDS.replace('["DEMO2", "CLIENT1"]',
                                                         '["DEMO2", "CLIENT1", "DEMO1"]')
    assert "'DEMO1' is in shard 'A' already" in _refused(text)


def test_an_account_left_out_of_every_shard_is_refused() -> None:
    text = SHARDED_VENUE + ACCOUNTS + TWO_SHARDS.replace('["DEMO2", "CLIENT1"]', '["DEMO2"]')
    assert "no shard owns 'CLIENT1'" in _refused(text)


def test_a_fix_client_with_accounts_on_two_shards_is_refused() -> None:
    text = (SHARDED_VENUE + ACCOUNTS.replace('accounts = ["CLIENT1"]',
                                             'accounts = ["CLIENT1", "DEMO1"]') + TWO_SHARDS)
    assert "one client session has all its accounts on one shard" in _refused(text)


def test_a_venue_needs_a_sender_comp_id_for_every_shard() -> None:
    text = VENUE + 'shard_sender_comp_ids = { A = "OMS_A" }\n' + ACCOUNTS + TWO_SHARDS
    assert "one SenderCompID per shard is needed; missing B" in _refused(text)


def test_shard_sender_comp_ids_without_shards_are_refused() -> None:
    assert "there are no [[shards]]" in _refused(SHARDED_VENUE + ACCOUNTS)


def test_two_shards_on_one_health_port_are_refused() -> None:
    text = SHARDED_VENUE + ACCOUNTS + TWO_SHARDS.replace("health_port = 9129",
                                                         "health_port = 9119")
    assert "health_port: 9119 is shard 'A''s already" in _refused(text)


def test_a_shard_must_be_named_to_run_when_the_file_has_shards() -> None:
    settings = Settings(database_url="", redis_url="", amqp_url="",
                        config_path=Path("oms.toml"),
                        file=_parse(SHARDED_VENUE + ACCOUNTS + TWO_SHARDS), secret_key=None)
    with pytest.raises(ConfigError, match="run one with --shard NAME"):
        settings.for_shard(None)
    with pytest.raises(ConfigError, match="no shard 'C'"):
        settings.for_shard("C")
    b = settings.for_shard("B")
    assert b.shard == "B" and [x.name for x in b.file.accounts] == ["DEMO2", "CLIENT1"]
    plain = replace(settings, file=_parse(VENUE + ACCOUNTS))
    assert plain.for_shard(None).shard == DEFAULT_SHARD
