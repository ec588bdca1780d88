"""``oms bench``: the bare quickfix loop (the reference), the full order path and the risk
check, measured in one run on one machine. See docs/benchmarks.md for the method."""
