"""Pipelined new-order throughput of one gateway, or of two shards, on this machine
(docs/deploy.md, "How far it scales").

    .venv/bin/python bench/shard_throughput.py one 2000     # one gateway, DEMO1 + DEMO2
    .venv/bin/python bench/shard_throughput.py two 2000     # shard A: DEMO1, shard B: DEMO2

Each run makes its own database and RabbitMQ vhost (dropped at the end), starts the venue
simulator and the gateway(s) as processes, publishes N resting limit orders per account at once,
and times them from the first publish to the last venue acknowledgement on ``oms.events``; CPU
per order of each process from /proc. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pika

from oms.bench import cpu
from oms.store.db import upgrade
from tests.e2e.test_gateway_crash import GatewayProcess
from tests.support.isolation import TestDatabase, TestVhost, run_token
from tests.support.stack import free_port, write_settings_file

ACCOUNTS = ("DEMO1", "DEMO2")


def settings_file(config: Path, root: Path, two_shards: bool) -> dict[str, int]:
    ports = write_settings_file(config, data_dir=root / "var")
    text = config.read_text().replace("max_open_orders = 2000", "max_open_orders = 100000")
    if two_shards:
        ports |= {k: free_port() for k in ("a_health", "a_metrics", "b_health", "b_metrics")}
        text = text.replace(
            'sender_comp_id = "OMS"\n',
            'sender_comp_id = "OMS"\nshard_sender_comp_ids = { A = "OMS_A", B = "OMS_B" }\n', 1)
        for name, accounts, prefix in (("A", '"DEMO1"', "a"), ("B", '"DEMO2", "CLIENT1"', "b")):
            text += (f'\n[[shards]]\nname = "{name}"\naccounts = [{accounts}]\n'
                     f'health_port = {ports[prefix + "_health"]}\n'
                     f'metrics_port = {ports[prefix + "_metrics"]}\n')
    config.write_text(text)
    return ports


def measure(channel: Any, queue: str, orders: int, token: str) -> tuple[int, float]:
    bodies = [
        (account, json.dumps({
            "type": "new_order", "cl_ord_id": f"tp{i}{account}-{token}", "account": account,
            "symbol": "ZVZZT", "side": "buy", "quantity": "1", "order_type": "limit",
            "price": "9.50"}).encode())
        for i in range(orders) for account in ACCOUNTS
    ]
    started = time.perf_counter()
    for account, body in bodies:
        channel.basic_publish("oms.orders", account, body, pika.BasicProperties(
            content_type="application/json", delivery_mode=2))
    acknowledged = 0
    for method, _properties, body in channel.consume(queue, auto_ack=True,
                                                     inactivity_timeout=30):
        if method is None:
            break
        if json.loads(body)["exec_type"] == "new":
            acknowledged += 1
            if acknowledged == len(bodies):
                break
    return acknowledged, time.perf_counter() - started


def main(mode: str, per_account: int) -> None:
    two_shards = mode == "two"
    token = run_token() + "tp"
    root = Path(f"/tmp/shard_throughput_{token}")
    root.mkdir()
    database, vhost = TestDatabase.create(token), TestVhost.create(token)
    upgrade(database.url)
    config = root / "oms.toml"
    ports = settings_file(config, root, two_shards)
    env = os.environ | {"OMS_CONFIG": str(config), "OMS_DATABASE_URL": database.url,
                        "OMS_AMQP_URL": vhost.url, "OMS_REDIS_PREFIX": f"tp_{token}:"}
    with (root / "venue.log").open("wb") as venue_log:
        venue = subprocess.Popen(
            [sys.executable, "-m", "oms.cli", "venue-sim", "--log-level", "WARNING"], env=env,
            stdout=venue_log, stderr=subprocess.STDOUT)
    gateways = ([GatewayProcess(env, ports["a_health"], root / "a.log", args=("--shard", "A")),
                 GatewayProcess(env, ports["b_health"], root / "b.log", args=("--shard", "B"))]
                if two_shards else [GatewayProcess(env, ports["health"], root / "gateway.log")])
    try:
        for gateway in gateways:
            gateway.start()
        connection = pika.BlockingConnection(pika.URLParameters(vhost.url))
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, "oms.events", routing_key="#")
        pids = {f"gateway{i}": g.proc.pid for i, g in enumerate(gateways) if g.proc} | {
            "venue": venue.pid}
        before = cpu.snapshot(pids, database.name)
        acknowledged, seconds = measure(channel, queue, per_account, token)
        used = cpu.per_order_us(before, cpu.snapshot(pids, database.name), acknowledged)
        connection.close()
        print(json.dumps({
            "mode": mode, "orders": per_account * len(ACCOUNTS), "acknowledged": acknowledged,
            "seconds": round(seconds, 2), "orders_per_s": round(acknowledged / seconds, 1),
            "load_average": os.getloadavg()[0], "cpu_us_per_order": used}))
    finally:
        for gateway in gateways:
            gateway.terminate()
        venue.terminate()
        venue.wait(10)
        vhost.drop()
        database.drop()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
