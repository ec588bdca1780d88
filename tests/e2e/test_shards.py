"""Two gateway shards, real processes: A owns DEMO1, B owns DEMO2, both trade with the venue
simulator over sessions of their own. SIGKILL A in the middle of a burst: B keeps trading;
restart A: its orders recover, nothing lost or doubled. Then DEMO1 moves from A to B."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from oms.bus.topology import DEAD_LETTER_QUEUE, REASON_HEADER, unrouted_policy_command
from oms.settings import load_settings
from tests.e2e.test_gateway_crash import GatewayProcess
from tests.support.isolation import TestVhost
from tests.support.stack import Strategy, free_port, write_settings_file
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e

ORDERS_PER_BURST = 120


def _shards(a_accounts: str, b_accounts: str, ports: dict[str, int]) -> str:
    return f"""
[[shards]]
name = "A"
accounts = [{a_accounts}]
health_port = {ports["a_health"]}
metrics_port = {ports["a_metrics"]}

[[shards]]
name = "B"
accounts = [{b_accounts}]
health_port = {ports["b_health"]}
metrics_port = {ports["b_metrics"]}
"""


@dataclass
class ShardedStack:
    config: Path
    ports: dict[str, int]
    a: GatewayProcess
    b: GatewayProcess
    vhost: TestVhost

    def write_config(self, a_accounts: str, b_accounts: str) -> None:
        text_ = self.config.read_text().split("\n[[shards]]")[0]
        self.config.write_text(text_ + _shards(a_accounts, b_accounts, self.ports))


def _gateway(env: dict[str, str], shard: str, health_port: int, log: Path) -> GatewayProcess:
    return GatewayProcess(env, health_port, log, args=("--shard", shard))


@pytest.fixture(scope="module")
def stack(database_url: str, run_id: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShardedStack]:
    from fix_gateway.venue_sim import VenueSimulator

    root = tmp_path_factory.mktemp("shards")
    config = root / "oms.toml"
    ports = write_settings_file(config, data_dir=root / "var")
    ports |= {k: free_port() for k in ("a_health", "a_metrics", "b_health", "b_metrics")}
    base = config.read_text().replace(
        'sender_comp_id = "OMS"\n',
        'sender_comp_id = "OMS"\nshard_sender_comp_ids = { A = "OMS_A", B = "OMS_B" }\n', 1)
    config.write_text(base + _shards('"DEMO1"', '"DEMO2", "CLIENT1"', ports))
    settings = load_settings({"OMS_CONFIG": str(config), "OMS_DATABASE_URL": database_url})
    # a vhost of its own: the shards' queues must not share oms.orders with the `#` queue of
    # the other modules' gateways
    vhost = TestVhost.create(f"{run_id}_shards")
    subprocess.run(unrouted_policy_command(vhost.name), check=True, capture_output=True,
                   timeout=60)
    venue = VenueSimulator(settings, "SIM", data_dir=root / "venue-sim", message_log=False)
    venue.start()
    env = os.environ | {
        "OMS_CONFIG": str(config), "OMS_DATABASE_URL": database_url,
        "OMS_AMQP_URL": vhost.url, "OMS_REDIS_PREFIX": f"oms_test_{run_id}_shards:",
    }
    a = _gateway(env, "A", ports["a_health"], root / "shard-a.log")
    b = _gateway(env, "B", ports["b_health"], root / "shard-b.log")
    try:
        a.start()
        b.start()
        yield ShardedStack(config, ports, a, b, vhost)
    finally:
        a.terminate()
        b.terminate()
        venue.stop()
        vhost.drop()


ACKNOWLEDGED = ("new", "partial_fill", "fill")
ANSWERED = (*ACKNOWLEDGED, "rejected")


def _acked(strategy: Strategy, cl_ord_ids: set[str], timeout: float = 30.0,
           answers: tuple[str, ...] = ACKNOWLEDGED) -> None:
    """Every one of ``cl_ord_ids`` acknowledged by the venue (or given one of ``answers``), as
    oms.events tells."""
    remaining = set(cl_ord_ids)
    deadline = time.monotonic() + timeout

    def acknowledged(event: dict[str, object]) -> bool:
        return event.get("cl_ord_id") in remaining and event.get("exec_type") in answers

    while remaining:
        left_s = deadline - time.monotonic()
        assert left_s > 0, f"never acknowledged: {sorted(remaining)[:5]} ({len(remaining)})"
        event = strategy.wait_for(acknowledged, timeout=left_s)
        remaining.discard(str(event["cl_ord_id"]))


def _owner_of(db: Engine, cl_ord_id: str) -> str:
    with db.connect() as conn:
        return str(conn.execute(text(
            "SELECT x.shard FROM orders o JOIN order_events e USING (order_id) "
            "JOIN outbox x ON x.event_id = e.event_id WHERE o.cl_ord_id = :c LIMIT 1"),
            {"c": cl_ord_id}).scalar_one())


def test_each_shard_trades_its_own_accounts(stack: ShardedStack, db_engine: Engine) -> None:
    with Strategy(stack.vhost.url) as strategy:
        one, two = f"sh-a-{uuid.uuid4().hex[:8]}", f"sh-b-{uuid.uuid4().hex[:8]}"
        strategy.new_order("DEMO1", one, "ZVZZT", "buy", "5", "9.00")
        strategy.new_order("DEMO2", two, "ZVZZT", "buy", "5", "9.00")
        _acked(strategy, {one, two})
    assert _owner_of(db_engine, one) == "A"
    assert _owner_of(db_engine, two) == "B"


def test_a_command_for_an_account_no_shard_owns_is_dead_lettered_with_its_reason(
    stack: ShardedStack,
) -> None:
    with Strategy(stack.vhost.url) as strategy:
        strategy.new_order("GHOST", f"sh-g-{uuid.uuid4().hex[:8]}", "ZVZZT", "buy", "1", "9.00")
        channel = strategy.channel
        found: list[bytes | None] = []

        def dead_lettered() -> bool:
            method, properties, body = channel.basic_get(DEAD_LETTER_QUEUE, auto_ack=True)
            if method is not None and b"GHOST" in body:
                found.append((properties.headers or {}).get(REASON_HEADER, "").encode())
            return bool(found)

        eventually(dead_lettered, timeout=20)
    assert b"no shard owns account 'GHOST'" in (found[0] or b"")


def test_sigkill_of_shard_a_mid_burst_b_keeps_trading_and_a_recovers_everything(
    stack: ShardedStack, db_engine: Engine
) -> None:
    token = uuid.uuid4().hex[:6]
    sent_a = [f"shkill-a{i}-{token}" for i in range(ORDERS_PER_BURST)]
    sent_b = [f"shkill-b{i}-{token}" for i in range(ORDERS_PER_BURST)]
    with Strategy(stack.vhost.url) as strategy:
        strategy.channel.confirm_delivery()  # orders the broker confirmed must not be lost
        for i in range(ORDERS_PER_BURST // 2):
            strategy.new_order("DEMO1", sent_a[i], "ZVZZT", "buy", "1", "9.50")
            strategy.new_order("DEMO2", sent_b[i], "ZVZZT", "buy", "1", "9.50")
        stack.a.kill()
        # A is down: B's orders, sent now, are all acknowledged while it stays down
        for i in range(ORDERS_PER_BURST // 2, ORDERS_PER_BURST):
            strategy.new_order("DEMO1", sent_a[i], "ZVZZT", "buy", "1", "9.50")
            strategy.new_order("DEMO2", sent_b[i], "ZVZZT", "buy", "1", "9.50")
        _acked(strategy, set(sent_b))
        assert stack.a.proc is not None and stack.a.proc.poll() is not None, "A came back?"
        stack.a.start()  # a new process: its state reloaded from PostgreSQL
        # an order A recorded but had not sent when it died is asked about, not sent again
        # (it may have gone out): the venue does not know it, so it is rejected, with why
        _acked(strategy, set(sent_a), timeout=60, answers=ANSWERED)
        rejected = {e["cl_ord_id"]: e["text"] for e in strategy.events
                    if e.get("cl_ord_id") in sent_a and e.get("exec_type") == "rejected"}
    assert set(rejected.values()) <= {"unknown order"}, rejected
    with db_engine.connect() as conn:
        counts = dict(conn.execute(text(
            "SELECT cl_ord_id, count(*) FROM orders WHERE cl_ord_id LIKE :p GROUP BY cl_ord_id"),
            {"p": f"shkill-%-{token}"}).all())
        events = dict(conn.execute(text(
            "SELECT o.cl_ord_id, count(*) FROM order_events e JOIN orders o USING (order_id) "
            "WHERE o.cl_ord_id LIKE :p AND e.exec_type = 'new' GROUP BY o.cl_ord_id"),
            {"p": f"shkill-%-{token}"}).all())
    assert sorted(counts) == sorted(sent_a + sent_b), "orders lost"
    assert set(counts.values()) == {1}, "orders doubled"
    assert set(events.values()) == {1}, "an order acknowledged twice"


def test_a_global_kill_switch_reaches_every_shard_and_is_cleared_on_a_chosen_one(
    stack: ShardedStack, db_engine: Engine
) -> None:
    from oms.admin.actions import Operator, clear_kill_switch, trip_kill_switch
    from oms.domain.values import KillScope

    file = load_settings({"OMS_CONFIG": str(stack.config)}).file
    ops = Operator("ops", datetime.now(UTC))
    trip = trip_kill_switch(db_engine, ops, file, scope=KillScope.GLOBAL, key="",
                            reason="halt both shards")
    assert sorted(trip) == ["A", "B"]  # one operator command per shard
    with Strategy(stack.vhost.url) as strategy:
        assert _refused_by_kill_switch(strategy, "DEMO1") and _refused_by_kill_switch(
            strategy, "DEMO2")
        clear_kill_switch(db_engine, ops, file, scope=KillScope.GLOBAL, key="*",
                          reason="A may trade again", shard="A")
        eventually(lambda: not _refused_by_kill_switch(strategy, "DEMO1"))
        assert _refused_by_kill_switch(strategy, "DEMO2"), "B's switch was cleared too"
        clear_kill_switch(db_engine, ops, file, scope=KillScope.GLOBAL, key="*",
                          reason="B may trade again", shard="B")
        eventually(lambda: not _refused_by_kill_switch(strategy, "DEMO2"))


def _refused_by_kill_switch(strategy: Strategy, account: str) -> bool:
    """Send an order on ``account``: True if it is rejected by a kill switch, False if the
    venue acknowledges it."""
    cl_ord_id = f"shks-{account}-{uuid.uuid4().hex[:8]}"
    strategy.new_order(account, cl_ord_id, "ZVZZT", "buy", "1", "9.50")
    answer = strategy.wait_for(lambda e: e.get("cl_ord_id") == cl_ord_id
                               and e.get("exec_type") in ANSWERED)
    return answer["exec_type"] == "rejected" and "kill switch" in str(answer.get("text"))


def test_moving_demo1_from_a_to_b_then_trading_it_again(
    stack: ShardedStack, db_engine: Engine
) -> None:
    with Strategy(stack.vhost.url) as strategy:
        # drain: the account has no working orders at the venue (its reports would come back
        # on A's session), then stop A, move the account in the settings file, restart both
        _cancel_open_orders(strategy, db_engine, "DEMO1")
        stack.a.terminate()
        waiting = f"waiting-{uuid.uuid4().hex[:8]}"  # sent meanwhile: waits in A's queue
        strategy.new_order("DEMO1", waiting, "ZVZZT", "buy", "1", "9.50")
        stack.write_config('', '"DEMO1", "DEMO2", "CLIENT1"')
        stack.b.terminate()
        stack.b.start()
        stack.a.start()  # unbinds DEMO1, and forwards what waited for it to oms.orders
        moved = f"moved-{uuid.uuid4().hex[:8]}"
        strategy.new_order("DEMO1", moved, "ZVZZT", "buy", "2", "9.50")
        _acked(strategy, {waiting, moved})
    assert _owner_of(db_engine, waiting) == "B"
    assert _owner_of(db_engine, moved) == "B"


def _cancel_open_orders(strategy: Strategy, db: Engine, account: str) -> None:
    with db.connect() as conn:
        # this module's orders: the run's database holds other modules' orders of the account,
        # some on venues and sessions that no longer exist
        open_orders = conn.execute(text(
            "SELECT order_id, cl_ord_id FROM orders WHERE account = :a AND status NOT IN "
            "('filled', 'canceled', 'rejected', 'expired') AND cl_ord_id LIKE 'sh%'"),
            {"a": account}).all()
    for _order_id, cl_ord_id in open_orders:
        strategy.send(account, {"type": "cancel", "cl_ord_id": f"cx-{cl_ord_id}",
                                "orig_cl_ord_id": cl_ord_id, "account": account})
    ids = [o for o, _ in open_orders]

    def none_open() -> bool:
        with db.connect() as conn:
            return not conn.execute(text(
                "SELECT count(*) FROM orders WHERE order_id = ANY(:ids) AND status NOT IN "
                "('filled', 'canceled', 'rejected', 'expired')"), {"ids": ids}).scalar_one()

    eventually(none_open, timeout=60)
