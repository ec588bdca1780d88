"""The relay's reads and writes of the ``outbox`` table (SQLAlchemy Core, short transactions).

A row is *pending* while ``published_at`` and ``parked_reason`` are both null (the partial index
``ix_outbox_unpublished`` covers exactly those rows). The body is read as the JSONB text that
PostgreSQL prints, so numbers are never turned into floats on the way.
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

from oms.store.models import OutboxEvent

OUTBOX = cast(Table, OutboxEvent.__table__)
_UUIDS = ARRAY(UUID(as_uuid=True))


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    event_id: str
    exchange: str
    routing_key: str
    body: bytes
    attempts: int


class OutboxRows:
    """Reads go through one connection kept open in autocommit mode: the relay reads after
    every wake-up, and a pooled checkout (a ping, then a rollback on return) tripled the
    round trips of each read. The connection is replaced after any database error."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
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
                sql_cast(OUTBOX.c.body, String).label("body"), OUTBOX.c.attempts,
            )
            .where(
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
                attempts=row.attempts,
            )
            for row in result
        ]

    def settle(
        self,
        published: Sequence[int],
        failed: Mapping[int, str],
        max_attempts: int,
        published_events: Sequence[str] = (),
    ) -> list[int]:
        """In one transaction: mark ``published`` rows (by id) and ``published_events`` (by
        event id) published; count one more attempt for each ``failed`` row and park it with
        its reason once it reaches ``max_attempts``. Returns the ids parked now."""
        parked: list[int] = []
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
                attempts = OUTBOX.c.attempts + 1
                statement = (
                    update(OUTBOX)
                    .where(OUTBOX.c.id == bindparam("b_id"), OUTBOX.c.published_at.is_(None))
                    .values(
                        attempts=attempts,
                        parked_reason=case(
                            (attempts >= max_attempts, bindparam("b_reason")), else_=None
                        ),
                    )
                    .returning(OUTBOX.c.id, OUTBOX.c.parked_reason)
                )
                for row_id, reason in failed.items():
                    result = conn.execute(statement, {"b_id": row_id, "b_reason": reason})
                    parked += [row.id for row in result if row.parked_reason is not None]
        return parked
