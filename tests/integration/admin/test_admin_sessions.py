"""The Sessions page: every venue and FIX client session with its state and sequence numbers, and
for admins the sequence operations (set next sender/target, log out, log on, reset) sent to the
gateway as audited operator commands. Logout and reset take a confirmation step; no gateway runs
here, so commands stay waiting (the e2e tests run them against a real one)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from oms.cache import RedisCache
from oms.domain.values import OperatorRole
from oms.settings import Settings
from tests.integration.admin.conftest import USERS, SignedIn, count, post_form

pytestmark = pytest.mark.integration

ROLE_OF = {role: name for name, role in USERS.items()}
OPERATIONS = {
    "set-next-sender": {"seq": "42", "reason": "venue restarted its side at 41"},
    "set-next-target": {"seq": "7", "reason": "client resends from 7"},
    "logon": {"reason": "maintenance over"},
    "logout": {"reason": "venue maintenance", "confirm": "yes"},
    "reset": {"reason": "agreed reset with the venue", "confirm": "yes"},
}
"""Each operation with a valid (confirmed) form."""
KINDS = {"set-next-sender": "fix_set_next_sender", "set-next-target": "fix_set_next_target",
         "logon": "fix_logon", "logout": "fix_logout", "reset": "fix_reset"}
WRITES = ("SELECT count(*) FROM operator_commands",
          "SELECT count(*) FROM operator_audit WHERE action LIKE 'fix_%'")


def writes(engine: Engine) -> tuple[int, ...]:
    return tuple(count(engine, sql) for sql in WRITES)


def last_command(engine: Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM operator_commands ORDER BY id DESC LIMIT 1")).one()


def audit_of(engine: Engine, command_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT * FROM operator_audit WHERE (details->>'command_id')::int = :c"),
            {"c": command_id}).one()


@pytest.fixture
def published_status(app: Flask, admin_settings: Settings) -> RedisCache:
    cache = RedisCache(admin_settings.redis_url, prefix=admin_settings.redis_prefix)
    cache.start()
    cache.publish_status("gateway", {
        "heartbeat": datetime.now(UTC).isoformat(), "inbox_depth": "0", "last_batch": "1",
        "venue:SIM": "logged_on 1234 987", "client:CLIENT1": "logged_out_by_operator 5 6",
    })
    return cache


# -- the page -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(OperatorRole))
def test_every_role_sees_each_session_with_version_comp_ids_port_state_and_numbers(
    signed_in: SignedIn, published_status: RedisCache, admin_settings: Settings,
    role: OperatorRole,
) -> None:
    html = signed_in(ROLE_OF[role]).get("/sessions").get_data(as_text=True)
    venue = _row(html, "session-venue-SIM")
    assert "venue:SIM" in venue and "FIX.4.4" in venue and "OMS → SIM" in venue
    assert f"connects to 127.0.0.1:{admin_settings.file.venues[0].port}" in venue
    assert "logged on" in venue and ">1234<" in venue and ">987<" in venue
    client = _row(html, "session-client-CLIENT1")
    assert "client:CLIENT1" in client and "OMS → CLIENT1" in client
    assert f"accepts on port {admin_settings.file.fix_clients[0].port}" in client
    assert "logged out by an operator: logons refused" in client
    assert ">5<" in client and ">6<" in client
    assert 'href="/sessions"' in html  # in the navigation


def test_a_session_without_status_and_a_silent_gateway_are_said_so(
    signed_in: SignedIn, published_status: RedisCache
) -> None:
    published_status.publish_status(
        "gateway", {"heartbeat": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()})
    html = signed_in("vera").get("/sessions").get_data(as_text=True)
    assert "gateway silent" in html and "refused if the gateway does not take it" in html


@pytest.mark.parametrize("role", [OperatorRole.VIEWER, OperatorRole.TRADER])
def test_viewers_and_traders_see_no_operation(signed_in: SignedIn, role: OperatorRole) -> None:
    html = signed_in(ROLE_OF[role]).get("/sessions").get_data(as_text=True)
    assert "Sequence operations" not in html and "/sessions/venue/SIM/" not in html


def test_an_admin_sees_the_five_operations_of_every_session(signed_in: SignedIn) -> None:
    html = signed_in("alice").get("/sessions").get_data(as_text=True)
    for session in ("venue/SIM", "client/CLIENT1"):
        for operation in OPERATIONS:
            assert f'action="/sessions/{session}/{operation}"' in html


# -- who may act ------------------------------------------------------------------------


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("role", [OperatorRole.VIEWER, OperatorRole.TRADER])
def test_viewers_and_traders_are_refused_every_operation_and_nothing_is_written(
    signed_in: SignedIn, admin_engine: Engine, role: OperatorRole, operation: str
) -> None:
    before = writes(admin_engine)
    response = post_form(signed_in(ROLE_OF[role]), f"/sessions/venue/SIM/{operation}",
                         OPERATIONS[operation])
    assert response.status_code == 403
    assert writes(admin_engine) == before


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_an_operation_without_its_csrf_token_is_refused_and_nothing_is_written(
    signed_in: SignedIn, admin_engine: Engine, operation: str
) -> None:
    client = signed_in("alice")
    before = writes(admin_engine)
    response = post_form(client, f"/sessions/client/CLIENT1/{operation}", OPERATIONS[operation],
                         token=False)
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert writes(admin_engine) == before


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_an_admin_operation_becomes_a_command_with_its_audit_row(
    signed_in: SignedIn, admin_engine: Engine, operation: str
) -> None:
    client = signed_in("alice")
    form = OPERATIONS[operation]
    response = post_form(client, f"/sessions/venue/SIM/{operation}", form)
    assert response.status_code == 302
    command = last_command(admin_engine)
    assert (command.kind, command.issued_by, command.reason) == (
        KINDS[operation], "alice", form["reason"])
    assert command.payload["session"] == "venue:SIM"
    assert command.payload.get("seq") == (int(form["seq"]) if "seq" in form else None)
    valid_until = datetime.fromisoformat(command.payload["valid_until"])
    assert timedelta(0) < valid_until - datetime.now(UTC) <= timedelta(minutes=2)
    audit = audit_of(admin_engine, command.id)
    assert (audit.username, audit.action, audit.target, audit.reason) == (
        "alice", KINDS[operation], "venue:SIM", form["reason"])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Command #{command.id} sent to the gateway" in page
    assert 'class="flash error"' not in page
    recent = page[page.index("Recent session commands"):]
    assert f">{command.id}<" in recent and "waiting for the gateway" in recent


def test_the_gateway_result_of_a_command_is_shown(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    post_form(client, "/sessions/venue/SIM/set-next-target", {"seq": "9", "reason": "resync"})
    command = last_command(admin_engine)
    result = "FIX.4.4:OMS->SIM next target MsgSeqNum set to 9 (was 12)"
    with admin_engine.begin() as conn:  # as the gateway's core records it
        conn.execute(text("UPDATE operator_commands SET processed_at = now(), result = :r "
                          "WHERE id = :i"), {"r": result, "i": command.id})
    page = client.get("/sessions").get_data(as_text=True)
    assert result.replace(">", "&gt;") in page


# -- confirmation and bad input -------------------------------------------------------------


@pytest.mark.parametrize(("operation", "consequence"), [
    ("logout", "does not log on again until an admin logs the session on"),
    ("reset", "at MsgSeqNum 1 with ResetSeqNumFlag (141=Y)"),
])
def test_logout_and_reset_of_a_venue_ask_for_a_confirmation_first(
    signed_in: SignedIn, admin_engine: Engine, operation: str, consequence: str
) -> None:
    client = signed_in("alice")
    before = writes(admin_engine)
    response = post_form(client, f"/sessions/venue/SIM/{operation}", {"reason": "drill"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Confirm to go ahead" in html
    assert consequence in html
    assert 'name="confirm" value="yes"' in html and 'value="drill"' in html
    assert writes(admin_engine) == before


def test_resetting_a_client_tells_it_must_log_on_at_one(signed_in: SignedIn) -> None:
    html = post_form(signed_in("alice"), "/sessions/client/CLIENT1/reset",
                     {"reason": "agreed"}).get_data(as_text=True)
    assert "must log on again at MsgSeqNum 1" in html


@pytest.mark.parametrize(("url", "form", "error"), [
    ("/sessions/venue/SIM/set-next-sender", {"seq": "0", "reason": "x"}, "from 1 to"),
    ("/sessions/venue/SIM/set-next-sender", {"seq": "abc", "reason": "x"}, "seq"),
    ("/sessions/venue/SIM/set-next-target", {"reason": "x"}, "a MsgSeqNum is required"),
    ("/sessions/venue/SIM/set-next-target", {"seq": "2147483648", "reason": "x"}, "from 1 to"),
    ("/sessions/venue/SIM/logon", {"reason": "  "}, "a reason is required"),
    ("/sessions/venue/NOPE/logon", {"reason": "typo"}, "unknown FIX session &#39;venue:NOPE&#39;"),
    ("/sessions/exchange/SIM/logon", {"reason": "typo"}, "unknown FIX session"),
    ("/sessions/venue/NOPE/reset", {"reason": "typo"}, "unknown FIX session venue:NOPE"),
])
def test_bad_input_is_refused_with_the_reason_and_nothing_is_written(
    signed_in: SignedIn, admin_engine: Engine, url: str, form: dict[str, str], error: str
) -> None:
    client = signed_in("alice")
    before = writes(admin_engine)
    response = post_form(client, url, form)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="flash error"' in page and error in page
    assert writes(admin_engine) == before


def test_an_unknown_operation_is_not_found(signed_in: SignedIn, admin_engine: Engine) -> None:
    before = writes(admin_engine)
    response = post_form(signed_in("alice"), "/sessions/venue/SIM/explode", {"reason": "x"})
    assert response.status_code == 404
    assert writes(admin_engine) == before


def _row(html: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row {row_id}"
    return found.group(1)
