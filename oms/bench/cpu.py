"""CPU time spent per process group during a run, from /proc (Linux; elsewhere empty).

Throughput on a shared two-core machine depends on what else runs, but the CPU each part of
the path spends per order does not, much: it tells where an order's cost goes. PostgreSQL is
counted as the backends connected to the bench database plus the server's WAL writer, and
RabbitMQ as its whole ``beam.smp`` (other users of the same servers add to those two)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_PROC = Path("/proc")
_PG_SHARED = (b"walwriter",)


def _ticks() -> float:
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError, AttributeError):
        return 100.0


def _cpu_s(pid: int) -> float:
    try:
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _ticks()  # utime + stime


def _cmdline(pid: int) -> bytes:
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def _comm(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def snapshot(pids: Mapping[str, int], database: str | None = None) -> dict[str, float]:
    """Seconds of CPU so far per group: the named ``pids`` and, with ``database``, also
    ``postgres`` (that database's backends and the WAL writer) and ``rabbitmq``."""
    if not _PROC.is_dir():
        return {}
    totals = {name: _cpu_s(pid) for name, pid in pids.items()}
    if database is None:
        return totals
    totals["postgres"] = totals["rabbitmq"] = 0.0
    marker = f" {database} ".encode()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        comm = _comm(pid)
        if comm == "beam.smp":
            totals["rabbitmq"] += _cpu_s(pid)
        elif comm == "postgres":
            cmdline = _cmdline(pid)
            if marker in cmdline or any(shared in cmdline for shared in _PG_SHARED):
                totals["postgres"] += _cpu_s(pid)
    return totals


def per_order_us(before: dict[str, float], after: dict[str, float],
                 orders: int) -> dict[str, float]:
    """Microseconds of CPU per order, per group, and their ``total``."""
    used = {name: round((after[name] - before.get(name, 0.0)) / orders * 1e6, 1)
            for name in after}
    if used:
        used["total"] = round(sum(used.values()), 1)
    return used
