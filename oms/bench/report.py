"""The benchmark's figures: the JSON document, the targets, the ratios to the bare loop, and
the summary printed at the end of a run."""

from __future__ import annotations

from typing import Any

from oms.bench.progress import Echo

LATENCY_KEYS = ("p50", "p90", "p99", "p999", "max")
TARGETS = {
    "throughput_ratio": (">=", 0.5),
    "order_to_wire_p50_us": ("<=", 1_000.0),
    "order_to_wire_p99_us": ("<=", 5_000.0),
    "risk_check_p50_us": ("<=", 20.0),
}


def latency(figures: dict[str, Any]) -> dict[str, float]:
    """The percentiles (us), and the count and mean when known."""
    kept = {k: round(float(figures[k]), 1) for k in LATENCY_KEYS}
    for extra in ("mean", "count"):
        if extra in figures:
            kept[extra] = float(figures[extra])
    return kept


def _ratios(figures: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    return {k: round(figures[k] / reference[k], 3) if reference.get(k) else 0.0
            for k in LATENCY_KEYS}


def build(bare: dict[str, Any], full: dict[str, Any], risk: dict[str, Any],
          meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document (histogram objects are left out; see ``histograms``)."""
    lat = full["latency"]
    bare_rt = latency(bare["round_trip_us"])
    document: dict[str, Any] = dict(meta)
    document["bare_loop"] = _without_private(bare) | {"round_trip_us": bare_rt}
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
    document["targets"] = targets({
        "throughput_ratio": document["throughput_ratio"],
        "order_to_wire_p50_us": document["order_to_wire_us"]["p50"],
        "order_to_wire_p99_us": document["order_to_wire_us"]["p99"],
        "risk_check_p50_us": float(risk["p50"]),
    })
    return document


def targets(values: dict[str, float]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for name, (op, limit) in TARGETS.items():
        value = values[name]
        met = value >= limit if op == ">=" else value <= limit
        result[name] = {"value": value, "target": f"{op} {limit:g}", "met": met}
    return result


def _without_private(value: Any) -> Any:
    """``value`` without the keys starting with ``_`` (histogram objects), at any depth."""
    if isinstance(value, dict):
        return {k: _without_private(v) for k, v in value.items() if not k.startswith("_")}
    return value


def print_summary(document: dict[str, Any], echo: Echo) -> None:
    bare, full = document["bare_loop"], document["full_path"]
    risk, ratios = document["risk_check"], document["ratios_to_bare_loop"]
    bare_tp = bare["throughput_per_s"]
    rate = full["latency"]["rate_per_s"]
    echo("")
    echo(f"throughput, pipelined (orders/s)            {'':>10}  x bare loop")
    echo(f"  bare loop (quickfix -> quickfix)          {bare_tp:>10.0f}  1.000")
    echo(f"  full path (strategy ... strategy)         {full['throughput_per_s']:>10.0f}  "
         f"{ratios['full_path_throughput']:.3f}")
    echo(f"  risk check alone (checks/s)               {risk['throughput_per_s']:>10.0f}  "
         f"{ratios['risk_check_throughput']:.3f}")
    echo("")
    echo(f"latency at {rate:.0f} orders/s, us (x bare loop round trip)   "
         + "  ".join(f"{k:>15}" for k in LATENCY_KEYS))
    rows = [
        ("bare loop round trip", bare["round_trip_us"], None),
        ("full path end to end", document["end_to_end_us"], ratios["end_to_end_latency"]),
        ("  order to wire", document["order_to_wire_us"], ratios["order_to_wire_latency"]),
        ("  wire to event", document["wire_to_event_us"], ratios["wire_to_event_latency"]),
        ("risk check", {k: risk[k] for k in LATENCY_KEYS}, ratios["risk_check_latency"]),
    ]
    for name, figures, ratio in rows:
        cells = [f"{figures[k]:>8.1f} ({ratio[k]:5.2f})" if ratio else f"{figures[k]:>15.1f}"
                 for k in LATENCY_KEYS]
        echo(f"  {name:<44}" + "  ".join(cells))
    cpu = full.get("cpu_us_per_order") or {}
    if cpu:
        echo("")
        echo("CPU per order, us: full path " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items())
             + "; bare loop " + ", ".join(
                 f"{k} {v:.0f}" for k, v in (bare.get("cpu_us_per_order") or {}).items()))
    echo("")
    for name, target in document["targets"].items():
        mark = "met" if target["met"] else "MISSED"
        echo(f"target {name} {target['target']}: {target['value']:g} {mark}")
