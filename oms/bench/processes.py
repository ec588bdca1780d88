"""The full path's processes: the venue simulator (``oms.bench.venue_proc``) and the gateway
(``python -m oms.cli gateway``), each in its own process as in production, against the bench's
settings file, database, vhost and Redis prefix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from oms.bench.isolation import BenchStack


class VenueProcess:
    def __init__(self, stack: BenchStack) -> None:
        self._stack = stack
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        log = (self._stack.run_dir / "venue-sim.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oms.bench.venue_proc", str(self._stack.config_path),
             str(self._stack.run_dir / "venue-sim")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
        )
        if self._read() != "ready":
            raise RuntimeError(f"the venue simulator did not start; see {log.name}")

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def dump(self, path: Path) -> None:
        """Have the simulator write what it recorded since the last dump to ``path``."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(f"dump {path}\n")
        self.proc.stdin.flush()
        if self._read() != "dumped":
            raise RuntimeError("the venue simulator did not write its timestamps")

    def _read(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        if self.proc is None:
            return
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


class GatewayProcess:
    def __init__(self, stack: BenchStack) -> None:
        self._stack = stack
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = stack.run_dir / "gateway.log"

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def start(self, timeout_s: float = 60.0) -> None:
        state = self._stack.state
        env = os.environ | {
            "OMS_CONFIG": str(self._stack.config_path), "OMS_DATABASE_URL": state.database_url,
            "OMS_AMQP_URL": state.amqp_url, "OMS_REDIS_URL": state.redis_url,
            "OMS_REDIS_PREFIX": state.redis_prefix,
        }
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "oms.cli", "gateway", "--log-level", "WARNING"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        url = f"http://127.0.0.1:{self._stack.health_port}/readyz"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the gateway exited ({self.proc.returncode}); see {self.log}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the gateway was not ready within {timeout_s:.0f}s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
