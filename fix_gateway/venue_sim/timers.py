"""One background thread that runs callbacks at given times (delayed acks, unsolicited
cancels, the end-of-day expiry). Callbacks due at the same time run in the order they were
scheduled; an exception in one is logged and does not stop the others."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Callback = Callable[[], None]


class Timers:
    def __init__(self, name: str = "venue-sim-timers") -> None:
        self._queue: list[tuple[float, int, Callback]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def call_later(self, delay_s: float, callback: Callback) -> None:
        self.call_at(time.monotonic() + max(delay_s, 0.0), callback)

    def call_at(self, monotonic_due: float, callback: Callback) -> None:
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._queue, (monotonic_due, next(self._seq), callback))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if self._queue:
                        wait = self._queue[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._stopped:
                    return
                _, _, callback = heapq.heappop(self._queue)
            try:
                callback()
            except Exception:
                log.exception("venue simulator timer callback failed")
