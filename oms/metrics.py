"""Prometheus metrics and the liveness/readiness endpoints of the gateway.

One registry per process, built by the composition root (nothing registered at import), served
on ``engine.metrics_port``; ``/healthz`` (alive: the core thread beats) and ``/readyz`` (ready:
database reachable, venues logged on, broker connected) on ``engine.health_port``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.hop_latency = Histogram(
            "oms_hop_latency_seconds", "Latency per hop of the order path", ["hop"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.orders = Counter("oms_orders_total", "Orders accepted", ["account"], registry=r)
        self.fills = Counter("oms_fills_total", "Executions applied", ["venue"], registry=r)
        self.rejects = Counter(
            "oms_rejects_total", "Rejected commands by source", ["source"], registry=r
        )
        self.dead_letters = Counter("oms_dead_letters_total", "Commands dead-lettered", registry=r)
        self.failed_inputs = Counter(
            "oms_failed_inputs_total",
            "Inputs whose handling raised: rolled back and answered as an internal error",
            registry=r)
        self.quarantined_inputs = Counter(
            "oms_quarantined_inputs_total",
            "Inputs that failed a commit alone (poison): quarantined, the rest committed",
            registry=r)
        self.inbox_depth = Gauge(
            "oms_inbox_depth", "Inputs waiting in the core's inbox", registry=r
        )
        self.batch_size = Histogram(
            "oms_batch_size", "Inputs per committed batch",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000), registry=r,
        )
        self.outbox_lag = Gauge(
            "oms_outbox_lag_events", "Outbox events committed but not yet published", registry=r
        )
        self.outbox_retrying = Gauge(
            "oms_outbox_retrying_events",
            "Events the broker refused, waiting for their next attempt (each holds back its"
            " order's later events)", registry=r,
        )
        self.outbox_parked = Gauge(
            "oms_outbox_parked_events",
            "Events parked by this gateway after repeated refusals (a hole in their order's seq)",
            registry=r,
        )
        self.session_state = Gauge(
            "oms_fix_session_logged_on", "1 when the FIX session is logged on",
            ["session"], registry=r,
        )
        self.commit_failures = Counter(
            "oms_commit_failures_total", "Batches whose commit failed", registry=r
        )
        self.venue_rejects = Counter(
            "oms_venue_rejects_total",
            "Venue session Rejects (kind session_reject) and BusinessMessageRejects"
            " (business_reject) of our messages, and venue messages our session rejected"
            " (rejected_by_us: they never reached the order path)",
            ["venue", "kind"], registry=r,
        )
        self.request_timeouts = Counter(
            "oms_venue_request_timeouts_total",
            "Venue requests unanswered within request_timeout_s: an OrderStatusRequest was sent"
            " (stage status_requested), or that was not answered either (stage in_doubt)",
            ["venue", "stage"], registry=r,
        )
        self.orders_in_doubt = Gauge(
            "oms_orders_in_doubt",
            "Orders with a venue request in doubt (on the Exceptions page until answered)",
            registry=r,
        )

        self._children: dict[tuple[int, str], Any] = {}

    def labelled(self, metric: Counter | Histogram, value: str) -> Any:
        """``metric.labels(value)`` of a metric with one label, kept: on the order path
        prometheus_client's lookup cost more than the update itself."""
        key = (id(metric), value)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(value)
        return child

    def serve(self, port: int, addr: str = "127.0.0.1", *, shard: str | None = None) -> None:
        """``shard``: every sample served carries a ``shard`` label (``oms gateway --shard``)."""
        if not port:
            return
        registry = self.registry
        if shard is not None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(ShardLabelled(self.registry, shard))
        start_http_server(port, addr=addr, registry=registry)


class ClOrdIdFilterCollector(Collector):
    """The duplicate-ClOrdID filter's figures (``oms.engine.recorded_keys``), read when scraped:
    how many checks memory answered and how many went to the database, and the filter's fill.
    ``current`` returns the filter in use (the gateway replaces it when it outgrows its size,
    which restarts the counters, as a process restart does)."""

    def __init__(self, current: Callable[[], Any]) -> None:
        self._current = current

    def collect(self) -> Iterator[Metric]:
        keys = self._current()
        checks = CounterMetricFamily(
            "oms_clordid_checks", "Duplicate-ClOrdID checks, by who answered: ruled_out (memory,"
            " never recorded) or asked (the database)", labels=["answer"])
        checks.add_metric(["ruled_out"], keys.ruled_out)
        checks.add_metric(["asked"], keys.asked)
        yield checks
        fill = GaugeMetricFamily(
            "oms_clordid_filter_keys", "ClOrdIDs in the duplicate filter, and its capacity",
            labels=["kind"])
        fill.add_metric(["added"], keys.added)
        fill.add_metric(["capacity"], keys.capacity)
        yield fill


class ShardLabelled(Collector):
    """Another registry's metrics with a ``shard`` label on every sample, added when scraped
    (the order path updates the metrics without it)."""

    def __init__(self, registry: CollectorRegistry, shard: str) -> None:
        self._registry = registry
        self._shard = shard

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            labelled = Metric(family.name, family.documentation, family.type, family.unit)
            labelled.samples = [
                Sample(s.name, {**s.labels, "shard": self._shard}, s.value, s.timestamp,
                       s.exemplar)
                for s in family.samples
            ]
            yield labelled


class HealthServer:
    """Serves ``/healthz`` and ``/readyz`` from two callables returning (ok, details)."""

    def __init__(
        self,
        port: int,
        alive: Callable[[], tuple[bool, dict[str, object]]],
        ready: Callable[[], tuple[bool, dict[str, object]]],
        addr: str = "127.0.0.1",
    ) -> None:
        checks = {"/healthz": alive, "/readyz": ready}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                check = checks.get(self.path.split("?")[0])
                if check is None:
                    self.send_error(404)
                    return
                ok, details = check()
                body = json.dumps({"ok": ok, **details}, default=str).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer((addr, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
