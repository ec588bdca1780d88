"""The demo's child processes: started with their output in a log file each, stopped in order,
and never left behind.

- Each child runs in a process group of its own (so a terminal's Ctrl-C reaches only the demo,
  which then stops the children in order) and, on Linux, gets SIGTERM if the demo dies.
- A pid file per child records its pid and start time. A later run stops what an earlier run
  left (a demo killed with SIGKILL), after checking that the pid still names that process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    pid_path: Path

    @property
    def exited(self) -> int | None:
        """The exit code once the process has ended, else None."""
        return self.process.poll()


def oms_command(*args: str) -> list[str]:
    """The ``oms`` command of this installation (the same interpreter as the demo)."""
    return [sys.executable, "-m", "oms.cli", *args]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGTERM this child when the demo process ends, however it ends."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(self, run_dir: Path, env: Mapping[str, str]) -> None:
        self.run_dir = run_dir
        self.env = dict(env)
        self.children: list[Child] = []

    def start(self, name: str, argv: Sequence[str], *, extra_env: Mapping[str, str] = {}) -> Child:
        log_path = self.run_dir / f"{name}.log"
        pid_path = self.run_dir / f"{name}.pid"
        out: IO[bytes]
        with log_path.open("ab") as out:
            out.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
                      f"{' '.join(argv)}\n".encode())
            out.flush()
            process = subprocess.Popen(
                list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**self.env, **extra_env}, start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
        pid_path.write_text(f"{process.pid} {process_start_time(process.pid) or ''}\n")
        child = Child(name, process, log_path, pid_path)
        self.children.append(child)
        return child

    def run(self, name: str, argv: Sequence[str], timeout: float) -> int:
        """Run a short command to its end (its output appended to ``<name>.log``)."""
        child = self.start(name, argv)
        try:
            return child.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop([child])
            raise
        finally:
            self.children.remove(child)
            child.pid_path.unlink(missing_ok=True)

    def dead(self) -> list[Child]:
        return [c for c in self.children if c.exited is not None]

    def stop(self, children: Sequence[Child] | None = None, timeout: float = 15.0) -> None:
        """SIGTERM each child's process group, wait up to ``timeout``, then SIGKILL."""
        targets = list(self.children if children is None else children)
        for child in targets:
            if child.exited is None:
                _signal_group(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in targets:
            try:
                child.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs: killing it", child.name, timeout)
                _signal_group(child.process.pid, signal.SIGKILL)
                child.process.wait(5)
            # whatever else is left in its group (gunicorn workers...) goes too
            _signal_group(child.process.pid, signal.SIGKILL)
            child.pid_path.unlink(missing_ok=True)
        self.children = [c for c in self.children if c not in targets]

    def stop_leftovers(self, names: Sequence[str]) -> list[str]:
        """Stop what an earlier run left running; returns what was stopped, for the user."""
        stopped: list[str] = []
        for name in names:
            pid_path = self.run_dir / f"{name}.pid"
            pid, started = read_pid_file(pid_path)
            if pid is not None and started is not None and process_start_time(pid) == started:
                _signal_group(pid, signal.SIGTERM)
                if not _wait_gone(pid, 10.0):
                    _signal_group(pid, signal.SIGKILL)
                    _wait_gone(pid, 5.0)
                stopped.append(f"{name} (pid {pid})")
            pid_path.unlink(missing_ok=True)
        return stopped


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_start_time(pid) is None:
            return True
        time.sleep(0.1)
    return False


def read_pid_file(path: Path) -> tuple[int | None, str | None]:
    try:
        parts = path.read_text().split()
    except OSError:
        return None, None
    if not parts or not parts[0].isdigit():
        return None, None
    return int(parts[0]), (parts[1] if len(parts) > 1 else None)


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (``/proc/<pid>/stat`` field 22), or None when no such
    process is running (a zombie counts as gone). Tells a live process from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if not fields or fields[0] == "Z":
        return None
    return fields[19] if len(fields) > 19 else None
