"""``oms bench``: the risk check, the bare loop, the skeleton path and the full path in one run,
then the report.

The full path runs against the bench's own database, vhost and Redis prefix (``isolation``), on
free ports, with the settings file's venues, instruments, accounts and limits. The skeleton
runs before it, so that the full path's processes are not running (and taking CPU) while the
skeleton is measured."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oms.bench import report
from oms.bench.bare_loop import run_bare_loop
from oms.bench.full_path import run_full_path
from oms.bench.isolation import prepare
from oms.bench.plot import write_plot
from oms.bench.progress import Echo
from oms.bench.risk import run_risk_check
from oms.bench.skeleton import run_skeleton
from oms.settings import Settings


@dataclass(frozen=True, slots=True)
class BenchOptions:
    quick: bool = False
    rate: float = 500.0
    orders: int | None = None
    """Orders of each throughput run (default 5,000 with --quick, else 20,000)."""
    seconds: float | None = None
    """Length of each latency run (default 10 s with --quick, else 30 s)."""
    json_path: Path | None = None
    name: str = "oms_bench"
    run_dir: Path = Path("var/bench")
    profile: bool = False
    anchors: Path | None = None
    """The directory of ``skeleton_path.py`` (else ``$OMS_ANCHORS_DIR``, else a search)."""
    skeleton_queue: str = "quorum"

    @property
    def throughput_orders(self) -> int:
        return self.orders or (5_000 if self.quick else 20_000)

    @property
    def latency_seconds(self) -> float:
        return self.seconds or (10.0 if self.quick else 30.0)

    @property
    def latency_orders(self) -> int:
        return max(1, int(self.latency_seconds * self.rate))

    @property
    def risk_iterations(self) -> int:
        return 20_000 if self.quick else 200_000


def run_bench(settings: Settings, options: BenchOptions, echo: Echo,
              out: Echo = print) -> dict[str, Any]:
    """Progress goes to ``echo``, the summary to ``out``."""
    started = time.monotonic()
    load_before = _load()
    echo(f"oms bench: load average {load_before[0]:.2f} on {os.cpu_count()} CPUs; "
         f"state {options.name} (database, vhost, Redis prefix), files in {options.run_dir}")
    echo(f"risk check: {options.risk_iterations} checks")
    risk = run_risk_check(options.risk_iterations)
    echo(f"risk check: p50 {risk['p50']:.1f} us, {risk['throughput_per_s']:.0f} checks/s")
    bare = run_bare_loop(options.run_dir / "bare-loop", echo=echo,
                         throughput_orders=options.throughput_orders,
                         latency_orders=options.latency_orders, rate=options.rate)
    skeleton = run_skeleton(settings, anchors=options.anchors, queue=options.skeleton_queue,
                            rate=options.rate, seconds=options.latency_seconds,
                            orders=options.throughput_orders,
                            run_dir=options.run_dir / "skeleton", echo=echo)
    echo(f"full path: preparing {options.name} (fresh database, vhost and Redis keys)")
    stack = prepare(settings, options.name, options.run_dir / "full-path")
    full = run_full_path(stack, echo=echo, throughput_orders=options.throughput_orders,
                         latency_orders=options.latency_orders, rate=options.rate,
                         profile=options.profile)
    meta = {
        "command": " ".join(shlex.quote(a) for a in ["oms", *sys.argv[1:]]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": options.quick,
        "offered_rate_per_s": options.rate,
        "machine": {"cpus": os.cpu_count(), "load_average_before": load_before,
                    "load_average_after": _load(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "durable": "synchronous_commit as configured on the server; quorum/durable queues, "
                   "persistent messages",
        "seconds": 0.0,
    }
    document = report.build(bare, full, risk, meta, skeleton)
    document["seconds"] = round(time.monotonic() - started, 1)
    report.print_summary(document, out)
    if options.json_path is not None:
        _write(options.json_path, document, bare, full, risk, echo)
    return document


def _write(path: Path, document: dict[str, Any], bare: dict[str, Any], full: dict[str, Any],
           risk: dict[str, Any], echo: Echo) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    png = path.with_suffix(".png")
    lat = full["latency"]
    histograms = {
        "bare loop round trip": bare["round_trip_us"]["_histogram"],
        "full path end to end": lat["end_to_end"]["_histogram"],
        "full path order to wire": lat["order_to_wire"]["_histogram"],
        "full path wire to event": lat["wire_to_event"]["_histogram"],
        "risk check": risk["_histogram"],
    }
    title = (f"latency at {document['offered_rate_per_s']:.0f} orders/s "
             f"(load {document['machine']['load_average_before'][0]:.1f})")
    if write_plot(png, histograms, title):
        document["plot"] = str(png)
    else:
        echo("no plot: matplotlib is not installed (pip install matplotlib)")
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    echo(f"wrote {path}" + (f" and {png}" if "plot" in document else ""))


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return [0.0, 0.0, 0.0]
