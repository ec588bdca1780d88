"""The durable channel from operators to the gateway: a Postgres table plus LISTEN/NOTIFY.

The admin pages insert a command row (and its audit row) and NOTIFY in one transaction; the
gateway's listener wakes, reads unprocessed rows in id order and puts them on the core's inbox;
the core marks each processed, with its result, in the transaction that applied it. A command
issued while the gateway is down waits in the table: nothing depends on Redis, which keeps
nothing on disk.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Connection, Table, insert, text, update
from sqlalchemy.engine import make_url

from oms.engine.inputs import OperatorCommandReceived
from oms.retry import RetryPolicy
from oms.settings import DEFAULT_SHARD
from oms.store.db import STATEMENT_TIMEOUT_S, connection_timeouts, server_options
from oms.store.models import OperatorAudit, OperatorCommand

log = logging.getLogger(__name__)

CHANNEL = "oms_operator_commands"
LISTEN_RETRY = RetryPolicy(initial_delay_s=0.5, max_delay_s=10.0)
COMMANDS = cast(Table, OperatorCommand.__table__)
AUDIT = cast(Table, OperatorAudit.__table__)


def issue_command(
    conn: Connection, *, kind: str, payload: dict[str, Any], issued_by: str, reason: str,
    at: datetime, target: str, shard: str = DEFAULT_SHARD,
) -> int:
    """Record an operator command for ``shard``'s gateway and its audit row; the gateways are
    notified on commit."""
    command_id = conn.execute(
        insert(COMMANDS)
        .values(kind=kind, payload=payload, issued_by=issued_by, reason=reason, created_at=at,
                shard=shard)
        .returning(COMMANDS.c.id)
    ).scalar_one()
    conn.execute(
        insert(AUDIT).values(
            at=at, username=issued_by, action=kind, target=target, reason=reason,
            details=payload | {"command_id": command_id, "shard": shard},
        )
    )
    conn.execute(text(f"NOTIFY {CHANNEL}"))
    return int(command_id)


def mark_processed(conn: Connection, command_id: int, result: str, at: datetime) -> None:
    conn.execute(
        update(COMMANDS)
        .where(COMMANDS.c.id == command_id)
        .values(processed_at=at, result=result)
    )


def libpq_conninfo(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url)
    timeouts = connection_timeouts(sqlalchemy_url)
    parts: dict[str, str | int | None] = {
        "host": url.host, "port": url.port, "user": url.username, "password": url.password,
        "dbname": url.database, "options": server_options(timeouts, STATEMENT_TIMEOUT_S),
    }
    parts.update(timeouts)  # LISTEN idles for long: keepalives find a dead peer (both ends)
    return psycopg.conninfo.make_conninfo("", **{k: v for k, v in parts.items() if v is not None})


class OperatorCommandListener:
    """Feeds unprocessed operator commands to ``sink`` in id order; reconnects on its own."""

    def __init__(self, database_url: str, sink: Callable[[object], None],
                 shard: str = DEFAULT_SHARD) -> None:
        """``shard``: only the commands addressed to that shard's gateway."""
        self._shard = shard
        self._conninfo = libpq_conninfo(database_url)
        self._sink = sink
        self._stop = threading.Event()
        self._retrier = LISTEN_RETRY.retrier(
            "operator channel: listening on PostgreSQL", self._stop, logger=log
        )
        self._handed: set[int] = set()
        """Commands handed to the core and not yet processed: not handed again, unless the
        core gives one back (its batch did not commit)."""
        self._handed_lock = threading.Lock()
        self._given_back = threading.Event()
        self._thread = threading.Thread(target=self._run, name="operator-commands", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        self._retrier.call(self._listen_until_stopped, retry_on=(psycopg.OperationalError,))

    def _listen_until_stopped(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self._retrier.succeeded()
            self._drain(conn)
            while not self._stop.is_set():
                # a command given back is looked at within this timeout
                timeout = 0.05 if self._given_back.is_set() else 1.0
                for _ in conn.notifies(timeout=timeout, stop_after=1):
                    pass
                self._drain(conn)

    def give_back(self, command_id: int) -> None:
        """The core's batch with this command did not commit: deliver it again (any thread)."""
        with self._handed_lock:
            self._handed.discard(command_id)
        self._given_back.set()

    def _drain(self, conn: psycopg.Connection[Any]) -> None:
        self._given_back.clear()
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "SELECT id, kind, payload, issued_by, reason FROM operator_commands "
                "WHERE processed_at IS NULL AND shard = %s ORDER BY id", (self._shard,)
            )
            rows = cur.fetchall()
        with self._handed_lock:
            # a handed command no longer unprocessed has been applied: forget it
            self._handed &= {int(row["id"]) for row in rows}
            fresh = [row for row in rows if int(row["id"]) not in self._handed]
            self._handed.update(int(row["id"]) for row in fresh)
        for row in fresh:
            command_id = int(row["id"])
            self._sink(
                OperatorCommandReceived(
                    command_id=command_id, kind=str(row["kind"]),
                    payload=dict(row["payload"]), issued_by=str(row["issued_by"]),
                    reason=str(row["reason"]),
                    give_back=functools.partial(self.give_back, command_id),
                )
            )
