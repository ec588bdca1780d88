"""The benchmark's figures: the JSON document, the targets, the ratios to the skeleton path and
to the bare loop, and the summary printed at the end of a run.

Issue 17 judges the OMS against the skeleton path of the same run (``oms.bench.skeleton``): the
same durable hops with no business logic, on the same machine at the same time, so the ratios
say what the OMS's own code costs whatever the machine. The absolute targets of issue 8 (and
the ratio to the bare quickfix loop) are kept beside them, for information."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oms.bench.progress import Echo

LATENCY_KEYS = ("p50", "p90", "p99", "p999", "max")
TargetTable = Mapping[str, tuple[str, float]]
TARGETS: TargetTable = {  # issue 17: against the skeleton of the same run
    "throughput_vs_skeleton": (">=", 0.5),
    "order_to_wire_p50_vs_skeleton": ("<=", 1.5),
    "order_to_wire_p99_vs_skeleton": ("<=", 2.5),
    "risk_check_p50_us": ("<=", 20.0),
}
BARE_LOOP_TARGETS: TargetTable = {  # issue 8: absolute, and against the bare loop
    "throughput_ratio": (">=", 0.5),
    "order_to_wire_p50_us": ("<=", 1_000.0),
    "order_to_wire_p99_us": ("<=", 5_000.0),
}
SKELETON_NOT_RUN = "not judged: skeleton not run"


def latency(figures: dict[str, Any]) -> dict[str, float]:
    """The percentiles (us), and the count and mean when known."""
    kept = {k: round(float(figures[k]), 1) for k in LATENCY_KEYS}
    for extra in ("mean", "count"):
        if extra in figures:
            kept[extra] = float(figures[extra])
    return kept


def _ratio(value: float, reference: float | None) -> float | None:
    """``value / reference``, or None when there is no reference to divide by."""
    return round(value / reference, 3) if reference else None


def _ratios(figures: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    return {k: round(figures[k] / reference[k], 3) if reference.get(k) else 0.0
            for k in LATENCY_KEYS}


def build(bare: dict[str, Any], full: dict[str, Any], risk: dict[str, Any],
          meta: dict[str, Any], skeleton: dict[str, Any]) -> dict[str, Any]:
    """The JSON document (histogram objects are left out; see ``histograms``). ``skeleton`` is
    ``oms.bench.skeleton``'s section: its figures, or ``ran`` false and the reason."""
    lat = full["latency"]
    bare_rt = latency(bare["round_trip_us"])
    document: dict[str, Any] = dict(meta)
    document["bare_loop"] = _without_private(bare) | {"round_trip_us": bare_rt}
    document["skeleton"] = skeleton
    document["full_path"] = _without_private(full) | {"latency": {
        f"{name}_us": latency(lat[name])
        for name in ("end_to_end", "order_to_wire", "venue", "wire_to_event")
    } | {"rate_per_s": lat["rate_per_s"], "not_filled": lat["not_filled"],
         "gateway_internal_us": lat["gateway_internal_us"]}}
    document["risk_check"] = _without_private(risk)
    document["throughput_ratio"] = round(full["throughput_per_s"] / bare["throughput_per_s"], 3)
    document["order_to_wire_us"] = latency(lat["order_to_wire"])
    document["wire_to_event_us"] = latency(lat["wire_to_event"])
    document["end_to_end_us"] = latency(lat["end_to_end"])
    document["ratios_to_bare_loop"] = {
        "full_path_throughput": document["throughput_ratio"],
        "risk_check_throughput": round(risk["throughput_per_s"] / bare["throughput_per_s"], 3),
        "end_to_end_latency": _ratios(document["end_to_end_us"], bare_rt),
        "order_to_wire_latency": _ratios(document["order_to_wire_us"], bare_rt),
        "wire_to_event_latency": _ratios(document["wire_to_event_us"], bare_rt),
        "risk_check_latency": _ratios(latency(risk), bare_rt),
    }
    ratios = document["ratios_to_skeleton"] = ratios_to_skeleton(document, skeleton)
    o2w = (ratios or {}).get("order_to_wire_latency", {})
    document["targets"] = targets(TARGETS, {
        "throughput_vs_skeleton": (ratios or {}).get("throughput"),
        "order_to_wire_p50_vs_skeleton": o2w.get("p50"),
        "order_to_wire_p99_vs_skeleton": o2w.get("p99"),
        "risk_check_p50_us": float(risk["p50"]),
    }, not_judged=SKELETON_NOT_RUN if ratios is None else "not judged: a skeleton figure is 0")
    document["bare_loop_targets"] = targets(BARE_LOOP_TARGETS, {
        "throughput_ratio": document["throughput_ratio"],
        "order_to_wire_p50_us": document["order_to_wire_us"]["p50"],
        "order_to_wire_p99_us": document["order_to_wire_us"]["p99"],
    }, not_judged="not judged")
    return document


