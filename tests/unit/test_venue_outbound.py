"""Each venue's sender: cancels go out first, a venue held by its rate limit holds no other
venue, a session that is down holds nothing, and a stop hands back what it could not send.

The queue and the pace are pure; the senders run their real threads here, with a clock the
test moves and a send function that only records, so nothing depends on how fast this runs:
what is held stays held until the test moves the clock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.ports import (
    VenueCancel,
    VenueNewOrder,
    VenueOrderRequest,
    VenueReplace,
    VenueStatusQuery,
    send_to_venue,
)
from oms.engine.venue_outbound import (
    OutboundMessage,
    OutboundQueue,
    OutboundSenders,
    Pace,
    VenueOutbound,
)

WAIT_S = 10.0
"""How long a test waits for a thread to do what it must (it normally takes milliseconds)."""


NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def request(order_id: str, kind: str) -> VenueOrderRequest:
    """A 10-lot buy's request of ``kind``, under the venue ClOrdID ``<kind>-<order_id>``."""
    venue_id, ten = f"{kind}-{order_id}", Decimal(10)
    if kind == "new":
        return VenueNewOrder(venue_id, "ACC", "AAPL", Side.BUY, OrdType.LIMIT, ten,
                             Decimal(190), None, TimeInForce.DAY, None, NOW)
    if kind == "cancel":
        return VenueCancel(venue_id, f"new-{order_id}", "ACC", "AAPL", Side.BUY, ten, None, NOW)
    if kind == "replace":
        return VenueReplace(venue_id, f"new-{order_id}", "ACC", "AAPL", Side.BUY, OrdType.LIMIT,
                            ten, Decimal(191), None, TimeInForce.DAY, None, NOW)
    return VenueStatusQuery(venue_id, "AAPL", Side.BUY)


def message(order_id: str, kind: str, venue: str = "SIM",
            done: Callable[[bool], None] | None = None) -> OutboundMessage:
    if done is None:
        return OutboundMessage(venue, order_id, request(order_id, kind))
    return OutboundMessage(venue, order_id, request(order_id, kind), done)


def taken(queue: OutboundQueue) -> list[str]:
    return [f"{m.kind} {m.order_id}" for m in queue.take_all()]


# -- the order on the wire ------------------------------------------------------------------


def test_cancels_go_ahead_of_queued_new_orders_and_replaces_in_their_own_order() -> None:
    queue = OutboundQueue()
    for m in (message("O1", "new"), message("O2", "replace"), message("O3", "cancel"),
              message("O4", "new"), message("O5", "cancel")):
        queue.put(m)
    assert taken(queue) == ["cancel O3", "cancel O5", "new O1", "replace O2", "new O4"]


def test_a_cancel_follows_its_own_orders_queued_new_order_and_goes_right_after_it() -> None:
    queue = OutboundQueue()
    for m in (message("O1", "new"), message("O2", "new"), message("O3", "new"),
              message("O2", "cancel"), message("O4", "new")):
        queue.put(m)
    assert taken(queue) == ["new O1", "new O2", "cancel O2", "new O3", "new O4"]


def test_an_orders_replace_and_cancel_keep_their_order_behind_its_new_order() -> None:
    queue = OutboundQueue()
    for m in (message("O1", "new"), message("O1", "replace"), message("O1", "cancel"),
              message("O2", "cancel")):
        queue.put(m)
    assert taken(queue) == ["cancel O2", "new O1", "replace O1", "cancel O1"]


def test_messages_put_while_others_are_taken_keep_the_rule() -> None:
    queue = OutboundQueue()
    queue.put(message("O1", "new"))
    queue.put(message("O2", "new"))
    assert queue.take() is not None and len(queue) == 1
    queue.put(message("O3", "cancel"))
    assert taken(queue) == ["cancel O3", "new O2"]
    assert queue.take() is None and len(queue) == 0


Step = tuple[str, str] | None
"""Put a message (order, kind), or take one (None)."""

