"""The strategy client puts each order's events back in ``seq`` order: duplicates dropped by
event id, an event past a hole held until the hole fills or its time runs out, then handed out
in order with the hole reported."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from oms.client import EventDeduplicator, SequenceGap
from oms.client.sequencing import EventSequencer, Released

Event = tuple[str, int]
"""(order_id, seq); its event id is f"{order_id}/{seq}"."""

TIMEOUT = 5.0


def event_id(event: Event) -> str:
    return f"{event[0]}/{event[1]}"


class Pipeline:
    """What the client does with each message: drop a repeated event id, then sequence."""

    def __init__(self) -> None:
        self.dedup = EventDeduplicator()
        self.sequencer: EventSequencer[Event] = EventSequencer(TIMEOUT)
        self.out: list[Released[Event]] = []

    def arrive(self, event: Event, now: float) -> None:
        if self.dedup.is_new(event_id(event)):
            self.out += self.sequencer.offer(event, event[0], event[1], now)

    def expire(self, now: float) -> None:
        self.out += self.sequencer.expire(now)

    def seqs(self, order_id: str) -> list[int]:
        return [r.item[1] for r in self.out if r.item[0] == order_id]


@st.composite
def deliveries(draw: st.DrawFn, first_arrives_first: bool) -> tuple[dict[str, int], list[Event]]:
    """Orders with seqs 1..n, every event arriving at least once, repeats and interleaving as
    hypothesis likes; with ``first_arrives_first``, each order's seq 1 comes before its other
    events (the client sees the order from its start)."""
    counts = draw(st.dictionaries(st.sampled_from(["O1", "O2", "O3", "O4"]),
                                  st.integers(1, 8), min_size=1))
    events = [(o, s) for o, n in counts.items() for s in range(1, n + 1)]
    repeats = draw(st.lists(st.sampled_from(events), max_size=10))
    arrivals = list(draw(st.permutations(events + repeats)))
    if first_arrives_first:  # swap each order's seq 1 to where its first event is
        for order_id in counts:
            first = next(i for i, e in enumerate(arrivals) if e[0] == order_id)
            one = arrivals.index((order_id, 1))
            arrivals[first], arrivals[one] = arrivals[one], arrivals[first]
    return counts, arrivals


@given(deliveries(first_arrives_first=True))
def test_any_interleaving_with_repeats_comes_out_in_seq_order_exactly_once(
    delivered: tuple[dict[str, int], list[Event]],
) -> None:
    counts, arrivals = delivered
    pipeline = Pipeline()
    for n, event in enumerate(arrivals):
        pipeline.arrive(event, now=n * 0.001)  # all within the timeout
    for order_id, count in counts.items():
        assert pipeline.seqs(order_id) == list(range(1, count + 1))
    assert all(r.gap is None and not r.late for r in pipeline.out)
    assert pipeline.sequencer.held == 0 and pipeline.sequencer.next_deadline() is None


@given(deliveries(first_arrives_first=False), st.data())
def test_whatever_arrives_comes_out_once_in_order_or_marked_late_with_its_gaps_reported(
    delivered: tuple[dict[str, int], list[Event]], data: st.DataObject,
) -> None:
    counts, arrivals = delivered
    pipeline = Pipeline()
    now = 0.0
    for event in arrivals:
        now += data.draw(st.sampled_from([0.0, 1.0, TIMEOUT]))
        pipeline.expire(now)
        pipeline.arrive(event, now)
    pipeline.expire(now + TIMEOUT)
    assert pipeline.sequencer.held == 0
    for order_id, count in counts.items():
        released = [r for r in pipeline.out if r.item[0] == order_id]
        assert sorted(r.item[1] for r in released) == list(range(1, count + 1))  # once each
        in_order = [r for r in released if not r.late]
        seqs = [r.item[1] for r in in_order]
        assert seqs == sorted(seqs)
        for before, after in itertools.pairwise(in_order):
            hole = after.item[1] - before.item[1] - 1
            assert (after.gap is None) == (hole == 0)
            if after.gap is not None:
                assert after.gap == SequenceGap(order_id, before.item[1] + 1, after.item[1] - 1)


def test_an_event_past_a_hole_waits_for_the_missing_one() -> None:
    sequencer: EventSequencer[str] = EventSequencer(TIMEOUT)
    assert [r.item for r in sequencer.offer("new", "O1", 1, now=0.0)] == ["new"]
    assert sequencer.offer("fill", "O1", 3, now=0.1) == []
    assert sequencer.next_deadline() == 0.1 + TIMEOUT
    released = sequencer.offer("partial", "O1", 2, now=0.2)
    assert [(r.item, r.gap, r.late) for r in released] == [
        ("partial", None, False), ("fill", None, False)]
    assert sequencer.next_deadline() is None


def test_after_the_timeout_what_is_held_comes_out_in_order_with_the_gap() -> None:
    sequencer: EventSequencer[str] = EventSequencer(TIMEOUT)
    sequencer.offer("pending_new", "O1", 1, now=0.0)
    sequencer.offer("fill", "O1", 5, now=1.0)
    sequencer.offer("partial", "O1", 3, now=2.0)
    assert sequencer.expire(now=1.0 + TIMEOUT - 0.01) == []
    released = sequencer.expire(now=1.0 + TIMEOUT)
    assert [(r.item, r.gap) for r in released] == [
        ("partial", SequenceGap("O1", 2, 2)), ("fill", SequenceGap("O1", 4, 4))]
    late = sequencer.offer("new", "O1", 2, now=7.0)
    assert [(r.item, r.late) for r in late] == [("new", True)]
    assert str(SequenceGap("O1", 2, 4)) == "order O1: seq 2..4 missing"


def test_the_first_event_seen_of_an_order_starts_its_sequence() -> None:
    sequencer: EventSequencer[str] = EventSequencer(TIMEOUT)
    assert [r.item for r in sequencer.offer("fill", "O7", 4, now=0.0)] == ["fill"]
    assert [(r.item, r.late) for r in sequencer.offer("new", "O7", 2, now=0.1)] == [
        ("new", True)]


def test_events_without_an_order_or_a_seq_are_never_held() -> None:
    sequencer: EventSequencer[str] = EventSequencer(TIMEOUT)
    sequencer.offer("new", "O1", 1, now=0.0)
    assert [r.item for r in sequencer.offer("reject", None, None, now=0.1)] == ["reject"]
    assert [r.item for r in sequencer.offer("cancel_rejected", "O1", None, now=0.1)] == [
        "cancel_rejected"]


def test_a_forgotten_order_hands_out_what_it_held() -> None:
    sequencer: EventSequencer[str] = EventSequencer(TIMEOUT, capacity=1)
    sequencer.offer("new", "O1", 1, now=0.0)
    sequencer.offer("fill", "O1", 3, now=0.0)
    released = sequencer.offer("other", "O2", 1, now=0.1)
    assert [(r.item, r.gap) for r in released] == [
        ("other", None), ("fill", SequenceGap("O1", 2, 2))]
    assert sequencer.held == 0
