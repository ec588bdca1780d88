"""The skeleton path, the floor the OMS is judged against (issue 17), run inside ``oms bench``.

``skeleton_path.py`` is written apart from the project and shares no code with it: it makes the
OMS's durable hops (a quorum intake queue with publisher confirms, a group commit in
PostgreSQL, a quickfix NewOrderSingle, a fill committed, one persistent event) with no business
logic. It is run unchanged, as a subprocess with this Python (which has quickfix, pika and
psycopg), at the bench's own rate and counts, so its figures and the full path's come from the
same machine at the same time and can be read as ratios. It lives outside the repository
(``../shared/anchors``), so a clone elsewhere may not have it: the bench then says so and goes
on without it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from oms.bench.ports import free_port
from oms.bench.progress import Echo
from oms.demo.isolation import DemoSetupError, DemoState, reset_vhost
from oms.settings import Settings

SCRIPT = "skeleton_path.py"
ENV_VAR = "OMS_ANCHORS_DIR"
OPTION = "--anchors"
VHOST = "skel_anchor"
QUEUE_TYPES = ("quorum", "classic")
WINDOW = 1000
"""Orders in flight at most while pipelining: the same bound as the bare loop's."""
TIMEOUT_S = 600.0
TAIL_LINES = 20
REPO_ROOT = Path(__file__).resolve().parents[2]
CPU_GROUPS = {"strategy": "strategy", "gateway": "gateway", "venue": "venue_sim",
              "pg_ours": "postgres", "rabbit": "rabbitmq"}
"""The skeleton's CPU groups under the full path's names (``oms.bench.cpu``). ``pg_all`` (every
postgres process of the server) has no full-path counterpart and is kept apart."""


@dataclass(frozen=True, slots=True)
class AnchorsLookup:
    """Where the anchors directory is, or why it was not found."""

    directory: Path | None
    how: str
    """How it was found (``--anchors``, the environment, the search), or why it was not."""


def find_anchors(option: Path | None, environ: Mapping[str, str],
                 starts: Sequence[Path]) -> AnchorsLookup:
    """``--anchors DIR``, else ``$OMS_ANCHORS_DIR``, else ``../shared/anchors`` above each of
    ``starts`` (the repository's root and the working directory). A directory named by the
    option or the environment is the answer even when it lacks the script: silently searching
    elsewhere would measure a skeleton the operator did not ask for."""
    if option is not None:
        return _named(option, f"{OPTION} {option}")
    if environ.get(ENV_VAR):
        return _named(Path(environ[ENV_VAR]), f"{ENV_VAR}={environ[ENV_VAR]}")
    for start in starts:
        for parent in Path(start).resolve().parents:
            candidate = parent / "shared" / "anchors"
            if (candidate / SCRIPT).is_file():
                return AnchorsLookup(candidate, f"found above {start}")
    searched = ", ".join(str(s) for s in starts)
    return AnchorsLookup(None, f"no ../shared/anchors/{SCRIPT} above {searched}: "
                               f"pass {OPTION} DIR or set {ENV_VAR}")


def _named(directory: Path, source: str) -> AnchorsLookup:
    if (directory / SCRIPT).is_file():
        return AnchorsLookup(directory.resolve(), source)
    return AnchorsLookup(None, f"{source}: no {SCRIPT} there")


def not_run(reason: str, output_tail: Iterable[str] = ()) -> dict[str, Any]:
    """The report's skeleton section when there are no figures."""
    section: dict[str, Any] = {"ran": False, "reason": reason}
    tail = list(output_tail)
    if tail:
        section["output_tail"] = tail
    return section


