"""The duplicate ClOrdID lookup answered from memory: ``RecordedRequests.look_up`` asks the store
only about the keys its Bloom filter (``RecordedKeys``) cannot rule out. A key never recorded
never reaches the store; a key recorded (committed, in flight, or purged since) and a false
positive do, and the store has the last word, within each origin's ClOrdID scope."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from oms.domain.requests import NewOrderRequest
from oms.domain.values import OrdType, Side
from oms.engine.batch import Batch
from oms.engine.client_intake import RecordedRequests
from oms.engine.inputs import StrategyCommand
from oms.engine.recorded_keys import RecordedKeys
from oms.engine.replays import Recorded
from oms.engine.trading_days import EVERY_DAY, ClOrdIdScopes
from tests.support.fake_ports import FakeEnvelope, FakeOrderStore

NEW_YORK = ZoneInfo("America/New_York")
DAY_DESK, KEEPER = "fix:DAYDESK", "fix:KEEPER"
SCOPES = ClOrdIdScopes.of_sessions([("DAYDESK", NEW_YORK, True), ("KEEPER", UTC, False)])
NOON = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # 10 March in New York and in UTC
TODAY, YESTERDAY = date(2026, 3, 10), date(2026, 3, 9)


def order(origin: str, cl_ord_id: str) -> NewOrderRequest:
    return NewOrderRequest(origin=origin, user=origin, cl_ord_id=cl_ord_id, account="CLIENT1",
                           symbol="AAPL", side=Side.BUY, ord_type=OrdType.LIMIT,
                           quantity=Decimal(1), price=Decimal(190))


def look_up(requests: RecordedRequests, store: FakeOrderStore,
            *commands: NewOrderRequest) -> list[tuple[str, str]]:
    """Look the batch of ``commands`` up; the keys the store was asked about."""
    store.asked.clear()
    items = [StrategyCommand(FakeEnvelope(), c) for c in commands]
    requests.look_up(store, Batch(now=NOON), items, None)
    return [(k.origin, k.cl_ord_id) for k in store.asked]


def false_positive(known: RecordedKeys, origin: str) -> str:
    """A ClOrdID never recorded that ``known`` cannot rule out (searched: the hashes differ
    from run to run)."""
    for n in range(1_000_000):
        cl_ord_id = f"never-{n}"
        if known.might_hold((origin, cl_ord_id)):
            return cl_ord_id
    raise AssertionError("no false positive in a million keys: is the filter that small?")


@pytest.fixture
def store() -> FakeOrderStore:
    store = FakeOrderStore()
    store.recorded[(KEEPER, "kept")] = Recorded(YESTERDAY, "O-KEPT")
    store.recorded[(DAY_DESK, "daily")] = Recorded(YESTERDAY, "O-DAILY")
    store.recorded[(DAY_DESK, "today")] = Recorded(TODAY, "O-TODAY")
    return store


def test_a_new_cl_ord_id_is_answered_from_memory_without_asking_the_store(
    store: FakeOrderStore,
) -> None:
    requests = RecordedRequests(SCOPES)
    assert look_up(requests, store, order(KEEPER, "fresh-1"), order(DAY_DESK, "fresh-2")) == []
    assert requests.of(order(KEEPER, "fresh-1"), NOON) is None
    assert requests.known.ruled_out == 2 and requests.known.asked == 0


def test_a_cl_ord_id_recorded_earlier_is_asked_about_and_found(store: FakeOrderStore) -> None:
    requests = RecordedRequests(SCOPES)
    asked = look_up(requests, store, order(KEEPER, "kept"), order(KEEPER, "fresh"))
    assert asked == [(KEEPER, "kept")]
    assert requests.of(order(KEEPER, "kept"), NOON) == Recorded(YESTERDAY, "O-KEPT")
    assert requests.of(order(KEEPER, "fresh"), NOON) is None


def test_a_false_positive_is_asked_about_and_found_nowhere(store: FakeOrderStore) -> None:
    requests = RecordedRequests(SCOPES, RecordedKeys(floor=1))  # small: false positives
    look_up(requests, store)  # no request: nothing loaded, nothing asked
    assert store.key_loads == 0
    requests.load(store)
    never = false_positive(requests.known, KEEPER)
    assert look_up(requests, store, order(KEEPER, never)) == [(KEEPER, never)]
    assert requests.of(order(KEEPER, never), NOON) is None


def test_the_scopes_still_decide_what_counts_as_a_duplicate(store: FakeOrderStore) -> None:
    requests = RecordedRequests(SCOPES)
    commands = [order(DAY_DESK, "daily"), order(DAY_DESK, "today"), order(KEEPER, "kept")]
    asked = look_up(requests, store, *commands)
    # all three were recorded: all asked; yesterday's use counts for the forever scope only
    assert asked == [(c.origin, c.cl_ord_id) for c in commands]
    assert [k.since for k in store.asked] == [TODAY, TODAY, EVERY_DAY]
    assert [requests.of(c, NOON) for c in commands] == [
        None, Recorded(TODAY, "O-TODAY"), Recorded(YESTERDAY, "O-KEPT")]


def test_a_request_recorded_by_a_batch_still_committing_is_a_duplicate_and_asked_once_committed(
    store: FakeOrderStore,
) -> None:
    requests = RecordedRequests(SCOPES)
    first = order(KEEPER, "new-one")
    assert look_up(requests, store, first) == []
    requests.record(first, TODAY)  # in the batch; the store does not have it yet
    # the next batch: memory knows it now; the store, asked, does not yet (in flight)
    assert look_up(requests, store, first) == [(KEEPER, "new-one")]
    assert requests.of(first, NOON) == Recorded(TODAY, None)
    store.recorded[(KEEPER, "new-one")] = Recorded(TODAY, "O-NEW")  # committed
    look_up(requests, store)  # a batch without requests: nothing in flight any more
    assert look_up(requests, store, first) == [(KEEPER, "new-one")]
    assert requests.of(first, NOON) == Recorded(TODAY, "O-NEW")


def test_a_request_recorded_before_the_keys_are_loaded_is_kept_in_them(
    store: FakeOrderStore,
) -> None:
    """A request answered before any lookup (its row in a batch still committing when the
    keys are read from the table) is no new ClOrdID for the lookups after."""
    requests = RecordedRequests(SCOPES)
    early = order(KEEPER, "early")
    requests.record(early, TODAY)
    assert look_up(requests, store, early) == [(KEEPER, "early")]
    assert requests.known.added == len(store.recorded) + 1


def test_a_purged_request_stays_in_memory_and_the_store_says_it_is_gone(
    store: FakeOrderStore,
) -> None:
    requests = RecordedRequests(SCOPES)
    requests.load(store)
    del store.recorded[(KEEPER, "kept")]  # the purge
    assert look_up(requests, store, order(KEEPER, "kept")) == [(KEEPER, "kept")]
    assert requests.of(order(KEEPER, "kept"), NOON) is None  # accepted again, as before


def test_a_failed_read_of_the_keys_leaves_them_unloaded_and_the_next_lookup_reads_them_once(
    store: FakeOrderStore,
) -> None:
    class Failing(FakeOrderStore):
        def recorded_keys(self) -> tuple[int, Iterator[tuple[str, str]]]:
            self.key_loads += 1

            def broken() -> Iterator[tuple[str, str]]:
                yield ("fix:KEEPER", "first")
                raise ConnectionError("database gone")

            return 5, broken()

    failing = Failing()
    requests = RecordedRequests(SCOPES)
    with pytest.raises(ConnectionError):
        look_up(requests, failing, order(KEEPER, "any"))
    assert not requests.known.loaded
    for _ in range(3):
        look_up(requests, store, order(KEEPER, "kept"))
    assert store.key_loads == 1
    assert requests.of(order(KEEPER, "kept"), NOON) == Recorded(YESTERDAY, "O-KEPT")


def test_the_filter_never_rules_out_a_key_it_was_given() -> None:
    known = RecordedKeys(floor=1000)
    assert known.might_hold(("fix:ANY", "unknown"))  # not loaded: everything may be recorded
    keys = [(f"amqp:A{n % 7}", f"c-{n}") for n in range(1000)]
    known.load(len(keys), iter(keys))
    assert all(known.might_hold(k) for k in keys)
    never = sum(known.might_hold(("amqp:A0", f"x-{n}")) for n in range(10_000))
    assert never < 300  # sized for 1% false positives at 1000 keys (1000 loaded here)


def test_the_filter_is_sized_for_twice_the_rows_loaded_at_least_the_floor() -> None:
    small, large = RecordedKeys(floor=1000), RecordedKeys(floor=1000)
    small.load(10, iter([("amqp:A", "c")]))
    large.load(4000, iter([]))
    assert (small.capacity, large.capacity) == (1000, 8000)


def test_passing_the_capacity_warns_once_and_still_rules_nothing_in_wrongly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    known = RecordedKeys(floor=10)
    known.load(0, iter([]))
    with caplog.at_level(logging.WARNING, logger="oms.engine.recorded_keys"):
        for n in range(30):
            known.add(("amqp:A", f"c-{n}"))
            assert known.outgrown == (n >= 10)  # the gateway then loads a new one
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "sized for 10" in caplog.records[0].getMessage()
    assert all(known.might_hold(("amqp:A", f"c-{n}")) for n in range(30))
