"""Login throttling per username and client address.

Failed logins are counted in Redis (shared by every gunicorn worker) in a one-minute window that
starts at the first failure; at ``per_minute`` failures the pair is refused until the window
ends, without even checking the password. A successful login clears the count. If Redis does not
answer, each worker counts in its own memory instead (so the limit is per worker while Redis is
down), which still stops a password-guessing run.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable

import redis
from redis.exceptions import RedisError

WINDOW_S = 60


class LoginThrottle:
    def __init__(
        self, redis_url: str, *, prefix: str, per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self._redis_url = redis_url
        self._prefix = prefix
        self._clock = clock
        self._client: redis.Redis[str] | None = None
        self._memory: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def is_blocked(self, username: str, address: str) -> bool:
        key = self._key(username, address)
        try:
            count = self._redis.get(key)
        except (RedisError, OSError):
            return self._memory_count(key) >= self.per_minute
        return count is not None and int(count) >= self.per_minute

    def record_failure(self, username: str, address: str) -> None:
        key = self._key(username, address)
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, WINDOW_S, nx=True)
            pipe.execute()
        except (RedisError, OSError):
            with self._lock:
                started, count = self._memory.get(key, (self._clock(), 0))
                if self._clock() - started >= WINDOW_S:
                    started, count = self._clock(), 0
                self._memory[key] = (started, count + 1)

    def clear(self, username: str, address: str) -> None:
        key = self._key(username, address)
        with self._lock:
            self._memory.pop(key, None)
        with contextlib.suppress(RedisError, OSError):
            self._redis.delete(key)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _memory_count(self, key: str) -> int:
        with self._lock:
            entry = self._memory.get(key)
            if entry is None:
                return 0
            started, count = entry
            if self._clock() - started >= WINDOW_S:
                del self._memory[key]
                return 0
            return count

    @property
    def _redis(self) -> redis.Redis[str]:
        if self._client is None:
            self._client = redis.Redis.from_url(
                self._redis_url, decode_responses=True, socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
        return self._client

    def _key(self, username: str, address: str) -> str:
        who = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()[:32]
        return f"{self._prefix}admin:login_failures:{who}"
