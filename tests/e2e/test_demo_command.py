"""``oms demo`` end to end, in a database, vhost and Redis prefix of the test run's own and on
free ports: it trades, prints a summary that agrees with the database, and leaves nothing
running, whether it ends by itself or by Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oms.demo.isolation import DemoState, drop_state
from oms.demo.processes import process_start_time, read_pid_file

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHILDREN = ("gateway", "venue-sim", "admin")


@pytest.fixture
def demo_name(run_id: str) -> Iterator[str]:
    name = f"oms_test_{run_id}_demo".lower()
    yield name
    drop_state(DemoState.derive(
        name, database_url="postgresql+psycopg://postgres@127.0.0.1:5432/x",
        amqp_url="amqp://guest:guest@127.0.0.1:5672/%2F", redis_url="redis://127.0.0.1:6379/0",
    ))


def demo(name: str, run_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "demo", "--name", name, "--run-dir", str(run_dir),
         "--any-free-port", "--rate", "30", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "OMS_CONFIG": str(REPO / "config" / "oms.toml")},
    )


def child_pids(run_dir: Path) -> list[tuple[int, str | None]]:
    found = [read_pid_file(run_dir / f"{name}.pid") for name in CHILDREN]
    return [(pid, started) for pid, started in found if pid is not None]


def assert_nothing_left(run_dir: Path, pids: list[tuple[int, str | None]]) -> None:
    assert child_pids(run_dir) == [], "pid files left behind"
    for pid, started in pids:
        assert started is None or process_start_time(pid) != started, f"pid {pid} still runs"


def test_the_demo_trades_summarises_and_stops_everything(demo_name: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "demo"
    process = demo(demo_name, run_dir, "--duration", "5", "--no-keep-running")
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output
    for expected in ("gateway ready", "orders by final state", "filled", "canceled",
                     "the strategy and the OMS agree", "submit -> ack (new)",
                     "where to look next", "[demo] stopped"):
        assert expected in output, f"{expected!r} missing from:\n{output}"
    assert (run_dir / "gateway.log").stat().st_size > 0
    assert_nothing_left(run_dir, [])
    # a second run in the same place needs no clean-up
    again = demo(demo_name, run_dir, "--duration", "2", "--no-keep-running")
    output, _ = again.communicate(timeout=240)
    assert again.returncode == 0 and "the strategy and the OMS agree" in output, output


def test_ctrl_c_summarises_the_run_so_far_and_stops_all_processes(
    demo_name: str, tmp_path: Path,
) -> None:
    run_dir = tmp_path / "demo"
    process = demo(demo_name, run_dir, "--duration", "120", "--no-keep-running")
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    for line in process.stdout:
        lines.append(line)
        if "sample strategy" in line or time.monotonic() > deadline:
            break
    time.sleep(3)  # trading
    pids = child_pids(run_dir)
    assert len(pids) >= 2, "".join(lines)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=180)  # bounded: draining and stopping, on a busy host
    assert process.returncode == 130, "".join(lines) + output
    assert "interrupted: the run so far" in output and "orders by final state" in output
    assert "[demo] stopped" in output
    assert_nothing_left(run_dir, pids)
