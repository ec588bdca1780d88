"""A critical thread that dies is reported with its cause; threads that were running before the
gateway started, or that are not critical, are not watched."""

from __future__ import annotations

import threading

from oms.supervision import ThreadSupervisor


def _run(name: str, target: object) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def test_a_critical_thread_that_raises_is_reported_with_its_exception() -> None:
    supervisor = ThreadSupervisor({"oms-core", "oms-commit"})
    supervisor.before_start()
    release = threading.Event()

    def fail() -> None:
        release.wait(5)
        raise RuntimeError("injected fault in the core")

    try:
        core = _run("oms-core", fail)
        commit = _run("oms-commit", lambda: release.wait(5))
        _run("not-critical", lambda: None).join(5)
        supervisor.after_start()
        assert supervisor.death() is None
        release.set()
        core.join(5)
        assert supervisor.death() == (
            "critical thread oms-core died: RuntimeError: injected fault in the core")
        commit.join(5)
    finally:
        supervisor.release()


def test_a_critical_thread_that_returns_is_reported_too() -> None:
    supervisor = ThreadSupervisor({"outbox-relay"})
    supervisor.before_start()
    release = threading.Event()
    try:
        relay = _run("outbox-relay", lambda: release.wait(5))
        supervisor.after_start()
        release.set()
        relay.join(5)
        assert supervisor.death() == (
            "critical thread outbox-relay died: it ended without an exception")
    finally:
        supervisor.release()


def test_threads_of_another_gateway_or_before_the_start_are_not_watched() -> None:
    stop = threading.Event()
    older = _run("oms-core", lambda: stop.wait(5))
    supervisor = ThreadSupervisor({"oms-core"})
    supervisor.before_start()
    ours = threading.Event()
    try:
        _run("oms-core", lambda: ours.wait(5))
        supervisor.after_start()
        stop.set()
        older.join(5)
        assert supervisor.death() is None
    finally:
        ours.set()
        supervisor.release()


def test_stopping_the_gateway_ends_the_watch_and_restores_the_hook() -> None:
    before = threading.excepthook
    supervisor = ThreadSupervisor({"oms-core"})
    supervisor.before_start()
    assert threading.excepthook is not before
    thread = _run("oms-core", lambda: None)
    supervisor.after_start()
    supervisor.release()
    thread.join(5)
    assert supervisor.death() is None
    assert threading.excepthook is before


def test_a_critical_thread_gone_before_the_start_ended_is_reported() -> None:
    supervisor = ThreadSupervisor({"oms-core", "oms-commit"})
    supervisor.before_start()
    try:
        _run("oms-core", lambda: None).join(5)
        keep = threading.Event()
        _run("oms-commit", lambda: keep.wait(5))
        supervisor.after_start()
        assert supervisor.death() == (
            "critical thread(s) oms-core not running after the start: not running")
        keep.set()
    finally:
        supervisor.release()