steps = st.lists(
    st.none() | st.tuples(st.sampled_from(["O1", "O2", "O3", "O4"]),
                          st.sampled_from(["new", "replace", "cancel"])),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_the_queue_sends_each_orders_messages_in_order_and_free_cancels_first(
    script: list[Step],
) -> None:
    """The rule restated: the next message is, among each order's oldest queued message, the
    oldest cancel if there is one, else the oldest message. Nothing is lost or sent twice."""
    queue = OutboundQueue()
    model: list[tuple[int, OutboundMessage]] = []
    number = 0
    for step in [*script, *([None] * len(script))]:
        if step is not None:
            m = message(*step)
            queue.put(m)
            model.append((number, m))
            number += 1
            continue
        firsts: dict[str, tuple[int, OutboundMessage]] = {}
        for n, m in model:
            firsts.setdefault(m.order_id, (n, m))
        candidates = sorted(firsts.values(), key=lambda pair: pair[0])
        cancels = [pair for pair in candidates if pair[1].kind == "cancel"]
        expected = (cancels or candidates or [None])[0]
        got = queue.take()
        if expected is None:
            assert got is None
            continue
        assert got is expected[1]
        model.remove(expected)
        assert len(queue) == len(model)


# -- the pace -------------------------------------------------------------------------------


def test_the_pace_lets_one_second_of_burst_go_then_one_message_per_token() -> None:
    pace = Pace(4, now_s=0.0)
    for _ in range(4):
        assert pace.wait(0.0) == 0.0
        pace.spend(0.0)
    assert pace.wait(0.0) == pytest.approx(0.25)
    assert pace.wait(0.125) == pytest.approx(0.125)
    assert pace.wait(0.25) == 0.0
    pace.spend(0.25)
    assert pace.wait(100.0) == 0.0  # refilled, to one second of burst
    for _ in range(4):
        pace.spend(100.0)
    assert pace.wait(100.0) > 0


def test_a_venue_without_a_rate_is_never_paced() -> None:
    pace = Pace(None, now_s=0.0)
    for _ in range(1000):
        pace.spend(0.0)
    assert pace.wait(0.0) == 0.0


# -- the senders ----------------------------------------------------------------------------


class Clock:
    """Monotonic seconds that move only when the test says."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Wire:
    """The venue port: records what was sent (by venue ClOrdID), per venue, and says who is
    up."""

    def __init__(self, down: frozenset[str] = frozenset(), failing: str = "") -> None:
        self.sent: dict[str, list[str]] = {}
        self.down = set(down)
        self.failing = failing
        self._changed = threading.Condition()

    def _send(self, venue: str, sent: VenueOrderRequest) -> bool:
        if sent.venue_cl_ord_id == self.failing:
            raise RuntimeError("the session raised")
        with self._changed:
            self.sent.setdefault(venue, []).append(sent.venue_cl_ord_id)
            self._changed.notify_all()
        return venue not in self.down

    def submit(self, venue: str, order: VenueNewOrder) -> bool:
        return self._send(venue, order)

    def cancel(self, venue: str, request: VenueCancel) -> bool:
        return self._send(venue, request)

    def replace(self, venue: str, request: VenueReplace) -> bool:
        return self._send(venue, request)

    def request_status(self, venue: str, query: VenueStatusQuery) -> bool:
        return self._send(venue, query)

    def rewind(self, venue: str, next_target_seq: int) -> None:
        return None

    def is_logged_on(self, venue: str) -> bool:
        return venue not in self.down

    def of(self, venue: str) -> list[str]:
        with self._changed:
            return list(self.sent.get(venue, []))

    def wait_for(self, venue: str, count: int) -> list[str]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.sent.get(venue, [])) >= count,
                                          WAIT_S), f"{venue}: only {self.sent.get(venue)}"
            return list(self.sent[venue])


class Reports:
    """What each message's ``done`` said."""

    def __init__(self) -> None:
        self.done: dict[str, bool] = {}
        self._changed = threading.Condition()

    def message(self, order_id: str, kind: str, venue: str = "SIM") -> OutboundMessage:
        key = f"{kind}-{order_id}"

        def done(sent: bool) -> None:
            with self._changed:
                self.done[key] = sent
                self._changed.notify_all()

        return message(order_id, kind, venue, done)

    def wait_for(self, count: int) -> dict[str, bool]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.done) >= count, WAIT_S), self.done
            return dict(self.done)


@contextmanager
def senders(rates: Mapping[str, int | None], wire: Wire, clock: Clock,
            drain_s: float = 5.0) -> Iterator[OutboundSenders]:
    out = OutboundSenders(rates, wire, clock, drain_s=drain_s, recheck_s=0.01)
    out.start()
    try:
        yield out
    finally:
        clock.now += 3600.0  # past any drain: the stop ends at once
        out.stop()


def test_a_venue_held_by_its_rate_limit_holds_no_other_venue() -> None:
    wire, clock = Wire(), Clock()
    with senders({"SLOW": 1, "FAST": 1000}, wire, clock) as out:
        out.submit(message("S1", "new", "SLOW"))
        out.submit(message("S2", "new", "SLOW"))  # held: SLOW's token is spent, time stands
        out.submit(message("F1", "new", "FAST"))
        assert wire.wait_for("FAST", 1) == ["new-F1"]
        assert wire.of("SLOW") == ["new-S1"] and out.queued("SLOW") == 1
        clock.now += 1.0
        assert wire.wait_for("SLOW", 2) == ["new-S1", "new-S2"]


