"""The gateway's memory as filled orders accumulate: ``python -m oms.bench.memory``.

The full path of ``oms bench`` (strategy -> RabbitMQ -> gateway -> FIX -> venue simulator ->
fills -> PostgreSQL -> RabbitMQ -> strategy; the bench's own database, vhost and Redis
prefix, three processes), run in rounds of filled orders. After a warm-up and after each round
(every order of it filled and reported to the strategy, so no order is open) the gateway
process's resident set size is read from ``/proc/<pid>/status`` (VmRSS). At most
``IN_FLIGHT`` orders are unfilled at a time, so every order passes the risk limits. What the
gateway keeps per closed order shows as RSS growing with the orders filled; with every index
pruned with its order, it levels off once the bounded caches (the relay's recent event ids,
the venue session's record of sent messages) are full. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from oms.bench.full_path import FullPath
from oms.bench.isolation import prepare
from oms.bench.progress import Echo, Ticker, stderr_echo
from oms.bench.strategy import Phase

CHECKPOINTS = (10_000, 50_000, 100_000)
ROUND_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVXYZ"
"""One letter per round (the strategy names orders <letter><index>); W is the warm-up."""


def rss_kib(pid: int) -> int:
    """Resident set size of process ``pid`` (VmRSS, kiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def rounds_of(checkpoints: tuple[int, ...]) -> tuple[int, int]:
    """(orders per round, rounds): the largest round that lands on every checkpoint, at most
    10,000 orders (the strategy publishes a round back to back)."""
    size = math.gcd(*checkpoints)
    while size > 10_000:
        size = next(d for d in range(10_000, 0, -1) if size % d == 0)
    count = max(checkpoints) // size
    if count > len(ROUND_LETTERS):
        raise ValueError(f"{count} rounds of {size} orders: at most {len(ROUND_LETTERS)}")
    return size, count


IN_FLIGHT = 500
"""Orders published and not yet filled, at most: the risk limits (open orders, gross exposure)
must pass every order, or a rejected order would count as one that leaves nothing behind."""


def filled_round(path: FullPath, letter: str, orders: int, echo: Echo) -> dict[str, Any]:
    """``orders`` published with at most ``IN_FLIGHT`` unfilled, until the last is filled."""
    assert path.publisher is not None
    phase = path.listener.phase = Phase(letter, orders)
    tick = Ticker(echo)
    started = time.monotonic()
    for index in range(orders):
        deadline = time.monotonic() + 60
        while index - phase.done >= IN_FLIGHT:
            if time.monotonic() > deadline:
                raise RuntimeError(f"memory: round {letter} stalled at {phase.done} filled")
            time.sleep(0.001)
        path.publisher.send(letter, index)
        tick(f"  memory: round {letter}: {index}/{orders} published, {phase.done} filled")
    if not phase.finished.wait(max(120.0, orders / 20)):
        raise RuntimeError(f"memory: round {letter}: only {phase.done} of {orders} done")
    if path.listener.error is not None:
        raise RuntimeError(f"event listener failed: {path.listener.error!r}")
    seconds = time.monotonic() - started
    return {"not_filled": len(phase.rejects), "not_filled_sample": phase.rejects[:3],
            "orders_per_s": round(orders / seconds, 1)}


def run_memory(path: FullPath, checkpoints: tuple[int, ...], echo: Echo) -> dict[str, Any]:
    size, count = rounds_of(checkpoints)
    filled_round(path, "W", 1000, echo)
    pid = path.gateway.pid
    warm = rss_kib(pid)
    echo(f"memory: gateway pid {pid}, {warm / 1024:.1f} MiB after a warm-up of 1,000 orders")
    points: list[dict[str, Any]] = []
    filled = 0
    started = time.monotonic()
    for letter in ROUND_LETTERS[:count]:
        result = filled_round(path, letter, size, echo)
        filled += size
        rss = rss_kib(pid)
        points.append({"orders": filled, "rss_kib": rss} | result)
        echo(f"memory: {filled:>7,} orders filled: RSS {rss / 1024:.1f} MiB "
             f"({(rss - warm) * 1024 / filled:+.0f} B per order since the warm-up)")
    by_orders = {p["orders"]: p for p in points}
    table = [{"orders": n, "rss_mib": round(by_orders[n]["rss_kib"] / 1024, 1),
              "bytes_per_order_since_warm_up": round((by_orders[n]["rss_kib"] - warm) * 1024 / n)}
             for n in checkpoints]
    first, last = min(checkpoints), max(checkpoints)
    slope = ((by_orders[last]["rss_kib"] - by_orders[first]["rss_kib"]) * 1024
             / max(1, last - first))
    return {"gateway_pid": pid, "warm_up_rss_mib": round(warm / 1024, 1),
            "checkpoints": table, "bytes_per_order_between_first_and_last": round(slope),
            "rounds": points, "seconds": round(time.monotonic() - started, 1),
            "not_filled": sum(p["not_filled"] for p in points)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oms.bench.memory",
        description="The gateway's RSS after rounds of filled orders on the full path.")
    parser.add_argument("--checkpoints", default=",".join(map(str, CHECKPOINTS)),
                        help="filled orders at which the RSS is reported [%(default)s]")
    parser.add_argument("--name", default="oms_bench_memory",
                        help="the run's own database, RabbitMQ vhost and Redis prefix "
                             "[%(default)s]")
    parser.add_argument("--run-dir", type=Path, default=Path("var/bench/memory"),
                        help="settings file, logs and FIX stores of the run [%(default)s]")
    parser.add_argument("--json", type=Path, default=None, help="write the figures to FILE")
    args = parser.parse_args(argv)
    from oms.settings import load_settings

    checkpoints = tuple(sorted(int(c) for c in args.checkpoints.split(",")))
    echo = stderr_echo
    echo(f"memory: preparing {args.name} (fresh database, vhost and Redis keys)")
    stack = prepare(load_settings(), args.name, args.run_dir)
    path = FullPath(stack, echo)
    try:
        path.start()
        result = run_memory(path, checkpoints, echo)
    finally:
        path.stop()
    for row in result["checkpoints"]:
        print(f"{row['orders']:>8,} filled orders: gateway RSS {row['rss_mib']:7.1f} MiB "
              f"({row['bytes_per_order_since_warm_up']:+,} B/order since the warm-up)")
    print(f"growth from {min(checkpoints):,} to {max(checkpoints):,} orders: "
          f"{result['bytes_per_order_between_first_and_last']:+,} B per order; "
          f"{result['not_filled']} order(s) not filled")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