def ratios_to_skeleton(document: dict[str, Any],
                       skeleton: dict[str, Any]) -> dict[str, Any] | None:
    """Full path / skeleton for throughput, order-to-wire p50/p90/p99, end-to-end p50/p99 and
    each process group's CPU per order; None when the skeleton did not run."""
    if not skeleton.get("ran"):
        return None
    o2w, e2e = document["order_to_wire_us"], document["end_to_end_us"]
    full_cpu = document["full_path"].get("cpu_us_per_order") or {}
    skel_cpu = skeleton["cpu_us_per_order"]
    return {
        "throughput": _ratio(document["full_path"]["throughput_per_s"],
                             skeleton["throughput_per_s"]),
        "order_to_wire_latency": {k: _ratio(o2w[k], skeleton["order_to_wire_us"][k])
                                  for k in ("p50", "p90", "p99")},
        "end_to_end_latency": {k: _ratio(e2e[k], skeleton["end_to_end_us"][k])
                               for k in ("p50", "p99")},
        "cpu_per_order": {k: _ratio(v, skel_cpu[k]) for k, v in full_cpu.items()
                          if k in skel_cpu},
    }


def targets(table: TargetTable, values: Mapping[str, float | None], *,
            not_judged: str) -> dict[str, dict[str, Any]]:
    """Each target's value, limit and verdict; a value of None is ``not_judged``."""
    result: dict[str, dict[str, Any]] = {}
    for name, (op, limit) in table.items():
        value = values[name]
        met = None if value is None else (value >= limit if op == ">=" else value <= limit)
        verdict = not_judged if met is None else ("met" if met else "MISSED")
        result[name] = {"value": value, "target": f"{op} {limit:g}", "met": met,
                        "verdict": verdict}
    return result


def _without_private(value: Any) -> Any:
    """``value`` without the keys starting with ``_`` (histogram objects), at any depth."""
    if isinstance(value, dict):
        return {k: _without_private(v) for k, v in value.items() if not k.startswith("_")}
    return value


def _num(value: float | None, spec: str, width: int) -> str:
    return f"{value:>{width}{spec}}" if value is not None else f"{'-':>{width}}"


def print_summary(document: dict[str, Any], echo: Echo) -> None:
    """Three tables (throughput, latency, CPU per order), each within 100 columns, then the
    targets. The skeleton's figures sit beside the full path's with the ratio full/skeleton."""
    skeleton = document["skeleton"]
    echo("")
    if not skeleton.get("ran"):
        echo(f"skeleton: not run ({skeleton['reason']})")
    _print_throughput(document, echo)
    _print_latency(document, echo)
    _print_cpu(document, echo)
    _print_targets(document, echo)


def _print_throughput(document: dict[str, Any], echo: Echo) -> None:
    bare, full, risk = document["bare_loop"], document["full_path"], document["risk_check"]
    skeleton, vs_bare = document["skeleton"], document["ratios_to_bare_loop"]
    to_skeleton = document["ratios_to_skeleton"] or {}
    rows: list[tuple[str, float, float | None, float | None]] = [
        ("bare loop (quickfix -> quickfix)", bare["throughput_per_s"], 1.0, None)]
    if skeleton.get("ran"):
        rows.append((f"skeleton path ({skeleton['queue']}, sync commit "
                     f"{skeleton['synchronous_commit']})", skeleton["throughput_per_s"],
                     _ratio(skeleton["throughput_per_s"], bare["throughput_per_s"]), 1.0))
    rows += [
        ("full path (strategy ... strategy)", full["throughput_per_s"],
         vs_bare["full_path_throughput"], to_skeleton.get("throughput")),
        ("risk check alone (checks/s)", risk["throughput_per_s"],
         vs_bare["risk_check_throughput"], None),
    ]
    echo(f"{'throughput, pipelined':<42}{'orders/s':>10}{'x bare loop':>13}{'x skeleton':>12}")
    for name, value, ratio_bare, ratio_skeleton in rows:
        echo(f"  {name:<40}{value:>10.0f}{_num(ratio_bare, '.3f', 13)}"
             f"{_num(ratio_skeleton, '.3f', 12)}")


