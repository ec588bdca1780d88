"""A PNG of the latency distributions (HdrHistogram percentile plot), drawn with matplotlib's
Agg backend (no display needed). matplotlib is optional: without it there is no plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oms.bench.stats import distribution_us


def write_plot(path: Path, histograms: dict[str, Any], title: str) -> bool:
    """Latency (log) against percentile (log of 1/(1-p)); False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(figsize=(10, 6), dpi=100)
    ticks = [0.0, 50.0, 90.0, 99.0, 99.9, 99.99]
    for label, histogram in histograms.items():
        points = [(p, v) for p, v in distribution_us(histogram) if p < 100.0]
        if not points:
            continue
        xs = [1.0 / (1.0 - p / 100.0) for p, _ in points]
        axes.plot(xs, [max(v, 0.01) for _, v in points], label=label, linewidth=1.6)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks([1.0 / (1.0 - t / 100.0) for t in ticks])
    axes.set_xticklabels([f"{t:g}%" for t in ticks])
    axes.set_xlabel("percentile")
    axes.set_ylabel("latency (us)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return True
