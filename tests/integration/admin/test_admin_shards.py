"""With gateway shards (issue 18) the admin pages address each operator command to the gateway
of the shard that carries it out, and show every shard's gateway and sessions.

The settings file here has two shards, as tests/unit/test_settings_shards.py: A owns DEMO1; B
owns DEMO2 and the FIX client CLIENT1; each has its own session to venue SIM (SenderCompIDs
OMS_A and OMS_B). The admin app runs on the same database as the other admin tests, with a Redis
prefix of its own. No gateway runs: commands stay waiting, and the tests read their rows.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from oms.admin import actions
from oms.admin.queries.tables import ORDERS
from oms.admin.session_rows import session_targets, shard_sessions
from oms.admin.status_view import read_components
from oms.cache import RedisCache, status_component
from oms.domain.risk import RiskLimits
from oms.domain.values import KillScope
from oms.settings import DEFAULT_SHARD, Settings
from tests.integration.admin import seed
from tests.integration.admin.conftest import SignedIn, app_of, post_form, sign_in
from tests.support.stack import free_port, test_settings

pytestmark = pytest.mark.integration

SHARD_OF = {"DEMO1": "A", "DEMO2": "B", "CLIENT1": "B"}
GHOST_ORDER = "O9000099"
"""An open order of an account no shard owns (made by the test that needs it, then removed)."""


def _two_shards(raw: dict[str, Any]) -> None:
    raw["venues"][0]["shard_sender_comp_ids"] = {"A": "OMS_A", "B": "OMS_B"}
    raw["shards"] = [
        {"name": "A", "accounts": ["DEMO1"], "health_port": free_port()},
        {"name": "B", "accounts": ["DEMO2", "CLIENT1"], "health_port": free_port()},
    ]


@pytest.fixture(scope="module")
def sharded_settings(admin_database: str, run_id: str,
                     tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = test_settings(database_url=admin_database, amqp_url="amqp://unused/",
                             data_dir=tmp_path_factory.mktemp("admin_shards"), edit=_two_shards)
    assert settings.file.shard_names == ("A", "B")
    return dataclasses.replace(settings, redis_prefix=f"oms_test_{run_id}_admin_shards:")


@pytest.fixture(scope="module")
def sharded_app(sharded_settings: Settings, admin_engine: Engine) -> Iterator[Flask]:
    yield from app_of(sharded_settings)


@pytest.fixture
def on_shards(sharded_app: Flask) -> Callable[[str], FlaskClient]:
    """A test client of the sharded app, signed in as one of the conftest's USERS."""

    def make(username: str) -> FlaskClient:
        client = sharded_app.test_client()
        sign_in(client, username)
        return client

    return make


@pytest.fixture
def sharded_cache(sharded_app: Flask, sharded_settings: Settings) -> Iterator[RedisCache]:
    cache = RedisCache(sharded_settings.redis_url, prefix=sharded_settings.redis_prefix)
    cache.start()
    yield cache
    for shard in ("A", "B"):
        cache.clear_status(status_component(shard))
    cache.close()


def new_commands(engine: Engine, after: int) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT * FROM operator_commands WHERE id > :after ORDER BY id"), {"after": after}))


def last_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT coalesce(max(id), 0) FROM operator_commands")).scalar_one())


def audit_of(engine: Engine, command_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT * FROM operator_audit WHERE (details->>'command_id')::int = :c"),
            {"c": command_id}).one()


def flashed(client: FlaskClient, location: str) -> str:
    return client.get(location).get_data(as_text=True)


# -- commands go to the right shard --------------------------------------------------------


def test_a_global_kill_switch_writes_one_command_per_shard_each_with_its_audit_row(
    on_shards: Callable[[str], FlaskClient], admin_engine: Engine
) -> None:
    client = on_shards("alice")
    before = last_id(admin_engine)
    review = post_form(client, "/kill-switch/trip",
                       {"scope": "global", "key": "", "shard": "", "reason": "venue outage"})
    html = review.get_data(as_text=True)
    assert "The gateway of every shard trips it (A, B)" in html
    assert new_commands(admin_engine, before) == []
    response = post_form(client, "/kill-switch/trip", {
        "scope": "global", "key": "", "shard": "", "reason": "venue outage", "confirm": "yes"})
    written = new_commands(admin_engine, before)
    assert [(c.shard, c.kind, c.payload) for c in written] == [
        ("A", "kill_switch_trip", {"scope": "global", "key": "*"}),
        ("B", "kill_switch_trip", {"scope": "global", "key": "*"}),
    ]
    for command in written:
        audit = audit_of(admin_engine, command.id)
        assert (audit.action, audit.target, audit.username, audit.reason) == (
            "kill_switch_trip", "global:*", "alice", "venue outage")
        assert audit.details["shard"] == command.shard
    a, b = written
    page = flashed(client, response.headers["Location"])
    assert f"Commands #{a.id} (shard A), #{b.id} (shard B) sent to the gateways of 2 shards" \
        in page
    assert "waiting for the gateway of shard B" in page