def _print_latency(document: dict[str, Any], echo: Echo) -> None:
    bare, risk, skeleton = document["bare_loop"], document["risk_check"], document["skeleton"]
    vs_bare, to_skeleton = document["ratios_to_bare_loop"], document["ratios_to_skeleton"] or {}
    ran = bool(skeleton.get("ran"))
    rate = document["full_path"]["latency"]["rate_per_s"]
    rows: list[tuple[str, Mapping[str, float | None], str]] = [
        ("bare loop round trip", bare["round_trip_us"], ".1f")]
    for hop, title in (("order_to_wire", "order to wire"), ("end_to_end", "end to end")):
        rows.append((f"{title}, full path", document[f"{hop}_us"], ".1f"))
        if ran:
            rows += [(f"{title}, skeleton", skeleton[f"{hop}_us"], ".1f"),
                     ("  full path x skeleton", to_skeleton[f"{hop}_latency"], ".2f")]
        rows.append(("  full path x bare loop round trip", vs_bare[f"{hop}_latency"], ".2f"))
    rows += [("wire to event, full path", document["wire_to_event_us"], ".1f"),
             ("  x bare loop round trip", vs_bare["wire_to_event_latency"], ".2f"),
             ("risk check", risk, ".1f")]
    echo("")
    echo(f"{f'latency at {rate:g} orders/s, us':<40}"
         + "".join(f"{'p99.9' if k == 'p999' else k:>10}" for k in LATENCY_KEYS))
    for name, figures, spec in rows:
        echo(f"  {name:<38}" + "".join(_num(figures.get(k), spec, 10) for k in LATENCY_KEYS))


def _print_cpu(document: dict[str, Any], echo: Echo) -> None:
    full_cpu = document["full_path"].get("cpu_us_per_order") or {}
    skeleton = document["skeleton"]
    skel_cpu = skeleton.get("cpu_us_per_order") or {}
    ratios = (document["ratios_to_skeleton"] or {}).get("cpu_per_order", {})
    if not full_cpu and not skel_cpu:
        return
    echo("")
    echo(f"{'CPU per order, us (pipelined)':<32}{'full path':>12}{'skeleton':>12}"
         f"{'x skeleton':>12}")
    names = [*full_cpu, *(k for k in skel_cpu if k not in full_cpu)]
    names.sort(key=lambda k: k == "total")  # the total last
    for name in names:
        echo(f"  {name:<30}{_num(full_cpu.get(name), '.1f', 12)}"
             f"{_num(skel_cpu.get(name), '.1f', 12)}{_num(ratios.get(name), '.2f', 12)}")
    if skeleton.get("ran"):
        echo(f"  (skeleton: every postgres process of the server "
             f"{skeleton['postgres_all_cpu_us_per_order']:.1f})")
    bare_cpu = document["bare_loop"].get("cpu_us_per_order") or {}
    if bare_cpu:
        echo("  bare loop: " + ", ".join(f"{k} {v:.1f}" for k, v in bare_cpu.items()))


def _print_targets(document: dict[str, Any], echo: Echo) -> None:
    for title, key in (("targets (issue 17, against the skeleton of this run)", "targets"),
                       ("issue 8 targets (absolute and x bare loop; informational)",
                        "bare_loop_targets")):
        echo("")
        echo(title)
        for name, target in document[key].items():
            value = "" if target["value"] is None else f"{target['value']:g} "
            echo(f"  {name} {target['target']}: {value}{target['verdict']}")
