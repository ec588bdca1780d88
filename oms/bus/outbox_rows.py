"""The relay's reads and writes of the ``outbox`` table (SQLAlchemy Core, short transactions).

A row is *pending* while ``published_at`` and ``parked_reason`` are both null (the partial index
``ix_outbox_unpublished`` covers exactly those rows). The body is read as the JSONB text that
PostgreSQL prints, so numbers are never turned into floats on the way; its ``order_id`` and
``seq`` are read beside it (the relay keeps each order's events in ``seq`` order). The core's
rows carry no body of their own: it is their event's, stored once in ``order_events``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import (
    Connection,
    Engine,
    String,
    Table,
    any_,
    bindparam,
    case,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import cast as sql_cast

from oms.settings import DEFAULT_SHARD
from oms.store.models import OrderEvent, OutboxEvent

OUTBOX = cast(Table, OutboxEvent.__table__)
_EVENTS = cast(Table, OrderEvent.__table__)
_UUIDS = ARRAY(UUID(as_uuid=True))
BODY = func.coalesce(
    OUTBOX.c.body,
    select(_EVENTS.c.body).where(_EVENTS.c.event_id == OUTBOX.c.event_id).scalar_subquery(),
)
"""A row's body: its own, else (the core's rows) its event's in ``order_events``."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    """0 for a row handed off by the core (published from memory, marked by ``event_id``)."""
    event_id: str
    exchange: str
    routing_key: str
    body: bytes
    attempts: int
    order_id: str | None = None
    """None for an order-less rejection: such an event has no order to keep in order."""
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class ParkedRow:
    """A row given up on: it stays in the table with ``parked_reason``, never published."""

    event_id: str
    order_id: str | None
    seq: int | None
    reason: str
    attempts: int


class OutboxRows:
    """Reads go through one connection kept open in autocommit mode: the relay reads after
    every wake-up, and a pooled checkout (a ping, then a rollback on return) tripled the
    round trips of each read. The connection is replaced after any database error."""

    def __init__(self, engine: Engine, shard: str = DEFAULT_SHARD) -> None:
        """``shard``: the rows of that shard's gateway only (each shard has its relay)."""
        self._engine = engine
        self._shard = shard
        self._reader: Connection | None = None

    def _connection(self) -> Connection:
        if self._reader is None or self._reader.closed or self._reader.invalidated:
            self._reader = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT")
        return self._reader

    def close(self) -> None:
        """Return the reading connection (the relay's thread, when it stops)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            with contextlib.suppress(SQLAlchemyError):
                reader.close()

    def pending(self, after_id: int, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` pending rows with ids above ``after_id``, in id order."""
        query = (
            select(
                OUTBOX.c.id, OUTBOX.c.event_id, OUTBOX.c.exchange, OUTBOX.c.routing_key,
                sql_cast(BODY, String).label("body"), OUTBOX.c.attempts,
                BODY["order_id"].astext.label("order_id"),
                BODY["seq"].astext.label("seq"),
            )
            .where(
                OUTBOX.c.shard == self._shard,
                OUTBOX.c.published_at.is_(None),
                OUTBOX.c.parked_reason.is_(None),
                OUTBOX.c.id > after_id,
            )
            .order_by(OUTBOX.c.id)
            .limit(limit)
        )
        try:
            result = self._connection().execute(query).all()
        except SQLAlchemyError:
            self.close()
            raise
        return [
            OutboxRow(
                id=row.id, event_id=str(row.event_id), exchange=row.exchange,
                routing_key=row.routing_key, body=row.body.encode("utf-8"),
                attempts=row.attempts, order_id=row.order_id, seq=_integer(row.seq),
            )
            for row in result
        ]

    def settle(
        self,
        published: Sequence[int],
        failed: Mapping[str, tuple[str, int]],
        max_attempts: int,
        published_events: Sequence[str] = (),
    ) -> list[ParkedRow]:
        """In one transaction: mark ``published`` rows (by id) and ``published_events`` (by
        event id) published; count the failed attempts of each ``failed`` row (event id ->
        (reason, attempts failed since the last call)) and park it with its reason once it
        reaches ``max_attempts``. Returns the rows parked now."""
        parked: list[ParkedRow] = []
        with self._engine.begin() as conn:
            if published_events:
                conn.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.event_id == any_(bindparam("events", type_=_UUIDS)),
                           OUTBOX.c.published_at.is_(None))
                    .values(published_at=func.now()),
                    {"events": [uuid.UUID(e) for e in published_events]},
                )
            if published:
                conn.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_(list(published)), OUTBOX.c.published_at.is_(None))
                    .values(published_at=func.now())
                )
            if failed:
                attempts = OUTBOX.c.attempts + bindparam("b_failures")
                statement = (
                    update(OUTBOX)
                    .where(OUTBOX.c.event_id == bindparam("b_event"),
                           OUTBOX.c.published_at.is_(None))
                    .values(
                        attempts=attempts,
                        parked_reason=case(
                            (attempts >= max_attempts, bindparam("b_reason")), else_=None
                        ),
                    )
                    .returning(
                        OUTBOX.c.event_id, OUTBOX.c.parked_reason, OUTBOX.c.attempts,
                        BODY["order_id"].astext.label("order_id"),
                        BODY["seq"].astext.label("seq"),
                    )
                )
                for event_id, (reason, failures) in failed.items():
                    result = conn.execute(statement, {
                        "b_event": uuid.UUID(event_id), "b_reason": reason,
                        "b_failures": failures})
                    parked += [
                        ParkedRow(str(row.event_id), row.order_id, _integer(row.seq),
                                  row.parked_reason, row.attempts)
                        for row in result if row.parked_reason is not None
                    ]
        return parked


def _integer(text: str | None) -> int | None:
    """``seq`` as the JSONB text gives it (null for an order-less rejection; it only names the
    event in the relay's logs, so a body that is not the contract's does not stop the relay)."""
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class PendingMarks:
    """Marks and refusals gathered on the relay's thread, written together by ``write`` (and
    kept for the next ``write`` if the database fails)."""

    def __init__(self) -> None:
        self._ids: list[int] = []
        self._events: list[str] = []
        self.failed: dict[str, tuple[str, int]] = {}
        """Event id -> (reason, refusals not yet counted in the table)."""

    @property
    def published(self) -> int:
        return len(self._ids) + len(self._events)

    def confirmed(self, row: OutboxRow) -> None:
        if row.id:  # a row read from the table (a handed-off row has no id: 0)
            self._ids.append(row.id)
        else:
            self._events.append(row.event_id)

    def refused(self, event_id: str, reason: str) -> None:
        _, failures = self.failed.get(event_id, (reason, 0))
        self.failed[event_id] = (reason, failures + 1)

    def write(self, rows: OutboxRows, max_attempts: int) -> tuple[int, list[ParkedRow]]:
        """(rows marked published, rows parked now); raises ``SQLAlchemyError``."""
        if not self._ids and not self._events and not self.failed:
            return 0, []
        parked = rows.settle(self._ids, self.failed, max_attempts, self._events)
        published = self.published
        self._ids, self._events, self.failed = [], [], {}
        return published, parked