def test_a_cancel_queued_behind_held_new_orders_goes_out_first() -> None:
    wire, clock = Wire(), Clock()
    with senders({"SIM": 1}, wire, clock) as out:
        out.submit(message("O1", "new"))
        wire.wait_for("SIM", 1)
        for m in (message("O2", "new"), message("O3", "replace"), message("O1", "cancel")):
            out.submit(m)
        for step in range(2, 5):
            clock.now += 1.0
            wire.wait_for("SIM", step)
        assert wire.of("SIM") == ["new-O1", "cancel-O1", "new-O2", "replace-O3"]


def test_a_session_that_is_down_fails_its_messages_at_once_without_waiting_for_the_pace() -> None:
    wire, clock, reports = Wire(down=frozenset({"SIM"})), Clock(), Reports()
    with senders({"SIM": 1}, wire, clock) as out:
        for i in range(3):
            out.submit(reports.message(f"O{i}", "new"))
        assert reports.wait_for(3) == {"new-O0": False, "new-O1": False, "new-O2": False}


def test_each_message_reports_whether_the_session_took_it() -> None:
    wire, clock, reports = Wire(failing="new-O2"), Clock(), Reports()
    with senders({"SIM": None}, wire, clock) as out:
        for i in range(1, 4):
            out.submit(reports.message(f"O{i}", "new"))
        out.submit(reports.message("O9", "new", venue="NOWHERE"))
        assert reports.wait_for(4) == {
            "new-O1": True, "new-O2": False, "new-O3": True, "new-O9": False}


def test_a_stop_sends_the_queue_at_the_pace_then_reports_the_rest_not_sent() -> None:
    wire, clock, reports = Wire(), Clock(), Reports()
    out = OutboundSenders({"SIM": 1}, wire, clock, drain_s=5.0, recheck_s=0.01)
    out.start()
    for i in range(1, 4):
        out.submit(reports.message(f"O{i}", "new"))
    wire.wait_for("SIM", 1)
    stopping = threading.Thread(target=out.stop)
    stopping.start()
    clock.now += 1.0
    wire.wait_for("SIM", 2)  # still draining, at the pace
    clock.now += 10.0  # past the drain
    stopping.join(WAIT_S)
    assert not stopping.is_alive()
    assert reports.wait_for(3) == {"new-O1": True, "new-O2": True, "new-O3": False}
    assert wire.of("SIM") == ["new-O1", "new-O2"]


def test_a_sender_never_started_reports_its_queue_not_sent_at_stop() -> None:
    wire, reports = Wire(), Reports()
    venue = VenueOutbound("SIM", 1, wire, Clock())
    venue.submit(reports.message("O1", "cancel"))
    venue.stop(drain_s=0.0)
    assert reports.done == {"cancel-O1": False}


def test_a_message_submitted_after_the_stop_is_reported_not_sent_at_once() -> None:
    wire, reports = Wire(), Reports()
    venue = VenueOutbound("SIM", None, wire, Clock(), recheck_s=0.01)
    venue.start()
    venue.stop(drain_s=1.0)
    venue.submit(reports.message("O1", "new"))
    assert reports.done == {"new-O1": False} and wire.of("SIM") == []


class Methods:
    """A venue port that says through which of its methods each request came."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def is_logged_on(self, venue: str) -> bool:
        return True

    def submit(self, venue: str, order: VenueNewOrder) -> bool:
        self.calls.append(("submit", order.venue_cl_ord_id))
        return True

    def cancel(self, venue: str, request: VenueCancel) -> bool:
        self.calls.append(("cancel", request.venue_cl_ord_id))
        return True

    def replace(self, venue: str, request: VenueReplace) -> bool:
        self.calls.append(("replace", request.venue_cl_ord_id))
        return True

    def request_status(self, venue: str, query: VenueStatusQuery) -> bool:
        self.calls.append(("request_status", query.venue_cl_ord_id))
        return False

    def rewind(self, venue: str, next_target_seq: int) -> None:
        return None


def test_each_request_goes_through_the_venue_ports_method_for_its_kind() -> None:
    port = Methods()
    answers = [send_to_venue(port, "SIM", request("O1", kind))
               for kind in ("new", "replace", "cancel", "status")]
    assert port.calls == [("submit", "new-O1"), ("replace", "replace-O1"),
                          ("cancel", "cancel-O1"), ("request_status", "status-O1")]
    assert answers == [True, True, True, False]  # what the session said, passed on


def test_a_status_request_waits_behind_its_orders_queued_new_order_like_any_request() -> None:
    queue = OutboundQueue()
    for m in (message("O1", "new"), message("O1", "status"), message("O2", "cancel")):
        queue.put(m)
    assert taken(queue) == ["cancel O2", "new O1", "status O1"]
