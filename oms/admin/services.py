"""What the admin pages talk to: the database engine, Redis and the login throttle.

Each is created on first use in the process that uses it, never at import and never in the
gunicorn master: database pools and sockets must not be shared across a fork. ``post_fork`` in
``config/gunicorn.conf.py`` also calls ``dispose_inherited_pools`` in case a pool was opened
before the fork (``preload_app``).
"""

from __future__ import annotations

import threading
import weakref
from typing import cast

from flask import current_app
from sqlalchemy import Engine

from oms.admin.throttle import LoginThrottle
from oms.cache import CacheUnavailable, RedisCache
from oms.settings import Settings
from oms.store.db import make_engine

_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def dispose_inherited_pools() -> None:
    """Forget (without closing) connections inherited from the parent process."""
    for engine in list(_ENGINES):
        engine.dispose(close=False)


class AdminServices:
    def __init__(self, settings: Settings, *, redis_prefix: str, login_attempts_per_minute: int,
                 pool_size: int = 2) -> None:
        self.settings = settings
        self.redis_prefix = redis_prefix
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._cache: RedisCache | None = None
        self.throttle = LoginThrottle(
            settings.redis_url, prefix=redis_prefix, per_minute=login_attempts_per_minute
        )

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(
                    self.settings.database_url, pool_size=self._pool_size,
                    application_name="oms-admin",
                )
                _ENGINES.add(self._engine)
            return self._engine

    def cache(self) -> RedisCache:
        """The Redis cache; raises ``CacheUnavailable`` when Redis does not answer."""
        with self._lock:
            if self._cache is None:
                cache = RedisCache(self.settings.redis_url, prefix=self.redis_prefix,
                                   timeout_s=1.0)
                cache.start()
                self._cache = cache
            return self._cache

    def cache_or_none(self) -> RedisCache | None:
        try:
            return self.cache()
        except CacheUnavailable:
            return None

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
            if self._cache is not None:
                self._cache.close()
                self._cache = None
        self.throttle.close()


def services() -> AdminServices:
    return cast(AdminServices, current_app.extensions["oms"])
