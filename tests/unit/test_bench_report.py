"""The bench report: the skeleton section, the ratios full path / skeleton, the targets of issue
17 judged against the skeleton (or not judged without it), the bare loop's targets kept beside
them, and a summary that shows all of it within 100 columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oms.bench import report
from oms.bench.skeleton import not_run, translate

FIXTURE = Path(__file__).with_name("skeleton_path_quorum.json")
KEYS = ("p50", "p90", "p99", "p999", "max")


def _percentiles(p50: float) -> dict[str, Any]:
    """Percentiles rising from ``p50``, with a histogram object the report must leave out."""
    return dict(zip(KEYS, (p50, p50 * 2, p50 * 4, p50 * 8, p50 * 16), strict=True)) | {
        "count": 100, "mean": p50 * 1.5, "_histogram": object()}


def _bare() -> dict[str, Any]:
    return {"throughput_per_s": 10_000.0, "orders": 5000, "seconds": 0.5,
            "cpu_us_per_order": {"initiator": 40.0, "acceptor": 35.0, "total": 75.0},
            "round_trip_us": _percentiles(100.0)}


def _full(o2w_p50: float = 1_000.0, throughput: float = 1_200.0) -> dict[str, Any]:
    return {"throughput_per_s": throughput, "orders": 5000, "seconds": 4.0, "not_filled": 0,
            "cpu_us_per_order": {"gateway": 800.0, "venue_sim": 150.0, "strategy": 90.0,
                                 "postgres": 120.0, "rabbitmq": 300.0, "total": 1460.0},
            "latency": {"end_to_end": _percentiles(3_000.0), "order_to_wire": _percentiles(o2w_p50),
                        "venue": _percentiles(50.0), "wire_to_event": _percentiles(1_900.0),
                        "rate_per_s": 100.0, "not_filled": 0, "gateway_internal_us": {}}}


def _risk() -> dict[str, Any]:
    return _percentiles(5.0) | {"throughput_per_s": 150_000.0}


def _skeleton() -> dict[str, Any]:
    return translate(json.loads(FIXTURE.read_text()))


def _build(skeleton: dict[str, Any], full: dict[str, Any] | None = None) -> dict[str, Any]:
    return report.build(_bare(), full or _full(), _risk(), {"offered_rate_per_s": 100.0},
                        skeleton)


def _summary(document: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    report.print_summary(document, lines.append)
    return lines


def test_ratios_to_skeleton_are_full_path_over_skeleton() -> None:
    skeleton = _skeleton()
    document = _build(skeleton)
    ratios = document["ratios_to_skeleton"]
    assert document["skeleton"] is skeleton
    assert ratios["throughput"] == round(1_200.0 / skeleton["throughput_per_s"], 3)
    o2w = skeleton["order_to_wire_us"]
    assert ratios["order_to_wire_latency"] == {
        "p50": round(1_000.0 / o2w["p50"], 3), "p90": round(2_000.0 / o2w["p90"], 3),
        "p99": round(4_000.0 / o2w["p99"], 3)}
    e2e = skeleton["end_to_end_us"]
    assert ratios["end_to_end_latency"] == {"p50": round(3_000.0 / e2e["p50"], 3),
                                            "p99": round(12_000.0 / e2e["p99"], 3)}
    cpu = skeleton["cpu_us_per_order"]
    assert set(ratios["cpu_per_order"]) == {"gateway", "venue_sim", "strategy", "postgres",
                                            "rabbitmq", "total"}
    assert ratios["cpu_per_order"]["gateway"] == round(800.0 / cpu["gateway"], 3)
    assert "_histogram" not in json.dumps(document)  # serialisable, histograms left out


def test_targets_are_judged_against_the_skeleton() -> None:
    skeleton = _skeleton() | {
        "order_to_wire_us": {"p50": 1_000.0, "p90": 1_500.0, "p99": 2_000.0, "max": 9_000.0}}
    # the full path's p50 is 1.4 x the skeleton's (met), its p99 4 x 1,400 = 2.8 x (missed)
    full = _full(o2w_p50=1_400.0, throughput=0.4 * skeleton["throughput_per_s"])
    targets = _build(skeleton, full)["targets"]
    assert set(targets) == {"throughput_vs_skeleton", "order_to_wire_p50_vs_skeleton",
                            "order_to_wire_p99_vs_skeleton", "risk_check_p50_us"}
    assert targets["throughput_vs_skeleton"] | {"value": None} == {
        "value": None, "target": ">= 0.5", "met": False, "verdict": "MISSED"}
    assert targets["throughput_vs_skeleton"]["value"] == pytest.approx(0.4, abs=0.001)
    assert targets["order_to_wire_p50_vs_skeleton"] == {
        "value": 1.4, "target": "<= 1.5", "met": True, "verdict": "met"}
    assert targets["order_to_wire_p99_vs_skeleton"] == {
        "value": 2.8, "target": "<= 2.5", "met": False, "verdict": "MISSED"}
    assert targets["risk_check_p50_us"] == {"value": 5.0, "target": "<= 20", "met": True,
                                            "verdict": "met"}


def test_the_bare_loop_targets_of_issue_8_are_kept_for_information() -> None:
    kept = _build(_skeleton())["bare_loop_targets"]
    assert kept["throughput_ratio"]["value"] == 0.12
    assert kept["throughput_ratio"]["met"] is False
    assert kept["order_to_wire_p50_us"] == {"value": 1_000.0, "target": "<= 1000", "met": True,
                                            "verdict": "met"}
    assert kept["order_to_wire_p99_us"]["met"] is True


def test_without_the_skeleton_its_targets_are_not_judged() -> None:
    document = _build(not_run("no ../shared/anchors/skeleton_path.py: pass --anchors DIR"))
    assert document["ratios_to_skeleton"] is None
    for name in ("throughput_vs_skeleton", "order_to_wire_p50_vs_skeleton",
                 "order_to_wire_p99_vs_skeleton"):
        assert document["targets"][name]["met"] is None
        assert document["targets"][name]["verdict"] == "not judged: skeleton not run"
    assert document["targets"]["risk_check_p50_us"]["met"] is True
    json.dumps(document)


def test_summary_shows_the_skeleton_beside_the_full_path_within_100_columns() -> None:
    skeleton = _skeleton()
    lines = _summary(_build(skeleton))
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    text = "\n".join(lines)
    assert "x bare loop" in text and "x skeleton" in text
    row = next(line for line in lines if line.startswith("  skeleton path ("))
    assert f"{skeleton['throughput_per_s']:.0f}" in row
    full_row = next(line for line in lines if line.startswith("  full path (strategy"))
    assert full_row.split()[-1] == f"{1_200.0 / skeleton['throughput_per_s']:.3f}"
    o2w = next(line for line in lines if line.startswith("  order to wire, skeleton"))
    assert o2w.split()[-5:] == [f"{skeleton['order_to_wire_us'][k]:.1f}" if k != "p999"
                                else "-" for k in KEYS]
    assert sum(line.startswith("    full path x skeleton") for line in lines) == 2
    gateway = next(line for line in lines if line.startswith("  gateway "))
    assert gateway.split() == [
        "gateway", "800.0", f"{skeleton['cpu_us_per_order']['gateway']:.1f}",
        f"{800.0 / skeleton['cpu_us_per_order']['gateway']:.2f}"]
    assert [line.split()[0] for line in lines
            if line.startswith("  ") and line.split()[0] in {"total", "gateway"}] == [
        "gateway", "total"]
    assert "  throughput_vs_skeleton >= 0.5: " in text
    assert "issue 8 targets" in text and "  order_to_wire_p50_us <= 1000: 1000 met" in text


def test_summary_without_the_skeleton_says_why_and_still_shows_the_full_path() -> None:
    lines = _summary(_build(not_run("OMS_ANCHORS_DIR=/nowhere: no skeleton_path.py there")))
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 100
    assert "skeleton: not run (OMS_ANCHORS_DIR=/nowhere: no skeleton_path.py there)" in text
    assert not any(line.startswith("  skeleton path") for line in lines)
    assert "order to wire, skeleton" not in text
    assert "  order_to_wire_p50_vs_skeleton <= 1.5: not judged: skeleton not run" in text
    gateway = next(line for line in lines if line.startswith("  gateway "))
    assert gateway.split() == ["gateway", "800.0", "-", "-"]
