"""When the venue closes: the end-of-day expiry of day orders runs at each close."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from oms.settings import WEEKDAYS, TradingHours


def is_trading_day(hours: TradingHours, day: date) -> bool:
    return WEEKDAYS[day.weekday()] in hours.days and day.isoformat() not in hours.holidays


def next_close(hours: TradingHours, after: datetime) -> datetime:
    """The first close strictly after ``after`` (an aware datetime), in UTC-aware form.

    Only trading days close. Raises ValueError when no trading day falls in the next year.
    """
    if after.tzinfo is None:
        raise ValueError("next_close needs an aware datetime")
    zone = hours.zone
    local = after.astimezone(zone)
    for offset in range(367):
        day = local.date() + timedelta(days=offset)
        if not is_trading_day(hours, day):
            continue
        close = datetime.combine(day, hours.close, tzinfo=zone)
        if close > after:
            return close
    raise ValueError("the venue has no trading day in the coming year")
