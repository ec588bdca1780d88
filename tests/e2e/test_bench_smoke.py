"""``oms bench`` runs end to end with tiny counts, against a database, vhost and Redis prefix of
the test run's own, and writes its JSON and plot. No figure is judged here (no timed
assertions): only that every figure is there and is a sane, non-negative number. The skeleton
path runs when ../shared/anchors is found (see docs/benchmarks.md); otherwise the report must
say why it did not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oms.demo.isolation import DemoState, drop_state

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PERCENTILES = ("p50", "p90", "p99", "p999", "max")


@pytest.fixture
def bench_name(run_id: str) -> Iterator[str]:
    name = f"oms_test_{run_id}_bench".lower()
    yield name
    drop_state(DemoState.derive(
        name, database_url="postgresql+psycopg://postgres@127.0.0.1:5432/x",
        amqp_url="amqp://guest:guest@127.0.0.1:5672/%2F", redis_url="redis://127.0.0.1:6379/0",
    ))


def _sane_percentiles(figures: dict[str, Any]) -> None:
    values = [figures[k] for k in PERCENTILES]
    assert all(isinstance(v, int | float) and v >= 0 for v in values), figures
    assert values == sorted(values), figures


def test_oms_bench_measures_everything_and_writes_json_and_plot(
    bench_name: str, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "oms.cli", "bench", "--quick", "--orders", "200", "--seconds",
         "1", "--rate", "100", "--json", str(out), "--name", bench_name,
         "--run-dir", str(tmp_path / "run")],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=420,
        env={**os.environ, "OMS_CONFIG": str(REPO / "config" / "oms.toml")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "full path" in result.stderr  # progress is shown while it runs
    assert "x bare loop" in result.stdout  # every figure beside its ratio to the bare loop
    document = json.loads(out.read_text())
    assert document["bare_loop"]["throughput_per_s"] > 0
    assert document["full_path"]["throughput_per_s"] > 0
    assert document["throughput_ratio"] > 0
    for key in ("order_to_wire_us", "wire_to_event_us", "end_to_end_us"):
        _sane_percentiles(document[key])
    _sane_percentiles(document["bare_loop"]["round_trip_us"])
    _sane_percentiles(document["risk_check"])
    assert document["full_path"]["latency"]["end_to_end_us"]["count"] == 100
    assert document["full_path"]["not_filled"] == 0
    assert set(document["targets"]) == {"throughput_vs_skeleton", "order_to_wire_p50_vs_skeleton",
                                        "order_to_wire_p99_vs_skeleton", "risk_check_p50_us"}
    assert set(document["bare_loop_targets"]) == {"throughput_ratio", "order_to_wire_p50_us",
                                                  "order_to_wire_p99_us"}
    skeleton = document["skeleton"]
    if skeleton["ran"]:
        assert skeleton["throughput_per_s"] > 0
        assert skeleton["latency_orders"] == 100
        for key in ("order_to_wire_us", "end_to_end_us"):
            assert 0 <= skeleton[key]["p50"] <= skeleton[key]["p99"] <= skeleton[key]["max"]
        assert document["ratios_to_skeleton"]["throughput"] > 0
        assert "x skeleton" in result.stdout
    else:
        assert f"skeleton: not run ({skeleton['reason']})" in result.stdout
        assert document["targets"]["throughput_vs_skeleton"]["met"] is None
    assert Path(document["plot"]).stat().st_size > 0