def test_an_account_kill_switch_goes_to_the_shard_of_the_account_only(
    on_shards: Callable[[str], FlaskClient], admin_engine: Engine
) -> None:
    client = on_shards("alice")
    before = last_id(admin_engine)
    response = post_form(client, "/kill-switch/trip", {
        "scope": "account", "key": "DEMO2", "shard": "", "reason": "runaway", "confirm": "yes"})
    [command] = new_commands(admin_engine, before)
    assert (command.shard, command.payload) == ("B", {"scope": "account", "key": "DEMO2"})
    assert f"Command #{command.id} sent to the gateway of shard B" in flashed(
        client, response.headers["Location"])


def test_a_cancel_of_an_order_goes_to_the_shard_of_its_account(
    on_shards: Callable[[str], FlaskClient], admin_engine: Engine
) -> None:
    client = on_shards("tom")
    before = last_id(admin_engine)
    response = post_form(client, f"/orders/{seed.RESTING}/cancel", {"reason": "stale quote"})
    [command] = new_commands(admin_engine, before)
    assert (command.shard, command.kind, command.payload) == (
        "A", "cancel_order", {"order_id": seed.RESTING})
    assert audit_of(admin_engine, command.id).details["shard"] == "A"
    assert f"Command #{command.id} sent to the gateway of shard A" in flashed(
        client, response.headers["Location"])


@pytest.mark.parametrize(("url", "form", "kind", "shard"), [
    (f"/orders/{seed.IN_DOUBT}/close", {"status": "expired", "reason": "venue confirms"},
     "close_order", "B"),
    ("/accounts/cancel-all", {"account": "DEMO1", "reason": "eod", "confirm": "yes"},
     "cancel_all", "A"),
    ("/breakers/DEMO2/reenable", {"reason": "loop fixed"}, "breaker_reenable", "B"),
])
def test_account_commands_go_to_the_shard_of_the_account(
    on_shards: Callable[[str], FlaskClient], admin_engine: Engine, url: str,
    form: dict[str, str], kind: str, shard: str,
) -> None:
    before = last_id(admin_engine)
    post_form(on_shards("alice"), url, form)
    assert [(c.kind, c.shard) for c in new_commands(admin_engine, before)] == [(kind, shard)]


@pytest.fixture
def ghost_order(admin_engine: Engine) -> Iterator[str]:
    with admin_engine.begin() as conn:
        template = conn.execute(ORDERS.select().where(ORDERS.c.order_id == seed.RESTING)).one()
        row = dict(template._mapping) | {"order_id": GHOST_ORDER, "account": "GHOST",
                                          "cl_ord_id": "ghost-1", "origin": "amqp:GHOST"}
        conn.execute(ORDERS.insert().values(**row))
    try:
        yield GHOST_ORDER
    finally:
        with admin_engine.begin() as conn:
            conn.execute(ORDERS.delete().where(ORDERS.c.order_id == GHOST_ORDER))


def test_a_cancel_of_an_order_of_an_account_no_shard_owns_is_refused(
    on_shards: Callable[[str], FlaskClient], admin_engine: Engine, ghost_order: str
) -> None:
    client = on_shards("tom")
    before = last_id(admin_engine)
    response = post_form(client, f"/orders/{ghost_order}/cancel", {"reason": "cleanup"})
    page = flashed(client, response.headers["Location"])
    assert f"order {ghost_order}: account GHOST belongs to no shard (shards: A, B)" in page
    assert new_commands(admin_engine, before) == []


def test_a_kill_switch_on_a_chosen_shard_writes_one_command(
    on_shards: Callable[[str], FlaskClient], admin_engine: Engine
) -> None:
    client = on_shards("alice")
    before = last_id(admin_engine)
    review = post_form(client, "/kill-switch/trip",
                       {"scope": "venue", "key": "SIM", "shard": "A", "reason": "drill"})
    html = review.get_data(as_text=True)
    assert "venue SIM on shard A only" in html
    assert "the accounts of shard(s) B are not stopped" in html
    assert "1 open order(s)" in html  # DEMO1's resting order; DEMO2's in-doubt one is on B
    assert '<input type="hidden" name="shard" value="A">' in html
    post_form(client, "/kill-switch/trip", {"scope": "venue", "key": "SIM", "shard": "A",
                                            "reason": "drill", "confirm": "yes"})
    [command] = new_commands(admin_engine, before)
    assert (command.shard, command.payload) == ("A", {"scope": "venue", "key": "SIM"})


