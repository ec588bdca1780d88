"""What the demo prints: the live progress line and the closing summary (pure formatting)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from oms.demo.tally import Tally

LATENCY_ORDER = (
    "submit -> accepted (pending_new)", "submit -> ack (new)", "submit -> fill (marketable)",
    "cancel -> canceled", "replace -> replaced",
)


def progress_line(tally: Tally, elapsed_s: float, phase: str) -> str:
    orders = tally.commands["new_order"]
    rate = orders / elapsed_s if elapsed_s > 0 else 0.0
    return (
        f"{elapsed_s:6.1f}s {phase:<12} orders {orders:>6,}  cancels "
        f"{tally.commands['cancel']:>5,}  replaces {tally.commands['replace']:>5,} | "
        f"events {tally.events:>7,}  fills {tally.fills:>6,}  rejects {tally.rejects:>4,} | "
        f"{rate:5.1f} orders/s  open {len(tally.live_orders()):>4,}"
    )


def percentile(sorted_samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    if not sorted_samples:
        raise ValueError("no samples")
    rank = max(math.ceil(pct / 100 * len(sorted_samples)), 1)
    return sorted_samples[rank - 1]


@dataclass(frozen=True, slots=True)
class DatabaseView:
    """What the OMS itself recorded, read from its database after the run."""

    orders_by_status: Mapping[str, int]
    executions: int
    positions: Mapping[tuple[str, str], Decimal]


@dataclass(frozen=True, slots=True)
class WhereToLook:
    admin_url: str | None
    admin_note: str
    metrics_url: str
    health_url: str
    logs: Sequence[str]
    database: str
    settings_file: str
    extra: Sequence[str] = field(default_factory=tuple)


def summary(tally: Tally, elapsed_s: float, database: DatabaseView | None,
            where: WhereToLook) -> str:
    lines: list[str] = []
    add = lines.append
    commands = sum(tally.commands.values())
    add("")
    add("=" * 78)
    add("OMS demo: summary")
    add("=" * 78)
    add(f"ran {elapsed_s:.1f}s: {tally.commands['new_order']:,} orders, "
        f"{tally.commands['cancel']:,} cancels, {tally.commands['replace']:,} replaces "
        f"({commands / max(elapsed_s, 1e-9):.1f} commands/s); {tally.events:,} events received"
        f" ({tally.client_duplicates:,} duplicates dropped)")
    add("")
    add("orders by final state")
    for state, count in sorted(tally.final_states().items(), key=lambda kv: (-kv[1], kv[0])):
        add(f"  {state:<32}{count:>8,}")
    if tally.request_rejects:
        rejected = ", ".join(f"{n:,} {t}" for t, n in sorted(tally.request_rejects.items()))
        add(f"  (requests refused: {rejected}: mostly cancels that crossed a fill)")
    add("")
    add(f"fills: {tally.fills:,} executions")
    add(f"  {'symbol':<8}{'shares':>12}{'notional':>20}")
    for symbol in sorted(tally.notional):
        add(f"  {symbol:<8}{tally.filled_qty[symbol]:>12,}{_money(tally.notional[symbol]):>20}")
    add(f"  {'total':<8}{sum(tally.filled_qty.values()):>12,}"
        f"{_money(sum(tally.notional.values(), Decimal(0))):>20}")
    add("")
    lines.extend(_positions(tally, database))
    add("")
    lines.extend(_latencies(tally))
    if database is not None:
        add("")
        add(f"the OMS's database: {database.executions:,} executions, orders by status "
            + ", ".join(f"{s} {n:,}" for s, n in sorted(database.orders_by_status.items())))
    add("")
    lines.extend(_where(where))
    add("=" * 78)
    return "\n".join(lines)


def _positions(tally: Tally, database: DatabaseView | None) -> list[str]:
    keys = sorted(set(tally.positions) | set(database.positions if database else {}))
    out = ["positions (net shares; from this run's fills"
           + (", checked against the OMS's positions table)" if database else ")")]
    out.append(f"  {'account':<9}{'symbol':<8}{'strategy':>12}{'OMS':>12}")
    mismatches = 0
    for key in keys:
        mine = tally.positions.get(key, Decimal(0))
        theirs = database.positions.get(key, Decimal(0)) if database else None
        flag = ""
        if theirs is not None and theirs != mine:
            flag, mismatches = "  <- differs", mismatches + 1
        out.append(f"  {key[0]:<9}{key[1]:<8}{_qty(mine):>12}"
                   f"{_qty(theirs) if theirs is not None else '-':>12}{flag}")
    if database is not None:
        out.append("  the strategy and the OMS agree" if not mismatches
                   else f"  {mismatches} position(s) differ: see the logs")
    return out


def _latencies(tally: Tally) -> list[str]:
    out = ["latency, milliseconds (as the strategy saw it: publish + confirm ... event received)"]
    out.append(f"  {'':<34}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>9}{'n':>8}")
    for label in LATENCY_ORDER:
        samples = sorted(tally.latency.samples.get(label, []))
        if not samples:
            continue
        out.append(
            f"  {label:<34}{percentile(samples, 50):>8.1f}{percentile(samples, 90):>8.1f}"
            f"{percentile(samples, 99):>8.1f}{samples[-1]:>9.1f}{len(samples):>8,}"
        )
    return out


def _where(where: WhereToLook) -> list[str]:
    out = ["where to look next"]
    if where.admin_url:
        out.append(f"  admin pages    {where.admin_url}")
    out.append(f"                 {where.admin_note}" if where.admin_url
               else f"  admin pages    {where.admin_note}")
    out.append(f"  metrics        {where.metrics_url}")
    out.append(f"  health         {where.health_url}")
    out.append(f"  database       {where.database}")
    out.append(f"  settings file  {where.settings_file}")
    out.append(f"  logs           {where.logs[0]}" if where.logs else "  logs           -")
    out.extend(f"                 {path}" for path in where.logs[1:])
    out.extend(f"  {line}" for line in where.extra)
    return out


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"


def _qty(value: Decimal) -> str:
    return f"{value.normalize():+,f}" if value else "0"