def translate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The skeleton's JSON in the bench's shape: microseconds of CPU per order under the full
    path's group names (pipelined run), latency percentiles of the run at the offered rate,
    and each hop's p50 and p99 at that rate."""
    pipelined, at_rate = raw["pipelined"], raw["at_rate"]
    cpu_s = pipelined["cpu_s_per_order"]
    cpu_us = {ours: round(float(cpu_s[theirs]) * 1e6, 1) for theirs, ours in CPU_GROUPS.items()}
    cpu_us["total"] = round(sum(cpu_us.values()), 1)
    return {
        "ran": True,
        "queue": raw["queue"],
        "synchronous_commit": raw["synchronous_commit"],
        "throughput_per_s": round(float(pipelined["orders_per_s"]), 1),
        "throughput_orders": int(pipelined["orders"]),
        "throughput_seconds": round(float(pipelined["secs"]), 3),
        "group_commit_avg": {k: round(float(v), 1) for k, v in pipelined["batch_avg"].items()},
        "cpu_us_per_order": cpu_us,
        "postgres_all_cpu_us_per_order": round(float(cpu_s["pg_all"]) * 1e6, 1),
        "rate_per_s": float(at_rate["rate"]),
        "latency_orders": int(at_rate["orders"]),
        "order_to_wire_us": _percentiles(at_rate["order_to_wire_us"]),
        "end_to_end_us": _percentiles(at_rate["end_to_end_us"]),
        "hops_us": {hop: {"p50": float(v["p50"]), "p99": float(v["p99"])}
                    for hop, v in at_rate["hops_us"].items()},
    }


def _percentiles(figures: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(figures[k]) for k in ("p50", "p90", "p99", "max")}


def run_skeleton(settings: Settings, *, anchors: Path | None, queue: str, rate: float,
                 seconds: float, orders: int, run_dir: Path, echo: Echo,
                 timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """Run the skeleton once: ``seconds`` at ``rate``, then ``orders`` pipelined. Any failure
    is reported (with the script's last lines) and the bench goes on without its figures."""
    lookup = find_anchors(anchors, os.environ, (REPO_ROOT, Path.cwd()))
    if lookup.directory is None:
        echo(f"skeleton: not run ({lookup.how})")
        return not_run(lookup.how)
    try:
        reset_vhost(DemoState.derive(VHOST, database_url=settings.database_url,
                                     amqp_url=settings.amqp_url, redis_url=settings.redis_url))
    except DemoSetupError as exc:
        echo(f"skeleton: not run (vhost {VHOST}: {exc})")
        return not_run(f"vhost {VHOST}: {exc}")
    run_dir.mkdir(parents=True, exist_ok=True)
    json_path = run_dir / "skeleton.json"
    json_path.unlink(missing_ok=True)  # never read an earlier run's figures
    command = [sys.executable, SCRIPT, "--queue", queue, "--rate", f"{rate:g}",
               "--secs", f"{seconds:g}", "--n", str(orders), "--window", str(WINDOW),
               "--port", str(free_port()), "--vhost", VHOST, "--json", str(json_path.resolve())]
    echo(f"skeleton: {lookup.directory}/{SCRIPT} ({lookup.how}), {queue} queues, "
         f"{seconds:g} s at {rate:g}/s, then {orders} orders pipelined")
    returncode, tail = _run(command, lookup.directory, echo, timeout_s)
    if returncode != 0:
        reason = (f"timed out after {timeout_s:.0f} s" if returncode is None
                  else f"{SCRIPT} exited with {returncode}")
        echo(f"skeleton: not run ({reason}); its last lines:")
        for line in tail:
            echo(f"skeleton:   {line}")
        return not_run(reason, tail)
    try:
        section = translate(json.loads(json_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        echo(f"skeleton: not run (its JSON {json_path} is unreadable: {exc!r})")
        return not_run(f"unreadable JSON {json_path}: {exc!r}", tail)
    return section | {"anchors_dir": str(lookup.directory), "found": lookup.how,
                      "command": " ".join(command[1:])}


def _run(command: list[str], cwd: Path, echo: Echo,
         timeout_s: float) -> tuple[int | None, list[str]]:
    """Exit status (None on timeout) and the last lines of output, relayed to ``echo`` as they
    come. The script runs in a session of its own so that its venue and gateway processes can
    be ended with it on a timeout or an interrupt."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    assert process.stdout is not None
    relay = threading.Thread(target=_relay, args=(process.stdout, echo, tail), daemon=True,
                             name="skeleton-output")
    relay.start()
    returncode: int | None = None
    try:
        returncode = process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if process.poll() is None:
            _end_group(process)
        relay.join(5)
    return returncode, list(tail)


def _relay(stream: IO[str], echo: Echo, tail: deque[str]) -> None:
    for raw in stream:
        line = raw.rstrip("\n")
        tail.append(line)
        echo(f"skeleton: {line}")


def _end_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the script's process group, then SIGKILL if it is still there after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(5)
            return
        except subprocess.TimeoutExpired:
            continue