@pytest.mark.parametrize(("form", "message"), [
    ({"scope": "global", "key": "", "shard": "C"}, "unknown shard &#39;C&#39;: shards are A, B"),
    ({"scope": "account", "key": "DEMO1", "shard": "B"}, "account DEMO1 is on shard A, not B"),
])
def test_a_kill_switch_on_a_shard_that_cannot_take_it_is_refused(
    on_shards: Callable[[str], FlaskClient], admin_engine: Engine, form: dict[str, str],
    message: str,
) -> None:
    client = on_shards("alice")
    before = last_id(admin_engine)
    response = post_form(client, "/kill-switch/trip",
                         form | {"reason": "x", "confirm": "yes"})
    assert message in flashed(client, response.headers["Location"])
    assert new_commands(admin_engine, before) == []


def test_clearing_a_global_switch_goes_to_every_shard(
    sharded_settings: Settings, admin_engine: Engine
) -> None:
    who = actions.Operator("alice", datetime.now(UTC))
    with admin_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO kill_switches (scope, key, active, reason, tripped_by, tripped_at) "
            "VALUES ('symbol', 'AAPL', true, 'bad print', 'alice', now())"))
    try:
        cleared = actions.clear_kill_switch(admin_engine, who, sharded_settings.file,
                                            scope=KillScope.SYMBOL, key="AAPL", reason="ok")
        assert list(cleared) == ["A", "B"]
    finally:
        with admin_engine.begin() as conn:
            conn.execute(text("DELETE FROM kill_switches WHERE scope = 'symbol' "
                              "AND key = 'AAPL'"))


def test_new_default_limits_are_reloaded_by_every_shard_an_accounts_by_its_own(
    sharded_settings: Settings, admin_engine: Engine
) -> None:
    file, who = sharded_settings.file, actions.Operator("alice", datetime.now(UTC))
    with admin_engine.connect() as conn:
        kept = {r.account: r._mapping for r in conn.execute(text(
            "SELECT * FROM risk_limits WHERE account IN ('*', 'CLIENT1')"))}
    try:
        _, defaults = actions.save_risk_limits(
            admin_engine, who, file, account="*", limits=RiskLimits(),
            expected_version=int(kept["*"]["version"]) if "*" in kept else 0, reason="t")
        _, client = actions.save_risk_limits(
            admin_engine, who, file, account="CLIENT1", limits=RiskLimits(),
            expected_version=int(kept["CLIENT1"]["version"]) if "CLIENT1" in kept else 0,
            reason="t")
        assert list(defaults) == ["A", "B"] and list(client) == ["B"]
    finally:  # the other admin tests expect the limits they left
        with admin_engine.begin() as conn:
            conn.execute(text("DELETE FROM risk_limits WHERE account IN ('*', 'CLIENT1')"))
            for row in kept.values():
                conn.execute(text(
                    "INSERT INTO risk_limits (account, limits, version, updated_by, updated_at) "
                    "VALUES (:account, CAST(:limits AS jsonb), :version, :updated_by, "
                    ":updated_at)"),
                    dict(row) | {"limits": json.dumps(row["limits"])})


# -- FIX session operations ------------------------------------------------------------------


@pytest.mark.parametrize(("url", "form", "shards"), [
    ("/sessions/venue/SIM/logon", {"reason": "maintenance over"}, ["A", "B"]),
    ("/sessions/venue/SIM/logon", {"shard": "B", "reason": "maintenance over"}, ["B"]),
    ("/sessions/venue/SIM/reset", {"shard": "A", "reason": "agreed", "confirm": "yes"}, ["A"]),
    ("/sessions/venue/SIM/set-next-target", {"shard": "B", "seq": "7", "reason": "resync"},
     ["B"]),
    ("/sessions/client/CLIENT1/logout", {"reason": "client asked", "confirm": "yes"}, ["B"]),
])
def test_a_venue_session_is_operated_on_every_shard_or_the_chosen_one_a_client_on_its_own(
    on_shards: Callable[[str], FlaskClient], admin_engine: Engine, url: str,
    form: dict[str, str], shards: list[str],
) -> None:
    before = last_id(admin_engine)
    post_form(on_shards("alice"), url, form)
    written = new_commands(admin_engine, before)
    assert [c.shard for c in written] == shards
    assert len({c.kind for c in written}) == 1


