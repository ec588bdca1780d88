"""The trading day of a client request: the date of its UTC time in the session's time zone, so
a day-scoped session's ClOrdIDs may be used again after local midnight, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oms.engine.trading_days import (
    EVERY_DAY,
    FOREVER_UTC,
    ClOrdIdScope,
    ClOrdIdScopes,
    trading_day,
)

TRADING_CENTRES = [ZoneInfo(name) for name in (
    "America/New_York", "America/Chicago", "Europe/London", "Europe/Berlin", "Asia/Tokyo",
    "Asia/Hong_Kong", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Sydney",
    "Pacific/Auckland", "Pacific/Chatham", "Pacific/Kiritimati", "America/Havana", "UTC",
)]
"""Zones whose clocks never go back across midnight (so local dates never go backwards)."""

instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31),
                        timezones=st.just(UTC))


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("zone", "at", "day"), [
    # New York, spring forward (2026-03-08 02:00 EST -> 03:00 EDT): midnight is still EST
    ("America/New_York", "2026-03-08T04:59:59", "2026-03-07"),
    ("America/New_York", "2026-03-08T05:00:00", "2026-03-08"),
    ("America/New_York", "2026-03-09T03:59:59", "2026-03-08"),  # 23:59:59 EDT
    ("America/New_York", "2026-03-09T04:00:00", "2026-03-09"),
    # New York, fall back (2026-11-01 02:00 EDT -> 01:00 EST): the day has 25 hours
    ("America/New_York", "2026-11-01T03:59:59", "2026-10-31"),
    ("America/New_York", "2026-11-01T04:00:00", "2026-11-01"),
    ("America/New_York", "2026-11-02T04:59:59", "2026-11-01"),
    ("America/New_York", "2026-11-02T05:00:00", "2026-11-02"),
    # London, BST from 2026-03-29 01:00 UTC
    ("Europe/London", "2026-03-28T23:59:59", "2026-03-28"),
    ("Europe/London", "2026-03-29T22:59:59", "2026-03-29"),
    ("Europe/London", "2026-03-29T23:00:00", "2026-03-30"),
    # Sydney, AEDT ends 2026-04-05 03:00 -> 02:00 (southern hemisphere)
    ("Australia/Sydney", "2026-04-04T12:59:59", "2026-04-04"),
    ("Australia/Sydney", "2026-04-04T13:00:00", "2026-04-05"),
    ("Australia/Sydney", "2026-04-05T13:59:59", "2026-04-05"),
    ("Australia/Sydney", "2026-04-05T14:00:00", "2026-04-06"),
    # Havana springs forward at midnight (2026-03-08 00:00 CST -> 01:00 CDT): no local 00:00
    ("America/Havana", "2026-03-08T04:59:59", "2026-03-07"),
    ("America/Havana", "2026-03-08T05:00:00", "2026-03-08"),
    # odd offsets: +05:45, +14:00, -12:00
    ("Asia/Kathmandu", "2026-06-01T18:14:59", "2026-06-01"),
    ("Asia/Kathmandu", "2026-06-01T18:15:00", "2026-06-02"),
    ("Pacific/Kiritimati", "2026-06-01T10:00:00", "2026-06-02"),
    ("Etc/GMT+12", "2026-06-01T11:59:59", "2026-05-31"),
    ("UTC", "2026-06-01T23:59:59", "2026-06-01"),
])
def test_the_trading_day_turns_at_local_midnight(zone: str, at: str, day: str) -> None:
    assert trading_day(z(at), ZoneInfo(zone)) == date.fromisoformat(day)


@given(instants, st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_with_a_fixed_offset_the_day_is_the_date_of_the_shifted_time(
    at: datetime, offset_min: int
) -> None:
    offset = timedelta(minutes=offset_min)
    assert trading_day(at, timezone(offset)) == (at + offset).date()


@given(instants, st.timezones())
def test_the_day_is_the_utc_date_or_a_neighbour_and_the_same_whatever_zone_the_time_carries(
    at: datetime, zone: ZoneInfo
) -> None:
    day = trading_day(at, zone)
    assert abs((day - at.date()).days) <= 1
    assert trading_day(at.astimezone(zone), zone) == day
    assert trading_day(at.astimezone(timezone(timedelta(hours=-7))), zone) == day


@given(instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
       st.sampled_from(TRADING_CENTRES))
def test_trading_days_never_go_backwards_across_dst_changes(
    at: datetime, later: timedelta, zone: ZoneInfo
) -> None:
    first, second = trading_day(at, zone), trading_day(at + later, zone)
    assert first <= second <= first + timedelta(days=4)


@given(st.dates(min_value=date(1990, 1, 2), max_value=date(2099, 12, 30)),
       st.sampled_from(TRADING_CENTRES))
def test_the_first_instant_of_a_local_day_belongs_to_it_and_the_one_before_to_the_day_before(
    day: date, zone: ZoneInfo
) -> None:
    # local midnight as the zone's wall clock says it (where midnight is skipped by a DST
    # change, this is the instant of the change)
    midnight = datetime.combine(day, time(0), zone).astimezone(UTC)
    assert trading_day(midnight, zone) == day
    assert trading_day(midnight - timedelta(microseconds=1), zone) == day - timedelta(days=1)


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        trading_day(datetime(2026, 6, 1, 12, 0), UTC)


@given(instants)
def test_a_day_scope_counts_earlier_uses_of_the_same_day_and_forever_every_day(
    at: datetime
) -> None:
    tokyo = ClOrdIdScope(ZoneInfo("Asia/Tokyo"), per_day=True)
    day = tokyo.day_of(at)
    assert tokyo.duplicates_since(day) == day
    assert FOREVER_UTC.day_of(at) == at.date()
    assert FOREVER_UTC.duplicates_since(at.date()) == EVERY_DAY <= date(1, 1, 1)


def test_amqp_origins_and_unknown_sessions_are_forever_in_utc() -> None:
    scopes = ClOrdIdScopes.of_sessions([("CLIENT1", ZoneInfo("America/New_York"), True),
                                        ("KEEPER", UTC, False)])
    assert scopes.of("fix:CLIENT1") == ClOrdIdScope(ZoneInfo("America/New_York"), True)
    assert scopes.of("fix:KEEPER").per_day is False
    assert scopes.of("amqp:DEMO1") is FOREVER_UTC
    assert scopes.of("fix:NOBODY") is FOREVER_UTC
