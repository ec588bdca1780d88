"""The watch over venue requests awaiting an answer: deadlines, stages, in-doubt orders."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.engine.request_watch import (
    IN_DOUBT,
    SENT,
    STATUS_REQUESTED,
    RequestWatch,
    WatchedRequest,
)


def request(venue_id: str, order_id: str = "O1", kind: str = "new", due: float = 10.0,
            stage: str = SENT) -> WatchedRequest:
    return WatchedRequest("SIM", venue_id, order_id, f"c-{venue_id}", kind, stage, due)


def test_a_request_unanswered_past_its_deadline_comes_due_once() -> None:
    watch = RequestWatch()
    watch.watch(request("V1", due=10.0))
    watch.watch(request("V2", due=12.0))
    assert watch.due(9.99) == []
    assert [r.venue_cl_ord_id for r in watch.due(10.0)] == ["V1"]
    assert watch.due(11.0) == []  # popped: the caller moves it on or settles it
    assert [r.venue_cl_ord_id for r in watch.due(100.0)] == ["V2"]
    assert len(watch) == 2  # still watched until settled


def test_an_answered_request_never_comes_due() -> None:
    watch = RequestWatch()
    watch.watch(request("V1", due=10.0))
    settled = watch.settle(("SIM", "V1"))
    assert settled is not None and settled.venue_cl_ord_id == "V1"
    assert watch.due(100.0) == [] and len(watch) == 0 and ("SIM", "V1") not in watch
    assert watch.settle(("SIM", "V1")) is None


def test_a_status_request_rearms_the_deadline_and_its_silence_puts_the_order_in_doubt() -> None:
    watch = RequestWatch()
    first = request("V1", due=10.0)
    watch.watch(first)
    (due,) = watch.due(10.0)
    watch.arm(due, STATUS_REQUESTED, 20.0)
    assert watch.stage_of(("SIM", "V1")) == STATUS_REQUESTED
    assert watch.due(19.0) == []
    (again,) = watch.due(20.0)
    watch.arm(again, IN_DOUBT, math.inf)
    assert watch.in_doubt("O1") and watch.orders_in_doubt() == 1
    assert watch.due(1e12) == []  # in doubt: an operator's, no deadline
    watch.settle(("SIM", "V1"))  # the venue answered at last
    assert not watch.in_doubt("O1") and watch.orders_in_doubt() == 0


def test_an_order_stays_in_doubt_while_any_of_its_requests_is() -> None:
    watch = RequestWatch()
    watch.watch(request("V1", stage=IN_DOUBT))
    watch.watch(request("V2", kind="cancel", stage=IN_DOUBT))
    watch.watch(request("V3", order_id="O2"))
    assert watch.orders_in_doubt() == 1
    watch.settle(("SIM", "V1"))
    assert watch.in_doubt("O1")
    watch.arm(watch.get(("SIM", "V2")), STATUS_REQUESTED, 5.0)  # type: ignore[arg-type]
    assert not watch.in_doubt("O1")
    assert {r.venue_cl_ord_id for r in watch.of_order("O1")} == {"V2"}
    assert [r.venue_cl_ord_id for r in watch.of_venue("SIM")] == ["V2", "V3"]


def test_an_unknown_stage_is_refused() -> None:
    watch = RequestWatch()
    watch.watch(request("V1"))
    with pytest.raises(ValueError, match="unknown stage"):
        watch.arm(watch.get(("SIM", "V1")), "lost", 1.0)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["watch", "settle", "arm", "due"]),
                          st.integers(min_value=0, max_value=30),
                          st.integers(min_value=0, max_value=100)), max_size=200))
def test_the_watch_agrees_with_a_plain_model_and_stays_small(
    steps: list[tuple[str, int, int]]
) -> None:
    """Whatever the mix of sends, answers, re-arms and ticks: what comes due is exactly what a
    dict of deadlines says, and the heap never grows far beyond the requests in flight."""
    watch = RequestWatch()
    model: dict[str, float] = {}
    clock = 0.0
    for action, n, when in steps:
        key = f"V{n}"
        if action == "watch":
            watch.watch(request(key, due=clock + when))
            model[key] = clock + when
        elif action == "settle":
            watch.settle(("SIM", key))
            model.pop(key, None)
        elif action == "arm" and key in model:
            watch.arm(watch.get(("SIM", key)), STATUS_REQUESTED, clock + when)  # type: ignore[arg-type]
            model[key] = clock + when
        elif action == "due":
            clock += when
            came = sorted(r.venue_cl_ord_id for r in watch.due(clock))
            expected = sorted(k for k, due in model.items() if due <= clock)
            assert came == expected
            for k in expected:
                model[k] = math.inf  # popped: not due again until re-armed
        assert len(watch) == len(model)
        assert len(watch._deadlines) <= 2 * len(watch) + 65
