"""Hot state in Redis: reference prices, the kill-switch mirror and live status (real Redis,
keys under this test's own prefix)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import redis

from oms.cache import CacheUnavailable, RedisCache
from oms.domain.risk.kill_switch import KillSwitchEntry
from oms.domain.values import KillScope
from oms.settings import InstrumentSettings

pytestmark = pytest.mark.integration

NOON = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def cache(redis_url: str, redis_prefix: str) -> Iterator[RedisCache]:
    cache = RedisCache(redis_url, prefix=redis_prefix)
    cache.start()
    yield cache
    cache.close()


def test_reference_prices_keep_their_exact_decimal_and_as_of_time(cache: RedisCache) -> None:
    paris = timezone(timedelta(hours=2))
    cache.set_reference_price("AAPL", Decimal("190.1234567891"), datetime(2024, 6, 3, 14, 0,
                                                                          tzinfo=paris))
    cache.set_reference_price("ZVZZT", Decimal("1E+1"), NOON)
    assert cache.reference_prices() == {
        "AAPL": (Decimal("190.1234567891"), NOON),
        "ZVZZT": (Decimal("10"), NOON),
    }
    price, as_of = cache.reference_price("AAPL") or (None, None)
    assert str(price) == "190.1234567891" and as_of is not None and as_of.tzinfo == UTC
    assert cache.reference_price("MSFT") is None


def test_reference_prices_are_stored_as_text_never_floats(
    cache: RedisCache, redis_url: str
) -> None:
    cache.set_reference_price("AAPL", Decimal("0.1"), NOON)
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        stored = raw.hget(f"{cache.prefix}reference_prices", "AAPL")
    finally:
        raw.close()
    assert stored == '{"price": "0.1", "as_of": "2024-06-03T12:00:00+00:00"}'


def test_seeding_from_settings_keeps_fresher_prices_unless_told_to_overwrite(
    cache: RedisCache,
) -> None:
    instruments = [
        InstrumentSettings(symbol="AAPL", venue="SIM", reference_price=Decimal("190.00")),
        InstrumentSettings(symbol="ZVZZT", venue="SIM", reference_price=Decimal("10.00")),
        InstrumentSettings(symbol="NOREF", venue="SIM"),
    ]
    later = NOON + timedelta(hours=1)
    cache.set_reference_price("AAPL", Decimal("191.50"), later)
    assert cache.seed_reference_prices(instruments, NOON) == 1
    assert cache.reference_prices() == {
        "AAPL": (Decimal("191.50"), later),
        "ZVZZT": (Decimal("10.00"), NOON),
    }
    assert cache.seed_reference_prices(instruments, NOON, overwrite=True) == 2
    assert cache.reference_prices()["AAPL"] == (Decimal("190.00"), NOON)


def test_a_reference_price_must_be_a_positive_decimal_with_a_zone(cache: RedisCache) -> None:
    with pytest.raises(ValueError, match="positive finite Decimal"):
        cache.set_reference_price("AAPL", Decimal("-1"), NOON)
    with pytest.raises(ValueError, match="positive finite Decimal"):
        cache.set_reference_price("AAPL", 190.0, NOON)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive datetime"):
        cache.set_reference_price("AAPL", Decimal("190"), datetime(2024, 6, 3, 12, 0))


def test_an_unreadable_reference_price_is_left_out_so_the_collar_rejects(
    cache: RedisCache, redis_url: str
) -> None:
    cache.set_reference_price("AAPL", Decimal("190"), NOON)
    raw = redis.Redis.from_url(redis_url)
    try:
        raw.hset(f"{cache.prefix}reference_prices", "MSFT", "420.0")
    finally:
        raw.close()
    assert cache.reference_prices() == {"AAPL": (Decimal("190"), NOON)}
    assert cache.reference_price("MSFT") is None


def test_the_kill_switch_mirror_is_replaced_as_a_whole(cache: RedisCache) -> None:
    everything = KillSwitchEntry(KillScope.GLOBAL, "*", "alice", "market halt", NOON)
    one_account = KillSwitchEntry(KillScope.ACCOUNT, "DEMO1", "bob", "runaway algo", NOON)
    cache.mirror_kill_switches([everything, one_account])
    assert cache.kill_switches() == [one_account, everything]
    cache.mirror_kill_switches([one_account])
    assert cache.kill_switches() == [one_account]
    cache.mirror_kill_switches([])
    assert cache.kill_switches() == []


def test_live_status_is_kept_per_component_with_its_update_time(cache: RedisCache) -> None:
    cache.publish_status("engine", {"heartbeat": "2024-06-03T12:00:00Z", "inbox_depth": "3"},
                         at=NOON)
    cache.publish_status("fix:SIM", {"state": "logged_on", "next_sender_seq": "42"}, at=NOON)
    cache.publish_status("engine", {"inbox_depth": "0", "p99_latency_us": "850"}, at=NOON)
    assert cache.read_status() == {
        "engine": {"heartbeat": "2024-06-03T12:00:00Z", "inbox_depth": "0",
                   "p99_latency_us": "850", "updated_at": "2024-06-03T12:00:00+00:00"},
        "fix:SIM": {"state": "logged_on", "next_sender_seq": "42",
                    "updated_at": "2024-06-03T12:00:00+00:00"},
    }
    cache.clear_status("fix:SIM")
    assert set(cache.read_status()) == {"engine"}


def test_two_prefixes_never_see_each_other(redis_url: str, redis_prefix: str) -> None:
    mine = RedisCache(redis_url, prefix=redis_prefix + "a:")
    theirs = RedisCache(redis_url, prefix=redis_prefix + "b:")
    mine.start()
    theirs.start()
    try:
        mine.set_reference_price("AAPL", Decimal("1"), NOON)
        mine.publish_status("engine", {"x": "1"})
        assert theirs.reference_prices() == {}
        assert theirs.read_status() == {}
    finally:
        mine.close()
        theirs.close()


def test_an_unreachable_redis_fails_closed_with_cache_unavailable() -> None:
    cache = RedisCache("redis://user:secret@127.0.0.1:1/0", timeout_s=0.5)
    with pytest.raises(CacheUnavailable, match=r"127\.0\.0\.1:1/0 is unavailable") as raised:
        cache.start()
    assert "secret" not in str(raised.value)
    with pytest.raises(CacheUnavailable):
        cache.reference_prices()
    with pytest.raises(CacheUnavailable):
        cache.publish_status("engine", {"heartbeat": "now"})
    cache.close()


def test_using_the_cache_before_start_is_a_programming_error(redis_url: str) -> None:
    with pytest.raises(RuntimeError, match=r"start\(\) was not called"):
        RedisCache(redis_url).reference_prices()