def test_setting_a_venue_sequence_number_needs_the_shard_chosen(
    on_shards: Callable[[str], FlaskClient], admin_engine: Engine
) -> None:
    client = on_shards("alice")
    before = last_id(admin_engine)
    response = post_form(client, "/sessions/venue/SIM/set-next-sender",
                         {"seq": "42", "reason": "venue restarted"})
    assert "its own sequence numbers: choose the shard" in flashed(
        client, response.headers["Location"])
    assert new_commands(admin_engine, before) == []


def test_the_confirmation_of_a_venue_reset_on_one_shard_keeps_the_shard(
    on_shards: Callable[[str], FlaskClient],
) -> None:
    html = post_form(on_shards("alice"), "/sessions/venue/SIM/reset",
                     {"shard": "B", "reason": "agreed"}).get_data(as_text=True)
    assert "Reset FIX session venue:SIM on shard B" in html
    assert '<input type="hidden" name="shard" value="B">' in html
    assert "the sessions of shard(s) A are left as they are" in html


# -- without shards ------------------------------------------------------------------------


def test_without_shards_every_command_goes_to_main(
    signed_in: SignedIn, admin_engine: Engine
) -> None:
    client = signed_in("alice")
    before = last_id(admin_engine)
    post_form(client, "/kill-switch/trip",
              {"scope": "global", "key": "", "reason": "drill", "confirm": "yes"})
    post_form(client, f"/orders/{seed.RESTING}/cancel", {"reason": "stale"})
    response = post_form(client, "/sessions/venue/SIM/logon", {"reason": "after maintenance"})
    written = new_commands(admin_engine, before)
    assert [(c.kind, c.shard) for c in written] == [
        ("kill_switch_trip", DEFAULT_SHARD), ("cancel_order", DEFAULT_SHARD),
        ("fix_logon", DEFAULT_SHARD)]
    page = flashed(client, response.headers["Location"])
    assert f"Command #{written[-1].id} sent to the gateway: log on venue:SIM" in page


def test_without_shards_the_pages_show_no_shard(signed_in: SignedIn) -> None:
    client = signed_in("alice")
    for page in ("/", "/sessions", "/kill-switch", "/positions"):
        html = client.get(page).get_data(as_text=True)
        assert "shard" not in html.lower(), page


# -- the pages ---------------------------------------------------------------------------


def _publish(cache: RedisCache, shard: str, beat: datetime, **sessions: str) -> None:
    cache.publish_status(status_component(shard), {
        "heartbeat": beat.isoformat(), "inbox_depth": "0", "last_batch": "1", **sessions})


def test_the_sessions_page_shows_each_shards_gateway_and_sessions(
    on_shards: Callable[[str], FlaskClient], sharded_cache: RedisCache
) -> None:
    now = datetime.now(UTC)
    _publish(sharded_cache, "A", now, **{"venue:SIM": "logged_on 11 12"})
    _publish(sharded_cache, "B", now, **{"venue:SIM": "logged_on 21 22",
                                         "client:CLIENT1": "down 3 4"})
    html = on_shards("alice").get("/sessions").get_data(as_text=True)
    a_venue = _row(html, "session-A-venue-SIM")
    assert "OMS_A → SIM" in a_venue and "logged on" in a_venue and ">11<" in a_venue
    b_venue = _row(html, "session-B-venue-SIM")
    assert "OMS_B → SIM" in b_venue and ">21<" in b_venue and ">22<" in b_venue
    b_client = _row(html, "session-B-client-CLIENT1")
    assert "not connected" in b_client and ">3<" in b_client and "shard B" in b_client
    assert 'id="session-A-client-CLIENT1"' not in html
    assert "<h2>Shard A</h2>" in html and "<h2>Shard B</h2>" in html
    assert "<b>2 / 3</b> sessions logged on" in html
    assert "gateway silent" not in html
    ops = html[html.index('id="ops-venue-SIM"'):html.index('id="ops-client-CLIENT1"')]
    assert "OMS_A / OMS_B → SIM" in ops and '<option value="" selected>all shards</option>' in ops


def test_a_silent_shard_is_said_so_and_the_other_still_shows(
    on_shards: Callable[[str], FlaskClient], sharded_cache: RedisCache
) -> None:
    now = datetime.now(UTC)
    _publish(sharded_cache, "A", now, **{"venue:SIM": "logged_on 11 12"})
    _publish(sharded_cache, "B", now - timedelta(minutes=5), **{"venue:SIM": "logged_on 1 1"})
    html = on_shards("vera").get("/sessions").get_data(as_text=True)
    assert 'id="silent-B"' in html and "The gateway of shard B has not published" in html
    assert 'id="silent-A"' not in html
    assert "logged on (stale)" in _row(html, "session-B-venue-SIM")
    assert "<b>1 / 3</b> sessions logged on" in html


