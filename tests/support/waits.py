"""Waits that end as soon as their condition holds (never a fixed sleep as a check)."""

from __future__ import annotations

import faulthandler
import sys
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float = 30.0) -> T:
    """``check()`` once it is truthy; fails with its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(0.05)


def dump_threads(why: str) -> None:
    """Every thread's stack on stderr: a wait on the gateway in this process timed out, and
    where its threads are says why (CI keeps the output of a failed test)."""
    print(f"--- {why}: the stacks of this process's threads ---", file=sys.stderr)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
