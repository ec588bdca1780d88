"""A FIX session is (fix_version, sender_comp_id, target_comp_id): one counterparty may have
several, each with its own name, and each session says how it treats sequence numbers and bad
messages."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from oms.settings import ConfigError, SettingsFile, parse_settings_file

BASE = """
[[venues]]
name = "SIM"
port = 9876
target_comp_id = "SIM"

[[accounts]]
name = "ACME-1"
"""

ACME_44 = """
[[fix_clients]]
sender_comp_id = "ACME"
fix_version = "4.4"
port = 9881
accounts = ["ACME-1"]
"""

ACME_42 = """
[[fix_clients]]
name = "ACME-42"
sender_comp_id = "ACME"
fix_version = "4.2"
port = 9881
accounts = ["ACME-1"]
reset_on_logon = true
validation = "lenient"
cl_ord_id_scope = "forever"
"""


def _parse(text: str) -> SettingsFile:
    return parse_settings_file(text, Path("test.toml"))


def test_a_counterparty_has_a_fix_42_and_a_fix_44_session_on_one_port() -> None:
    f = _parse(BASE + ACME_44 + ACME_42)
    first, second = f.fix_clients
    assert (first.session_name, second.session_name) == ("ACME", "ACME-42")
    assert first.session_triple == ("4.4", "ACME", "OMS")
    assert second.session_triple == ("4.2", "ACME", "OMS")
    assert first.port == second.port
    assert f.fix_client("ACME-42") is second


def test_session_settings_default_to_no_resets_strict_validation_and_daily_cl_ord_ids() -> None:
    f = _parse(BASE + ACME_44)
    client, venue = f.fix_clients[0], f.venues[0]
    for session in (client, venue):
        assert not (session.reset_on_logon or session.reset_on_logout
                    or session.reset_on_disconnect)
        assert session.validation == "strict"
    assert client.cl_ord_id_scope == "day"
    assert venue.request_timeout_s == Decimal(10)
    assert f.engine.client_requests_retention_days == 30


def test_per_session_settings_are_read_for_clients_and_venues() -> None:
    venue = BASE.replace('target_comp_id = "SIM"', 'target_comp_id = "SIM"\nreset_on_logout = '
                         'true\nreset_on_disconnect = true\nvalidation = "lenient"\n'
                         'request_timeout_s = "2.5"')
    f = _parse(venue + ACME_44 + ACME_42)
    assert f.venues[0].reset_on_logout and f.venues[0].reset_on_disconnect
    assert f.venues[0].validation == "lenient"
    assert f.venues[0].request_timeout_s == Decimal("2.5")
    acme42 = f.fix_client("ACME-42")
    assert acme42.reset_on_logon and acme42.validation == "lenient"
    assert acme42.cl_ord_id_scope == "forever"


@pytest.mark.parametrize(
    ("text", "named", "reason"),
    [
        (BASE + ACME_44 + ACME_44.replace("9881", "9882"), "fix_clients[1]",
         "duplicate session FIX 4.4 ACME->OMS"),
        (BASE + ACME_44 + ACME_42.replace('name = "ACME-42"\n', ""), "fix_clients[1].name",
         "sessions of one counterparty need a name each"),
        (BASE + ACME_44 + ACME_42.replace('name = "ACME-42"', 'name = "ACME"'),
         "fix_clients[1].name", "duplicate session name 'ACME'"),
        (BASE + "[[venues]]\nname = 'SIM2'\nport = 9877\ntarget_comp_id = 'SIM'\n", "venues[1]",
         "duplicate session FIX 4.4 OMS->SIM"),
        (BASE + ACME_44.replace('fix_version = "4.4"', 'validation = "loose"'),
         "fix_clients[0].validation", "'strict' or 'lenient'"),
        (BASE + ACME_44.replace('fix_version = "4.4"', 'cl_ord_id_scope = "week"'),
         "fix_clients[0].cl_ord_id_scope", "'day' or 'forever'"),
        (BASE.replace('target_comp_id = "SIM"', 'target_comp_id = "SIM"\nrequest_timeout_s = 0'),
         "venues[0].request_timeout_s", "greater than 0"),
    ],
)
def test_a_session_mistake_is_reported_with_its_key_and_reason(
    text: str, named: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as error:
        _parse(text)
    assert named in str(error.value) and reason in str(error.value), str(error.value)


def test_the_same_comp_ids_on_another_fix_version_are_another_venue_session() -> None:
    f = _parse(BASE + "[[venues]]\nname = 'SIM42'\nport = 9877\ntarget_comp_id = 'SIM'\n"
               "fix_version = '4.2'\n")
    assert [v.session_triple for v in f.venues] == [("4.4", "OMS", "SIM"), ("4.2", "OMS", "SIM")]
