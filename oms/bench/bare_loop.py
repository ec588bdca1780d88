"""The reference: a Python quickfix initiator sending NewOrderSingle to a Python quickfix
acceptor (its own process) that fills each one. Nothing else: no broker, no database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import quickfix as fix

from oms.bench import cpu
from oms.bench.fix_session import new_order_single, session_id, session_settings
from oms.bench.ports import free_port
from oms.bench.progress import Echo, Ticker
from oms.bench.stats import Schedule, histogram_of, summary_us

WINDOW = 1_000
"""Orders in flight at most while pipelining. Unbounded, both sides' socket buffers filled up:
the acceptor, blocked sending fills, stopped reading, and the initiator's sender, blocked in
quickfix with the GIL held, kept the initiator's reader from taking the fills: a deadlock."""


class _Initiator(fix.Application):  # type: ignore[misc]  # quickfix has no stubs
    """Counts fills; records when each ClOrdID ``B<k>`` was answered (time.monotonic_ns)."""

    def __init__(self) -> None:
        super().__init__()
        self.logged_on = threading.Event()
        self.done = threading.Event()
        self.received: list[int] = []
        self.count = 0
        self.expected = 0

    def expect(self, orders: int) -> None:
        self.received = [0] * orders
        self.count = 0
        self.expected = orders
        self.done.clear()

    def onCreate(self, session_id: Any) -> None:  # noqa: N802 - quickfix's names
        return None

    def onLogon(self, session_id: Any) -> None:  # noqa: N802
        self.logged_on.set()

    def onLogout(self, session_id: Any) -> None:  # noqa: N802
        self.logged_on.clear()

    def toAdmin(self, message: Any, session_id: Any) -> None:  # noqa: N802
        return None

    def fromAdmin(self, message: Any, session_id: Any) -> None:  # noqa: N802
        return None

    def toApp(self, message: Any, session_id: Any) -> None:  # noqa: N802
        return None

    def fromApp(self, message: Any, session_id: Any) -> None:  # noqa: N802
        now = time.monotonic_ns()
        index = int(message.getField(11)[1:])
        if index < len(self.received):
            self.received[index] = now
        self.count += 1
        if self.count >= self.expected:
            self.done.set()


class BareLoop:
    """The acceptor process and the initiator session, started and stopped together."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.app = _Initiator()
        self._acceptor: subprocess.Popen[str] | None = None
        self._initiator: Any = None
        self._keep: tuple[Any, ...] = ()
        self._session = session_id(initiator=True)

    def start(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        self._acceptor = subprocess.Popen(
            [sys.executable, "-m", "oms.bench.bare_acceptor", str(self.port),
             str(self.data_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._acceptor.stdout is not None
        if self._acceptor.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare-loop acceptor did not start")
        settings = session_settings(initiator=True, port=self.port, data_dir=self.data_dir)
        store = fix.FileStoreFactory(settings)
        self._initiator = fix.ThreadedSocketInitiator(self.app, store, settings)
        self._keep = (settings, store)
        self._initiator.start()
        if not self.app.logged_on.wait(15):
            raise RuntimeError("the bare-loop session did not log on")

    def stop(self) -> None:
        if self._initiator is not None:
            self._initiator.stop()
            self._initiator = None
            self._keep = ()
        if self._acceptor is not None:
            assert self._acceptor.stdin is not None
            self._acceptor.stdin.close()
            try:
                self._acceptor.wait(10)
            except subprocess.TimeoutExpired:
                self._acceptor.kill()
            self._acceptor = None

    def _send(self, index: int) -> None:
        side = "1" if index % 2 else "2"
        fix.Session.sendToTarget(new_order_single(f"B{index}", side), self._session)

    def throughput(self, orders: int, tick: Ticker) -> dict[str, Any]:
        """Send ``orders`` back to back; orders per second until the last fill arrives."""
        self.app.expect(orders)
        cpu_before = self._cpu()
        started = time.monotonic_ns()
        for index in range(orders):
            while index - self.app.count >= WINDOW:
                time.sleep(0.0002)  # bounded in flight, as the full path's prefetch bounds it
            self._send(index)
            if index % 1000 == 0:
                tick(f"  bare loop throughput: {index}/{orders} sent, "
                     f"{self.app.count} filled")
        if not self.app.done.wait(120):
            raise RuntimeError(f"bare loop: {self.app.count}/{orders} fills after 120 s")
        elapsed = (max(self.app.received) - started) / 1e9
        return {"orders": orders, "seconds": round(elapsed, 3),
                "throughput_per_s": round(orders / elapsed, 1),
                "cpu_us_per_order": cpu.per_order_us(cpu_before, self._cpu(), orders)}

    def _cpu(self) -> dict[str, float]:
        acceptor = self._acceptor.pid if self._acceptor is not None else 0
        return cpu.snapshot({"initiator": os.getpid(), "acceptor": acceptor})

    def latency(self, orders: int, rate: float, tick: Ticker) -> dict[str, Any]:
        """``orders`` at ``rate``/s on a fixed schedule; round trip from the intended send."""
        self.app.expect(orders)
        schedule = Schedule(rate, time.monotonic_ns() + 10_000_000)
        intended = [0] * orders
        for index in range(orders):
            intended[index] = schedule.wait_for(index)
            self._send(index)
            tick(f"  bare loop latency at {rate:.0f}/s: {index}/{orders} sent")
        if not self.app.done.wait(60):
            raise RuntimeError(f"bare loop: {self.app.count}/{orders} fills after 60 s")
        histogram = histogram_of(r - i for r, i in zip(self.app.received, intended,
                                                       strict=True))
        return summary_us(histogram) | {"rate_per_s": rate, "_histogram": histogram}


def run_bare_loop(data_dir: Path, *, throughput_orders: int, latency_orders: int,
                  rate: float, echo: Echo) -> dict[str, Any]:
    tick = Ticker(echo)
    loop = BareLoop(data_dir)
    echo("bare loop: starting the acceptor process and the initiator session")
    loop.start()
    try:
        loop.throughput(min(1000, throughput_orders), tick)  # warm up
        result: dict[str, Any] = dict(loop.throughput(throughput_orders, tick))
        echo(f"bare loop: {result['throughput_per_s']:.0f} orders/s pipelined")
        result["round_trip_us"] = loop.latency(latency_orders, rate, tick)
        echo(f"bare loop: round trip p50 {result['round_trip_us']['p50']:.0f} us at "
             f"{rate:.0f}/s")
    finally:
        loop.stop()
    return result
