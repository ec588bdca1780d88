"""The demo's settings file: the default file with the demo's ports and data directory."""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import pytest

from oms.demo.settings_file import (
    choose_ports,
    port_is_free,
    set_values,
    write_demo_settings,
)

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "oms.toml"

TEXT = """# a comment
[engine]
data_dir = "var"   # where quickfix keeps its files
health_port = 9109

[[venues]]
name = "A"
port = 1

[[venues]]
name = "B"
port = 2
hours = { timezone = "UTC", open = 00:00:00, close = 23:59:59 }
"""


def test_values_are_replaced_where_they_stand_and_comments_survive() -> None:
    text = set_values(TEXT, {("engine", "health_port"): "7", ("venues", 1, "port"): "22"})
    data = tomllib.loads(text)
    assert data["engine"]["health_port"] == 7
    assert [v["port"] for v in data["venues"]] == [1, 22]
    assert "# a comment" in text and text.count("health_port") == 1


def test_a_missing_key_is_added_to_its_table_and_a_missing_table_at_the_end() -> None:
    text = set_values(TEXT, {("engine", "metrics_port"): "0", ("admin", "bind"): '"h:1"'})
    data = tomllib.loads(text)
    assert data["engine"]["metrics_port"] == 0 and data["admin"]["bind"] == "h:1"


def test_a_missing_array_table_is_an_error() -> None:
    with pytest.raises(ValueError, match="fix_clients"):
        set_values(TEXT, {("fix_clients", 0, "port"): "1"})


def test_a_busy_default_port_moves_and_a_free_one_stays() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert not port_is_free(taken)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        choices = choose_ports({"busy": taken, "free": free})
    assert choices["busy"].moved and choices["busy"].chosen != taken
    assert choices["free"].chosen == free and not choices["free"].moved


def test_two_roles_never_share_a_port() -> None:
    choices = choose_ports({"a": 1, "b": 1}, any_free=True)
    assert choices["a"].chosen != choices["b"].chosen


def test_the_default_file_becomes_the_demos_file(tmp_path: Path) -> None:
    target = tmp_path / "demo" / "oms.toml"
    settings, ports = write_demo_settings(DEFAULT_CONFIG, target, "SIM", any_free_port=True)
    assert settings.venue("SIM").port == ports["venue simulator"].chosen
    assert settings.engine.health_port == ports["gateway health"].chosen
    assert settings.engine.metrics_port == ports["gateway metrics"].chosen
    assert settings.admin.bind.endswith(f":{ports['admin pages'].chosen}")
    assert settings.fix_clients[0].port == ports["FIX client acceptor CLIENT1"].chosen
    assert Path(settings.engine.data_dir) == target.parent / "data"
    assert [i.symbol for i in settings.instruments] == ["AAPL", "MSFT", "ZVZZT"]
    assert tomllib.loads(target.read_text())["engine"]["default_amqp_user"] == "guest"
