"""Progress lines while the benchmark runs (to stderr, so stdout keeps the results)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

Echo = Callable[[str], None]


def stderr_echo(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Ticker:
    """Calls ``echo`` at most every ``every_s`` seconds (and always for ``force``)."""

    def __init__(self, echo: Echo, every_s: float = 2.0) -> None:
        self._echo = echo
        self._every_ns = int(every_s * 1e9)
        self._last = 0

    def __call__(self, line: str, *, force: bool = False) -> None:
        now = time.monotonic_ns()
        if force or now - self._last >= self._every_ns:
            self._last = now
            self._echo(line)
