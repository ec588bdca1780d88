"""Redis hot state: reference prices, the kill-switch mirror, live status for the admin pages.

Redis may keep nothing on disk, so nothing here is a source of truth: reference prices are
re-seeded from the settings file, the kill-switch state lives in PostgreSQL (this is a mirror
for display and fast reads), status is rewritten continuously.

Every key lives under a prefix (default ``oms:``) so a test run isolates itself with its own.
Values are strings, never floats: decimals as plain decimal text, times as ISO 8601 UTC.
A connection or timeout error raises ``CacheUnavailable``: callers decide how to fail closed
(the core treats a missing reference price as a reject, never as a pass).

Keys: ``<prefix>reference_prices`` (hash symbol -> {"price", "as_of"}),
``<prefix>kill_switches`` (hash "scope:key" -> entry; ``kill_switches:<shard>`` per shard),
``<prefix>status:<component>`` (hash)
and ``<prefix>status_components`` (set of component names).

Thread safety: redis-py clients are thread safe (a connection pool); one ``RedisCache`` may be
shared by the threads of a process. Create it after forking (gunicorn workers).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from oms.domain.risk.kill_switch import KillSwitchEntry
from oms.domain.values import KillScope
from oms.settings import InstrumentSettings, Settings

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "oms:"
UPDATED_AT = "updated_at"

_HashFields = dict[str | bytes, str]


class CacheUnavailable(Exception):  # noqa: N818 - the name states the condition callers handle
    """Redis cannot be reached (or did not answer in time)."""


def _kill_switches_key(shard: str | None) -> str:
    return "kill_switches" if shard is None else f"kill_switches:{shard}"


def status_component(shard: str | None) -> str:
    """The status a gateway publishes: ``gateway``, or ``gateway:<shard>`` for a shard's
    (``oms gateway --shard``); the admin pages show one per shard."""
    return "gateway" if shard is None else f"gateway:{shard}"


class RedisCache:
    def __init__(
        self, url: str, *, prefix: str = DEFAULT_PREFIX, timeout_s: float = 2.0
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._client: redis.Redis[str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, prefix: str = DEFAULT_PREFIX) -> RedisCache:
        return cls(settings.redis_url, prefix=prefix)

    @property
    def prefix(self) -> str:
        return self._prefix

    def start(self) -> None:
        """Connect and check that Redis answers (raises ``CacheUnavailable`` otherwise)."""
        self._client = redis.Redis.from_url(
            self._url,
            decode_responses=True,
            socket_timeout=self._timeout_s,
            socket_connect_timeout=self._timeout_s,
            # Fail within the timeout: the callers poll every second and keep what they
            # have; retries with backoff would hold their threads far longer.
            retry=Retry(NoBackoff(), 0),
        )
        with self._available():
            self._client.ping()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- reference prices ---------------------------------------------------------------------

    def set_reference_price(self, symbol: str, price: Decimal, as_of: datetime) -> None:
        with self._available():
            self._redis.hset(self._key("reference_prices"), symbol, _price_value(price, as_of))

    def seed_reference_prices(
        self, instruments: Iterable[InstrumentSettings], as_of: datetime, *,
        overwrite: bool = False,
    ) -> int:
        """Reference prices from the settings file; a price already in Redis (fresher, from a
        market data feed or an operator) is kept unless ``overwrite``. Returns how many were
        written."""
        key = self._key("reference_prices")
        written = 0
        with self._available():
            for inst in instruments:
                if inst.reference_price is None:
                    continue
                value = _price_value(inst.reference_price, as_of)
                if overwrite:
                    self._redis.hset(key, inst.symbol, value)
                    written += 1
                elif self._redis.hsetnx(key, inst.symbol, value):
                    written += 1
        return written

    def reference_prices(self) -> dict[str, tuple[Decimal, datetime]]:
        """Every reference price with its as-of time. An unreadable entry is left out (and
        logged): a missing price makes the price collar reject, never pass."""
        with self._available():
            raw = self._redis.hgetall(self._key("reference_prices"))
        prices: dict[str, tuple[Decimal, datetime]] = {}
        for symbol, value in raw.items():
            parsed = _parse_price_value(value)
            if parsed is None:
                log.warning("cache: unreadable reference price for %r: %r", symbol, value)
            else:
                prices[symbol] = parsed
        return prices

    def reference_price(self, symbol: str) -> tuple[Decimal, datetime] | None:
        with self._available():
            value = self._redis.hget(self._key("reference_prices"), symbol)
        return None if value is None else _parse_price_value(value)

    # --- kill-switch mirror -------------------------------------------------------------------

    def mirror_kill_switches(self, entries: Iterable[KillSwitchEntry], *,
                             shard: str | None = None) -> None:
        """Replace the mirror with ``entries`` (the tripped switches), atomically; ``shard``:
        that shard's mirror (each shard has its own switches)."""
        key = self._key(_kill_switches_key(shard))
        mapping: _HashFields = {
            f"{e.scope.value}:{e.key}": _kill_switch_value(e) for e in entries
        }
        with self._available():
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(key)
            if mapping:
                pipe.hset(key, mapping=mapping)
            pipe.execute()

    def kill_switches(self, *, shard: str | None = None) -> list[KillSwitchEntry]:
        with self._available():
            raw = self._redis.hgetall(self._key(_kill_switches_key(shard)))
        entries = []
        for field, value in sorted(raw.items()):
            entry = _parse_kill_switch(value)
            if entry is None:
                log.warning("cache: unreadable kill-switch mirror entry %r: %r", field, value)
            else:
                entries.append(entry)
        return entries

    # --- live status --------------------------------------------------------------------------

    def publish_status(
        self, component: str, fields: Mapping[str, str], *, at: datetime | None = None
    ) -> None:
        """Set ``fields`` of ``component``'s status (other fields are kept), with its
        ``updated_at`` (``at``, else now)."""
        moment = at if at is not None else datetime.now(UTC)
        values: _HashFields = {name: value for name, value in fields.items()}
        values[UPDATED_AT] = _utc_text(moment)
        with self._available():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(self._key(f"status:{component}"), mapping=values)
            pipe.sadd(self._key("status_components"), component)
            pipe.execute()

    def read_status(self) -> dict[str, dict[str, str]]:
        """Every component's status fields, by component name."""
        with self._available():
            components = sorted(self._redis.smembers(self._key("status_components")))
            pipe = self._redis.pipeline(transaction=False)
            for component in components:
                pipe.hgetall(self._key(f"status:{component}"))
            return dict(zip(components, pipe.execute(), strict=True))

    def clear_status(self, component: str) -> None:
        with self._available():
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(self._key(f"status:{component}"))
            pipe.srem(self._key("status_components"), component)
            pipe.execute()

    # --- plumbing -----------------------------------------------------------------------------

    @property
    def _redis(self) -> redis.Redis[str]:
        if self._client is None:
            raise RuntimeError("RedisCache.start() was not called")
        return self._client

    def _key(self, name: str) -> str:
        return f"{self._prefix}{name}"

    @contextmanager
    def _available(self) -> Iterator[None]:
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            raise CacheUnavailable(f"Redis at {_where(self._url)} is unavailable: {error}") from (
                error
            )