def test_the_dashboard_shows_one_gateway_block_per_shard(
    on_shards: Callable[[str], FlaskClient], sharded_cache: RedisCache
) -> None:
    now = datetime.now(UTC)
    _publish(sharded_cache, "A", now, **{"venue:SIM": "logged_on 11 12"})
    _publish(sharded_cache, "B", now, **{"venue:SIM": "logged_on 21 22"})
    html = on_shards("vera").get("/dashboard/panels").get_data(as_text=True)
    for shard in ("A", "B"):
        card = html[html.index(f'id="gateway-{shard}"'):]
        card = card[:card.index('<div class="card', 1)]
        assert f"Gateway engine · shard {shard}" in card and ">running<" in card
        assert "1 / 1 logged on" in card if shard == "A" else "1 / 2 logged on" in card
    assert "gateway:A" in _row(html, "dash-session-A-venue-SIM")
    assert "gateway:B" in _row(html, "dash-session-B-venue-SIM")
    assert "no status" in _row(html, "dash-session-B-client-CLIENT1")
    assert "<b>2 / 3</b> logged on, all shards" in html


def test_positions_show_the_shard_of_each_account_and_totals_per_shard(
    on_shards: Callable[[str], FlaskClient], sharded_cache: RedisCache,
    sharded_settings: Settings,
) -> None:
    sharded_cache.seed_reference_prices(sharded_settings.file.instruments, datetime.now(UTC),
                                        overwrite=True)
    html = on_shards("vera").get("/positions").get_data(as_text=True)
    assert "Totals by shard" in html
    # DEMO1 (A): 100 ZVZZT at 10.00 and a resting buy of 100; DEMO2 (B): an open sell of 100
    a, b, total = (_row(html, f"total-{name}") for name in ("A", "B", "all-shards"))
    assert ">1<" in a and "1,000.00" in a and "2,000.00" in a
    assert ">1<" in b and "1,000.00" in b
    assert ">2<" in total and "3,000.00" in total
    assert "<th>Shard</th>" in html and "shard A" in html and "shard B" in html


def test_the_kill_switch_form_offers_the_shards(
    on_shards: Callable[[str], FlaskClient],
) -> None:
    html = on_shards("alice").get("/kill-switch").get_data(as_text=True)
    assert '<select id="shard" name="shard"><option value="" selected>all shards</option>' \
        in html
    assert '<option value="A">A</option><option value="B">B</option>' in html


# -- the shard model the pages read ------------------------------------------------------------


def test_each_shard_has_its_own_venue_session_and_the_clients_of_its_accounts(
    sharded_settings: Settings,
) -> None:
    now = datetime.now(UTC)
    components = read_components({
        "gateway:B": {"heartbeat": now.isoformat(), "venue:SIM": "logged_on 5 6"},
        "gateway": {"heartbeat": now.isoformat(), "venue:SIM": "logged_on 9 9"},  # old, unused
    }, now)
    a, b = shard_sessions(sharded_settings.file, components)
    assert (a.shard, a.component, a.gateway, a.health) == ("A", "gateway:A", None, "down")
    assert [(r.session, r.our_comp_id, r.status) for r in a.rows] == [
        ("venue:SIM", "OMS_A", None)]
    assert (b.component, b.health, b.sessions_up) == ("gateway:B", "ok", 1)
    assert [(r.row_id, r.reported_by) for r in b.rows] == [
        ("B-venue-SIM", "gateway:B"), ("B-client-CLIENT1", None)]
    venue, client = session_targets(sharded_settings.file)
    assert (venue.our_comp_ids, venue.shards, venue.shard_choice) == (
        ("OMS_A", "OMS_B"), ("A", "B"), True)
    assert (client.shards, client.shard_choice) == (("B",), False)


def test_shard_routing_without_shards_is_main_for_everything(admin_settings: Settings) -> None:
    file = admin_settings.file
    assert actions.account_shard(file, "ANY", "order O1") == DEFAULT_SHARD
    assert actions.kill_switch_shards(file, KillScope.GLOBAL, "*") == (DEFAULT_SHARD,)
    assert actions.kill_switch_shards(file, KillScope.ACCOUNT, "GHOST") == (DEFAULT_SHARD,)
    assert actions.fix_session_shards(file, "venue:SIM") == (DEFAULT_SHARD,)
    [gateway] = shard_sessions(file, [])
    assert (gateway.shard, gateway.component, gateway.label) == (None, "gateway", "Gateway")


def _row(html: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row {row_id}"
    return found.group(1)
