"""Supervision of the gateway's own threads: a critical thread that dies ends the process.

A gateway whose core, commit, intake, relay, operator-command, housekeeping or venue outbound
thread has died cannot do its job, yet the process would stay up and might even look healthy.
The supervisor
watches those threads (the ones this gateway's start created, by name), records the exception
that ended any of them (``threading.excepthook``), and reports the first death: the gateway
then logs it, turns not ready and not alive, stops and exits non-zero, so that whatever runs it
(systemd, Kubernetes) starts a fresh copy, which recovers from PostgreSQL like after a crash.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

CRITICAL_THREADS = frozenset({
    "oms-core", "oms-commit", "amqp-intake", "outbox-relay", "operator-commands",
    "oms-housekeeping",
})
"""Threads without which a gateway cannot work (the names their owners give them)."""
CRITICAL_PREFIXES = ("oms-out-",)
"""Critical threads named per venue: each venue's outbound sender (``oms-out-<venue>``)."""


class ThreadSupervisor:
    def __init__(self, critical: Iterable[str] = CRITICAL_THREADS) -> None:
        self._critical = frozenset(critical)
        self._watched: list[threading.Thread] = []
        self._missing: list[str] = []
        """Critical threads not running when the start ended (dead already, or never started)."""
        self._before: set[threading.Thread] = set()
        self._deaths: dict[str, str] = {}
        self._lock = threading.Lock()
        self._previous_hook: Callable[[threading.ExceptHookArgs], object] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def before_start(self) -> None:
        """Call before the gateway starts its threads (to tell its own from the others)."""
        self._before = set(threading.enumerate())
        if self._previous_hook is None:
            self._previous_hook = threading.excepthook
            threading.excepthook = self._excepthook

    def after_start(self) -> None:
        """Watch the critical threads the start created."""
        self._watched = [t for t in threading.enumerate() if t not in self._before and (
            t.name in self._critical or t.name.startswith(CRITICAL_PREFIXES))]
        self._missing = sorted(self._critical - {t.name for t in self._watched})

    def release(self) -> None:
        """Stop watching (the gateway is stopping: its threads end on purpose)."""
        self._watched, self._missing = [], []
        if self._previous_hook is not None:
            threading.excepthook = self._previous_hook
            self._previous_hook = None

    # -- checks -----------------------------------------------------------------------------

    def death(self) -> str | None:
        """Why a watched thread is no longer running, or None while all run."""
        if self._missing:
            with self._lock:
                why = "; ".join(self._deaths.get(name, "not running") for name in self._missing)
            names = ", ".join(self._missing)
            return f"critical thread(s) {names} not running after the start: {why}"
        for thread in self._watched:
            if not thread.is_alive():
                with self._lock:
                    why = self._deaths.get(thread.name, "it ended without an exception")
                return f"critical thread {thread.name} died: {why}"
        return None

    def _excepthook(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        text = "".join(traceback.format_exception_only(args.exc_type, args.exc_value)).strip()
        with self._lock:
            self._deaths[name] = text
        log.critical("thread %s died: %s", name, text, exc_info=args.exc_value)
