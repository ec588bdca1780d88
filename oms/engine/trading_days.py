"""The trading day of a client request, and how far back its ClOrdID must be unique.

Pure: times are passed in, time zones are ``tzinfo`` objects (the settings load them).

- A FIX client session's trading day is the date of the request's UTC time in the session's
  time zone (``hours.timezone``): its day boundary is local midnight.
- An AMQP strategy's trading day is the UTC date.
- ``cl_ord_id_scope = "day"`` (FIX sessions, the default): a ClOrdID is a duplicate only if the
  session used it on this trading day (or a later one, should the clock or the time zone ever
  move backwards); it may be used again on a later day. ``"forever"`` (and every AMQP origin):
  a duplicate whenever a retained request has it, whatever its day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

EVERY_DAY = date.min
"""The first trading day of a ``forever`` scope: every retained request counts."""


def trading_day(at: datetime, zone: tzinfo) -> date:
    """The date of the instant ``at`` (timezone-aware) in ``zone``."""
    if at.tzinfo is None:
        raise ValueError("trading_day needs a timezone-aware time")
    return at.astimezone(zone).date()


@dataclass(frozen=True, slots=True)
class ClOrdIdScope:
    """How one origin's ClOrdIDs are kept unique."""

    zone: tzinfo = UTC
    per_day: bool = False

    def day_of(self, at: datetime) -> date:
        return trading_day(at, self.zone)

    def duplicates_since(self, day: date) -> date:
        """The earliest trading day on which an earlier use of a ClOrdID makes a request of
        trading day ``day`` a duplicate."""
        return day if self.per_day else EVERY_DAY


FOREVER_UTC = ClOrdIdScope()
"""AMQP origins, and any origin not configured otherwise."""


@dataclass(frozen=True, slots=True)
class ClOrdIdScopes:
    """The scope of each origin (``fix:<session name>``); every other origin is ``FOREVER_UTC``."""

    by_origin: Mapping[str, ClOrdIdScope] = field(default_factory=dict)

    def of(self, origin: str) -> ClOrdIdScope:
        return self.by_origin.get(origin, FOREVER_UTC)

    @classmethod
    def of_sessions(cls, sessions: Iterable[tuple[str, tzinfo, bool]]) -> ClOrdIdScopes:
        """From (session name, time zone, scope is per day) of each FIX client session."""
        return cls({f"fix:{name}": ClOrdIdScope(zone, per_day)
                    for name, zone, per_day in sessions})
