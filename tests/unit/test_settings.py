"""The settings file is validated at load, and a mistake is reported with the key and reason."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from oms.settings import ConfigError, load_settings, parse_settings_file

DEFAULT = Path(__file__).resolve().parents[2] / "config" / "oms.toml"
MINIMAL = """
[[venues]]
name = "SIM"
port = 9876
target_comp_id = "SIM"
"""


def _parse(text: str) -> None:
    parse_settings_file(text, Path("test.toml"))


def test_the_default_file_is_the_default_configuration_of_the_contract() -> None:
    settings = load_settings({"OMS_CONFIG": str(DEFAULT)})
    f = settings.file
    assert [v.name for v in f.venues] == ["SIM"] and f.venues[0].host == "127.0.0.1"
    zvzzt = f.instrument("ZVZZT")
    assert zvzzt is not None and zvzzt.reference_price == Decimal("10.00")
    assert zvzzt.venue == "SIM" and not zvzzt.simulated_liquidity
    assert f.instrument("AAPL").simulated_liquidity  # type: ignore[union-attr]
    assert f.accounts_of_amqp_user("guest") == {"DEMO1", "DEMO2"}
    assert f.risk.defaults.max_order_qty == Decimal("10000")
    assert f.risk.defaults.max_order_notional == Decimal("1000000")
    assert f.risk.defaults.price_collar_pct == Decimal("10")
    client = f.fix_clients[0]
    assert (client.sender_comp_id, client.target_comp_id, client.fix_version, client.port) == (
        "CLIENT1", "OMS", "4.4", 9880)
    assert client.accounts == ("CLIENT1",)


def test_connection_urls_default_to_the_contract_and_come_from_the_environment() -> None:
    settings = load_settings({"OMS_CONFIG": str(DEFAULT)})
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/oms"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    other = load_settings({"OMS_CONFIG": str(DEFAULT), "OMS_DATABASE_URL": "postgresql+psycopg://x/y"})
    assert other.database_url == "postgresql+psycopg://x/y"


def test_a_minimal_file_is_enough() -> None:
    _parse(MINIMAL)


@pytest.mark.parametrize(
    ("mistake", "named_key", "reason"),
    [
        (MINIMAL.replace("9876", "99999"), "venues[0].port", "less than 65536"),
        (MINIMAL.replace('port = 9876', 'port = "x"'), "venues[0].port", "integer"),
        (MINIMAL + 'fix_version = "5.0"\n', "venues[0].fix_version", "'4.2' or '4.4'"),
        (MINIMAL + 'hostname = "a"\n', "venues[0].hostname", "unknown key"),
        (MINIMAL + '[risk.defaults]\nmax_order_qty = "-5"\n', "risk.defaults.max_order_qty",
         "greater than 0"),
        (MINIMAL + '[risk.defaults]\nmax_order_notional = "NaN"\n',
         "risk.defaults.max_order_notional", "finite"),
        (MINIMAL + '[[instruments]]\nsymbol = "X"\nvenue = "NOPE"\n', "instruments[0].venue",
         "unknown venue 'NOPE'"),
        (MINIMAL + '[[amqp_users]]\nname = "u"\naccounts = ["GHOST"]\n', "amqp_users[0].accounts",
         "unknown account 'GHOST'"),
        (MINIMAL.replace('name = "SIM"', 'name = "SIM"\nhours = { timezone = "Mars/Olympus" }'),
         "venues[0].hours.timezone", "unknown time zone"),
        (MINIMAL.replace('name = "SIM"',
                         'name = "SIM"\nhours = { open = 16:00:00, close = 09:30:00 }'),
         "venues[0].hours", "must be before close"),
        ("[[venues]]\nname = 'A'\nport = 1\ntarget_comp_id = 'X'\n"
         "[[venues]]\nname = 'A'\nport = 2\ntarget_comp_id = 'Y'\n", "venues[1].name", "duplicate"),
        ("", "venues", "Field required"),
    ],
)
def test_a_mistake_is_reported_with_its_key_and_reason(
    mistake: str, named_key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as error:
        _parse(mistake)
    message = str(error.value)
    assert named_key in message and reason in message, message


def test_broken_toml_is_reported_with_the_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"test.toml: not valid TOML: .*line 2"):
        _parse("[[venues]]\nname = \n")


def test_a_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read settings file"):
        load_settings({"OMS_CONFIG": str(tmp_path / "nope.toml")})


def test_secrets_are_read_from_the_environment_never_from_the_file() -> None:
    text = MINIMAL + (
        '[[accounts]]\nname = "A"\n[[fix_clients]]\nsender_comp_id = "C"\nport = 9\n'
        'accounts = ["A"]\npassword_env = "OMS_FIX_C_PASSWORD"\n'
    )
    settings = parse_settings_file(text, Path("t.toml"))
    assert "password =" not in text
    with pytest.raises(ConfigError, match="password"):
        _parse(text.replace('password_env = "OMS_FIX_C_PASSWORD"', 'password = "hunter2"'))
    assert settings.fix_clients[0].password_env == "OMS_FIX_C_PASSWORD"
