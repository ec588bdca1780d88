"""Latency histograms (HdrHistogram, nanoseconds) and the paced schedule of an offered rate.

Coordinated omission: a paced sender gives every order an *intended* send time on a fixed
schedule (``Schedule``) and latency is measured from that time, not from when the order was
actually sent. If the system (or the sender) stalls, the orders that should have gone out
during the stall are charged the wait, as a user of the system would see it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9),
)
_HIGHEST_NS = 3_600 * 1_000_000_000  # one hour


def new_histogram() -> HdrHistogram:
    """Values in nanoseconds, 1 ns to one hour, 3 significant digits."""
    return HdrHistogram(1, _HIGHEST_NS, 3)


def histogram_of(values_ns: Iterable[int]) -> HdrHistogram:
    histogram = new_histogram()
    for value in values_ns:
        histogram.record_value(min(max(int(value), 1), _HIGHEST_NS))
    return histogram


def summary_us(histogram: HdrHistogram) -> dict[str, float]:
    """p50, p90, p99, p99.9, max (and count, mean) in microseconds."""
    figures = {
        name: histogram.get_value_at_percentile(p) / 1000.0 for name, p in PERCENTILES
    }
    figures["max"] = histogram.get_max_value() / 1000.0
    figures["mean"] = round(histogram.get_mean_value() / 1000.0, 3)
    figures["count"] = float(histogram.get_total_count())
    return figures


def distribution_us(histogram: HdrHistogram, ticks_per_half: int = 5) -> list[list[float]]:
    """[percentile, latency in us] points for a percentile plot (HdrHistogram's iterator)."""
    points: list[list[float]] = []
    for item in histogram.get_percentile_iterator(ticks_per_half):
        points.append([item.percentile_level_iterated_to,
                       item.value_iterated_to / 1000.0])
        if item.percentile_level_iterated_to >= 100.0:
            break
    return points


@dataclass(slots=True)
class Schedule:
    """Intended send times at ``rate`` per second from ``start_ns`` (time.monotonic_ns)."""

    rate: float
    start_ns: int

    def intended_ns(self, index: int) -> int:
        return self.start_ns + int(index * 1e9 / self.rate)

    def wait_for(self, index: int) -> int:
        """Sleep until order ``index`` is due (at once when behind); returns its intended time.
        The last ~200 us are spun, since sleep() overshoots by about that much."""
        due = self.intended_ns(index)
        while True:
            left = due - time.monotonic_ns()
            if left <= 0:
                return due
            if left > 300_000:
                time.sleep((left - 200_000) / 1e9)
            elif left > 50_000:
                time.sleep(0)
