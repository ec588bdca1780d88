"""The demo's supervisor: children stop with their whole process group, and what a killed
demo left running is found by its pid files and stopped, never a stranger's process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oms.demo.processes import Supervisor, process_start_time, read_pid_file

pytestmark = pytest.mark.integration

# A child that starts a grandchild in its own group, as gunicorn starts its workers.
PARENT_WITH_WORKER = (
    "import subprocess, sys, time; "
    "w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
    "print(w.pid, flush=True); time.sleep(120)"
)


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_start_time(pid) is None:
            return True
        time.sleep(0.05)
    return False


def worker_pid(log: Path) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [line for line in log.read_text().splitlines() if line.strip().isdigit()]
        if lines:
            return int(lines[0])
        time.sleep(0.05)
    raise AssertionError(f"the child never printed its worker's pid: {log.read_text()}")


def test_stop_ends_the_child_and_its_workers_and_removes_the_pid_file(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, os.environ)
    child = supervisor.start("parent", [sys.executable, "-c", PARENT_WITH_WORKER])
    worker = worker_pid(child.log_path)
    assert read_pid_file(child.pid_path)[0] == child.process.pid
    supervisor.stop(timeout=5)
    assert child.exited is not None and wait_gone(worker)
    assert not child.pid_path.exists() and supervisor.children == []


def test_a_child_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \
               "print('ready', flush=True); time.sleep(120)"
    supervisor = Supervisor(tmp_path, os.environ)
    child = supervisor.start("stubborn", [sys.executable, "-c", stubborn])
    while "ready" not in child.log_path.read_text().splitlines():  # not the echoed argv
        time.sleep(0.05)
    supervisor.stop(timeout=0.5)
    assert child.exited == -signal.SIGKILL


def test_leftovers_of_an_earlier_run_are_stopped(tmp_path: Path) -> None:
    earlier = Supervisor(tmp_path, os.environ)
    child = earlier.start("gateway", [sys.executable, "-c", PARENT_WITH_WORKER])
    worker = worker_pid(child.log_path)
    # the earlier demo dies without stopping anything; a new one starts in the same directory
    stopped = Supervisor(tmp_path, os.environ).stop_leftovers(["gateway", "admin"])
    assert stopped == [f"gateway (pid {child.process.pid})"]
    child.process.wait(10)
    assert wait_gone(worker) and not (tmp_path / "gateway.pid").exists()


def test_a_pid_file_naming_another_process_is_ignored(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                                start_new_session=True)
    try:
        # same pid, but not the start time recorded: the pid was reused by someone else
        (tmp_path / "gateway.pid").write_text(f"{stranger.pid} 1\n")
        (tmp_path / "admin.pid").write_text("garbage\n")
        assert Supervisor(tmp_path, os.environ).stop_leftovers(["gateway", "admin"]) == []
        assert stranger.poll() is None
        assert not (tmp_path / "gateway.pid").exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_run_returns_the_exit_status_of_a_short_command(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, os.environ)
    assert supervisor.run("ok", [sys.executable, "-c", "print('hi')"], timeout=30) == 0
    assert supervisor.run("bad", [sys.executable, "-c", "raise SystemExit(3)"], timeout=30) == 3
    assert "hi" in (tmp_path / "ok.log").read_text() and supervisor.children == []
