"""The full path: strategy -> RabbitMQ -> gateway (risk, Postgres commit) -> FIX -> venue
simulator -> execution report -> Postgres -> RabbitMQ -> strategy.

Timestamps (time.monotonic_ns, one clock for every process of the machine) are taken at the
outside of the system, never by the gateway itself: the strategy's intended send time (paced
schedule, so coordinated omission is accounted for), the venue simulator's receipt of the
NewOrderSingle and sending of the fill, the strategy's receipt of the events. The OMS's venue
ClOrdID is mapped back to the strategy's order through the bench database (venue_requests).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, text

from oms.bench import cpu, gateway_metrics
from oms.bench.isolation import SYMBOL, BenchStack
from oms.bench.processes import GatewayProcess, VenueProcess
from oms.bench.profile import Profiler
from oms.bench.progress import Echo, Ticker
from oms.bench.stage_stamps import VenueStamps, read_stamps
from oms.bench.stats import Schedule, histogram_of, summary_us
from oms.bench.strategy import Listener, Phase, Publisher


class FullPath:
    def __init__(self, stack: BenchStack, echo: Echo) -> None:
        self.stack = stack
        self.echo = echo
        self.tick = Ticker(echo)
        self.venue = VenueProcess(stack)
        self.gateway = GatewayProcess(stack)
        self.listener = Listener(stack.state.amqp_url)
        self.publisher: Publisher | None = None
        self.db = create_engine(stack.state.database_url)

    def start(self) -> None:
        self.echo("full path: starting the venue simulator and the gateway")
        self.venue.start()
        self.gateway.start()
        self.listener.start()
        instrument = self.stack.file.instrument(SYMBOL)
        assert instrument is not None and instrument.reference_price is not None
        self.publisher = Publisher(self.stack.state.amqp_url, instrument.reference_price,
                                   Decimal(instrument.tick_size))

    def stop(self) -> None:
        """Stop everything, each part even if another fails (no process is left behind)."""
        parts: list[Callable[[], None]] = [self.listener.stop, self.gateway.stop,
                                           self.venue.stop, self.db.dispose]
        if self.publisher is not None:
            parts.insert(0, self.publisher.close)
        for stop in parts:
            try:
                stop()
            except Exception as exc:
                self.echo(f"full path: stopping {getattr(stop, '__qualname__', stop)}: {exc!r}")

    def _run_phase(self, phase: Phase, timeout_s: float) -> None:
        if not phase.finished.wait(timeout_s):
            raise RuntimeError(
                f"full path: only {phase.done} of {phase.orders} orders filled or rejected in "
                f"time (see {self.gateway.log})")
        if self.listener.error is not None:
            raise RuntimeError(f"event listener failed: {self.listener.error!r}")

    def throughput(self, letter: str, orders: int) -> dict[str, Any]:
        """``orders`` published back to back; orders per second until the last one filled."""
        assert self.publisher is not None
        phase = self.listener.phase = Phase(letter, orders)
        cpu_before = self._cpu()
        started = time.monotonic_ns()
        for index in range(orders):
            self.publisher.send(letter, index)
            self.tick(f"  full path throughput: {index}/{orders} published, "
                      f"{phase.done} filled")
        deadline = time.monotonic() + max(120.0, orders / 20)
        while not phase.finished.wait(2.0) and time.monotonic() < deadline:
            self.tick(f"  full path throughput: {phase.done}/{orders} filled", force=True)
        self._run_phase(phase, 0.1)
        cpu_used = cpu.per_order_us(cpu_before, self._cpu(), orders)
        self._venue_stamps(letter)  # discard
        elapsed = (max(phase.final_ns) - started) / 1e9
        return {"orders": orders, "seconds": round(elapsed, 3),
                "throughput_per_s": round(orders / elapsed, 1),
                "cpu_us_per_order": cpu_used,
                "not_filled": len(phase.rejects), "not_filled_sample": phase.rejects[:5]}

    def _cpu(self) -> dict[str, float]:
        pids = {"gateway": self.gateway.pid, "venue_sim": self.venue.pid,
                "strategy": os.getpid()}
        return cpu.snapshot(pids, self.stack.state.name)

    def latency(self, letter: str, orders: int, rate: float) -> dict[str, Any]:
        """``orders`` at ``rate``/s on a fixed schedule; end to end and per hop."""
        assert self.publisher is not None
        phase = self.listener.phase = Phase(letter, orders)
        before = gateway_metrics.scrape(self.stack.metrics_port)
        schedule = Schedule(rate, time.monotonic_ns() + 10_000_000)
        intended = [0] * orders
        for index in range(orders):
            intended[index] = schedule.wait_for(index)
            self.publisher.send(letter, index)
            self.tick(f"  full path latency at {rate:.0f}/s: {index}/{orders} published, "
                      f"{phase.done} filled")
        self._run_phase(phase, 60)
        after = gateway_metrics.scrape(self.stack.metrics_port)
        stamps = self._venue_stamps(letter)
        to_wire, venue_turn, to_event = [], [], []
        for index, sent in enumerate(intended):
            stamp = stamps.get(index)
            if stamp is None:
                continue
            to_wire.append(stamp.received_ns - sent)
            if stamp.fill_sent_ns:
                venue_turn.append(stamp.fill_sent_ns - stamp.received_ns)
                to_event.append(phase.final_ns[index] - stamp.fill_sent_ns)
        histograms = {
            "end_to_end": histogram_of(f - s for f, s in zip(phase.final_ns, intended,
                                                             strict=True)),
            "order_to_wire": histogram_of(to_wire),
            "venue": histogram_of(venue_turn),
            "wire_to_event": histogram_of(to_event),
        }
        result: dict[str, Any] = {
            name: summary_us(h) | {"_histogram": h} for name, h in histograms.items()
        }
        result["rate_per_s"] = rate
        result["not_filled"] = len(phase.rejects)
        result["gateway_internal_us"] = gateway_metrics.percentiles_us(before, after)
        return result

    def _venue_stamps(self, letter: str) -> dict[int, VenueStamps]:
        path = self.stack.run_dir / f"venue-stamps-{letter}.txt"
        self.venue.dump(path)
        with self.db.connect() as conn:
            rows = conn.execute(text(
                "SELECT venue_cl_ord_id, request_cl_ord_id FROM venue_requests "
                "WHERE kind = 'new' AND request_cl_ord_id LIKE :prefix"),
                {"prefix": f"{letter}%"}).all()
        by_venue_id = {r.venue_cl_ord_id: int(r.request_cl_ord_id[1:]) for r in rows}
        return read_stamps(path, by_venue_id)


def run_full_path(stack: BenchStack, *, throughput_orders: int, latency_orders: int,
                  rate: float, echo: Echo, profile: bool = False) -> dict[str, Any]:
    path = FullPath(stack, echo)
    try:
        path.start()
        echo("full path: warming up")
        path.throughput("W", min(1000, throughput_orders))
        profiler = None
        if profile:
            seconds = max(2.0, throughput_orders / 1000)
            profiler = Profiler(path.gateway.pid, seconds, stack.run_dir / "gateway-profile.txt")
            echo(f"full path: profiling the gateway for {seconds:.0f}s with py-spy")
        result: dict[str, Any] = path.throughput("T", throughput_orders)
        if profiler is not None:
            result["gateway_profile"] = profiler.finish()
        echo(f"full path: {result['throughput_per_s']:.0f} orders/s pipelined")
        result["latency"] = path.latency("L", latency_orders, rate)
        lat = result["latency"]
        echo(f"full path: at {rate:.0f}/s end to end p50 {lat['end_to_end']['p50']:.0f} us, "
             f"order-to-wire p50 {lat['order_to_wire']['p50']:.0f} us")
        result["gateway_pid"] = path.gateway.pid
    finally:
        path.stop()
    return result



