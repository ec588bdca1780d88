"""The demo's own state, apart from tests and from a developer's gateway: its own PostgreSQL
database, RabbitMQ vhost and Redis key prefix, all named after the demo (``oms_demo``).

Each run starts them afresh: the venue simulator keeps its order book in memory, so orders a
previous run left resting would be unknown to the new simulator. What a run leaves behind is
kept until the next run, to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
import redis
from sqlalchemy.engine import make_url

NAME_RULE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class DemoSetupError(Exception):
    """A service the demo needs could not be prepared; the message says what to do."""


@dataclass(frozen=True, slots=True)
class DemoState:
    """Where the demo keeps its state: derived from the connection URLs of the environment,
    with the database and vhost replaced by the demo's name."""

    name: str
    database_url: str
    amqp_url: str
    redis_url: str

    @classmethod
    def derive(cls, name: str, *, database_url: str, amqp_url: str, redis_url: str) -> DemoState:
        if not NAME_RULE.match(name):
            raise DemoSetupError(f"demo name {name!r}: lower-case letters, digits and _ only")
        database = make_url(database_url).set(database=name)
        amqp = urlsplit(amqp_url)
        return cls(
            name=name,
            database_url=database.render_as_string(hide_password=False),
            amqp_url=urlunsplit(amqp._replace(path="/" + quote(name, safe=""))),
            redis_url=redis_url,
        )

    @property
    def vhost(self) -> str:
        return self.name

    @property
    def redis_prefix(self) -> str:
        return f"{self.name}:"

    @property
    def amqp_user(self) -> str:
        return unquote(urlsplit(self.amqp_url).username or "guest")

    def safe_database_url(self) -> str:
        return make_url(self.database_url).render_as_string(hide_password=True)


def reset_database(state: DemoState) -> None:
    """Drop the demo database (closing its connections) and create it empty."""
    _on_server(state, f'DROP DATABASE IF EXISTS "{state.name}" WITH (FORCE)',
               f'CREATE DATABASE "{state.name}"')


def _on_server(state: DemoState, *statements: str) -> None:
    """Run ``statements`` on the server's ``postgres`` database, outside a transaction."""
    url = make_url(state.database_url)
    conninfo = psycopg.conninfo.make_conninfo(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        password=url.password or None, dbname="postgres", connect_timeout=5,
    )
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())
    except psycopg.Error as exc:
        raise DemoSetupError(
            f"cannot prepare database {state.name} at {url.host}:{url.port}: {exc}".strip()
        ) from None


def reset_vhost(state: DemoState) -> None:
    """Delete the demo vhost (its queues and any leftover messages) and create it again, with
    full permissions for the AMQP user. Needs ``rabbitmqctl`` on this machine."""
    if shutil.which("rabbitmqctl") is None:
        raise DemoSetupError(
            f"rabbitmqctl is not on PATH: create the vhost yourself (rabbitmqctl add_vhost "
            f"{state.vhost}; rabbitmqctl set_permissions -p {state.vhost} {state.amqp_user} "
            "'.*' '.*' '.*') or install RabbitMQ's tools"
        )
    _rabbitmqctl("delete_vhost", state.vhost, missing_ok=True)
    _rabbitmqctl("add_vhost", state.vhost)
    _rabbitmqctl("set_permissions", "-p", state.vhost, state.amqp_user, ".*", ".*", ".*")


def _rabbitmqctl(*args: str, missing_ok: bool = False) -> None:
    try:
        result = subprocess.run(
            ["rabbitmqctl", "-q", *args], check=False, capture_output=True, text=True, timeout=90,
        )
    except subprocess.TimeoutExpired:
        raise DemoSetupError(f"rabbitmqctl {' '.join(args)} did not answer in 90s") from None
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip()
        if missing_ok and ("no_such_vhost" in message or "does not exist" in message):
            return
        raise DemoSetupError(f"rabbitmqctl {' '.join(args)} failed: {message}")


def clear_redis(state: DemoState) -> int:
    """Delete the demo's keys (those under its prefix); returns how many there were."""
    client = redis.Redis.from_url(state.redis_url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{state.redis_prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    except redis.RedisError as exc:
        raise DemoSetupError(f"cannot reach Redis at {state.redis_url}: {exc}") from None
    finally:
        client.close()


def drop_state(state: DemoState) -> None:
    """Remove the database, the vhost and the Redis keys (for tests that run a demo)."""
    _on_server(state, f'DROP DATABASE IF EXISTS "{state.name}" WITH (FORCE)')
    _rabbitmqctl("delete_vhost", state.vhost, missing_ok=True)
    clear_redis(state)
