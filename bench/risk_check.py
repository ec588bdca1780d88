"""Micro-benchmark of the inline pre-trade risk check (not a test): a thin entry point.

The code lives in ``oms.bench.risk`` so that ``oms bench`` runs it from an installed package.

    .venv/bin/python bench/risk_check.py [iterations]
"""

from __future__ import annotations

import sys

from oms.bench.risk import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