def _where(url: str) -> str:
    """The URL without credentials, for messages."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a time zone")
    return moment.astimezone(UTC).isoformat()


def _price_value(price: Decimal, as_of: datetime) -> str:
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        raise ValueError(f"a reference price must be a positive finite Decimal, not {price!r}")
    return json.dumps({"price": format(price, "f"), "as_of": _utc_text(as_of)})


def _parse_price_value(value: str) -> tuple[Decimal, datetime] | None:
    try:
        data = json.loads(value)
        price = Decimal(data["price"])
        as_of = datetime.fromisoformat(data["as_of"])
    except (ValueError, TypeError, KeyError, InvalidOperation):
        return None
    if not price.is_finite() or as_of.tzinfo is None:
        return None
    return price, as_of.astimezone(UTC)


def _kill_switch_value(entry: KillSwitchEntry) -> str:
    return json.dumps({
        "scope": entry.scope.value, "key": entry.key, "tripped_by": entry.tripped_by,
        "reason": entry.reason, "tripped_at": _utc_text(entry.tripped_at),
    })


def _parse_kill_switch(value: str) -> KillSwitchEntry | None:
    try:
        data = json.loads(value)
        return KillSwitchEntry(
            scope=KillScope(data["scope"]), key=str(data["key"]),
            tripped_by=str(data["tripped_by"]), reason=str(data["reason"]),
            tripped_at=datetime.fromisoformat(data["tripped_at"]).astimezone(UTC),
        )
    except (ValueError, TypeError, KeyError):
        return None
