"""The gateway's own view of its hops: ``oms_hop_latency_seconds`` scraped from its Prometheus
endpoint before and after a run. Bucketed (0.1, 0.25, 0.5, 1, 2, 5 ms...), so percentiles are
interpolated within a bucket: a cross-check of the exact figures, not a replacement."""

from __future__ import annotations

import re
import urllib.request

_BUCKET = re.compile(
    r'^oms_hop_latency_seconds_bucket\{hop="(?P<hop>[a-z_]+)",le="(?P<le>[^"]+)"\} (?P<n>\S+)$'
)
Buckets = dict[str, list[tuple[float, float]]]


def scrape(port: int) -> Buckets:
    """Cumulative (upper bound in seconds, count) per hop."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    hops: Buckets = {}
    for line in text.splitlines():
        match = _BUCKET.match(line)
        if match:
            hops.setdefault(match["hop"], []).append((float(match["le"]), float(match["n"])))
    return hops


def percentiles_us(before: Buckets, after: Buckets) -> dict[str, dict[str, float]]:
    """p50/p90/p99 (us, interpolated within buckets) of what was observed between scrapes."""
    figures: dict[str, dict[str, float]] = {}
    for hop, buckets in after.items():
        earlier = dict(before.get(hop, []))
        cumulative = [(le, n - earlier.get(le, 0.0)) for le, n in buckets]
        total = cumulative[-1][1] if cumulative else 0.0
        if total <= 0:
            continue
        figures[hop] = {"count": total} | {
            name: round(_at(cumulative, total * q) * 1e6, 1)
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
        }
    return figures


def _at(cumulative: list[tuple[float, float]], rank: float) -> float:
    lower_le, lower_n = 0.0, 0.0
    for le, n in cumulative:
        if n >= rank:
            if le == float("inf"):
                return lower_le
            span = n - lower_n
            return lower_le + (le - lower_le) * ((rank - lower_n) / span if span else 1.0)
        lower_le, lower_n = le, n
    return lower_le
