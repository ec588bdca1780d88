"""One batch of the core: every change the batch makes, written in ONE transaction, and the
effects that may only happen after that transaction commits (durable before visible)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import psycopg
from sqlalchemy import Connection, Engine, Table, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError

from oms.engine import batch_sql
from oms.settings import DEFAULT_SHARD
from oms.store import order_repository as orders_repo
from oms.store.models import (
    AccountBreaker,
    ClientOutboxMessage,
    Execution,
    FixMessage,
    FixSessionWatermark,
    KillSwitch,
    OutboxEvent,
    Position,
    UnmatchedReport,
    VenueRequest,
)
from oms.store.operator_channel import mark_processed


def _t(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


EXECUTIONS = _t(Execution)
POSITIONS = _t(Position)
VENUE_REQUESTS = _t(VenueRequest)
WATERMARKS = _t(FixSessionWatermark)
OUTBOX = _t(OutboxEvent)
CLIENT_OUTBOX = _t(ClientOutboxMessage)
UNMATCHED = _t(UnmatchedReport)
FIX_MESSAGES = _t(FixMessage)
KILL_SWITCHES = _t(KillSwitch)
BREAKERS = _t(AccountBreaker)

_ORDER_UPDATE = ("order_id", "version", *orders_repo.UPDATABLE_COLUMNS)
_ADD_TO_POSITION = (
    "ON CONFLICT (account, symbol) DO UPDATE SET"
    " net_qty = positions.net_qty + excluded.net_qty,"
    " bought_qty = positions.bought_qty + excluded.bought_qty,"
    " sold_qty = positions.sold_qty + excluded.sold_qty,"
    " bought_notional = positions.bought_notional + excluded.bought_notional,"
    " sold_notional = positions.sold_notional + excluded.sold_notional,"
    " updated_at = excluded.updated_at"
)
_SET_VENUE_REQUEST_STATES = (
    # One statement for the whole batch (an UPDATE per row cost a round trip each).
    "UPDATE venue_requests AS r SET state = CAST(s.state AS venue_request_state),"
    " note = COALESCE(s.note, r.note)"
    " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
    " AS s(venue, venue_cl_ord_id, state, note)"
    " WHERE r.venue = s.venue AND r.venue_cl_ord_id = s.venue_cl_ord_id"
)


@dataclass(slots=True)
class PositionDelta:
    bought_qty: Decimal = Decimal(0)
    sold_qty: Decimal = Decimal(0)
    bought_notional: Decimal = Decimal(0)
    sold_notional: Decimal = Decimal(0)

    def add(self, signed_qty: Decimal, price: Decimal) -> None:
        """A fill (or, with the opposite sign, its bust) moves the position."""
        if signed_qty >= 0:
            self.bought_qty += signed_qty
            self.bought_notional += signed_qty * price
        else:
            self.sold_qty -= signed_qty
            self.sold_notional -= signed_qty * price


_APPENDED = ("client_requests", "events", "outbox", "client_outbox", "client_outbox_sent",
             "executions", "venue_requests", "unmatched", "fix_messages", "kill_switches",
             "breakers", "operator_results", "after_commit", "deliveries")
_KEYED = ("venue_request_states", "venue_request_notes", "watermarks")
"""Small dicts (a few keys per input), copied at a mark; the order rows are journaled instead
(``save_order``): copying them at every input would cost the square of the batch's size."""


_VENUE = "venue:"


def watermark_row_key(key: str, shard: str) -> str:
    """The ``fix_session_watermarks`` key of a watermark: each shard has its own session to a
    venue, so a shard's venue key carries its name (``venue:SIM@A``); the implicit shard's does
    not (the key before shards existed), nor does a FIX client's (a client has one shard)."""
    if shard == DEFAULT_SHARD or not key.startswith(_VENUE):
        return key
    return f"{key}@{shard}"


def watermark_of_row(session_id: str, shard: str) -> str | None:
    """The in-memory key of a ``fix_session_watermarks`` row, or None if another shard's."""
    if not session_id.startswith(_VENUE):
        return session_id
    if shard == DEFAULT_SHARD:
        return None if "@" in session_id else session_id
    suffix = f"@{shard}"
    return session_id.removesuffix(suffix) if session_id.endswith(suffix) else None


@dataclass(frozen=True, slots=True)
class BatchMark:
    lists: dict[str, int]
    dicts: dict[str, dict[Any, Any]]
    positions: dict[tuple[str, str], PositionDelta]
    saved_orders: int


@dataclass(slots=True)
class Batch:
    """Rows to write and effects to carry out for one batch of inputs."""

    now: datetime
    shard: str = DEFAULT_SHARD
    """The shard whose gateway writes the batch: its outbox rows and watermarks are its own."""
    new_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    client_requests: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    client_outbox: list[dict[str, Any]] = field(default_factory=list)
    client_outbox_sent: list[int] = field(default_factory=list)
    """Ids of client outbox rows sent since the last batch: marked ``sent_at`` here."""
    executions: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[tuple[str, str], PositionDelta] = field(default_factory=dict)
    venue_requests: list[dict[str, Any]] = field(default_factory=list)
    venue_request_states: dict[tuple[str, str], str] = field(default_factory=dict)
    venue_request_notes: dict[tuple[str, str], str] = field(default_factory=dict)
    """Why a request changed state (in doubt): written with the state, in the same statement."""
    watermarks: dict[str, int] = field(default_factory=dict)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    fix_messages: list[dict[str, Any]] = field(default_factory=list)
    kill_switches: list[dict[str, Any]] = field(default_factory=list)
    breakers: list[dict[str, Any]] = field(default_factory=list)
    operator_results: list[tuple[int, str]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    deliveries: list[Any] = field(default_factory=list)
    """Strategy commands' envelopes (``ports.Envelope``) applied by this batch: acknowledged
    together after the commit and the other effects (the intake's ``ack_all``: one hop to the
    consumer's thread)."""
    _saved: list[tuple[dict[str, dict[str, Any]], str, dict[str, Any] | None]] = field(
        default_factory=list)
    """Each ``save_order``: the dict it wrote, the order id, and the row it replaced (None: a
    new key), so that ``rollback`` can take it back."""

    def mark(self) -> BatchMark:
        """Where the batch stands before an input: ``rollback`` takes back all that input
        added (rows, effects, deliveries), so that an input either happens whole or not at all."""
        return BatchMark(
            lists={name: len(getattr(self, name)) for name in _APPENDED},
            dicts={name: dict(getattr(self, name)) for name in _KEYED},
            positions={k: dataclasses.replace(d) for k, d in self.positions.items()},
            saved_orders=len(self._saved),
        )

    def rollback(self, mark: BatchMark) -> None:
        while len(self._saved) > mark.saved_orders:
            target, order_id, replaced = self._saved.pop()
            if replaced is None:
                del target[order_id]
            else:
                target[order_id] = replaced
        for name, length in mark.lists.items():
            del getattr(self, name)[length:]
        for name, saved in mark.dicts.items():
            current = getattr(self, name)
            current.clear()
            current.update(saved)
        self.positions = mark.positions

    def position(self, account: str, symbol: str) -> PositionDelta:
        key = (account, symbol)
        delta = self.positions.get(key)
        if delta is None:
            delta = self.positions[key] = PositionDelta()
        return delta

    def save_order(self, row: dict[str, Any], *, is_new: bool) -> None:
        """``row`` carries the version it was read at; a new order is inserted at version 1."""
        order_id = row["order_id"]
        target = self.new_orders if is_new or order_id in self.new_orders else (
            self.changed_orders)
        self._saved.append((target, order_id, target.get(order_id)))
        target[order_id] = row

    def is_empty(self) -> bool:
        return not (
            self.new_orders or self.changed_orders or self.client_requests or self.events
            or self.outbox or self.client_outbox or self.executions or self.positions
            or self.venue_requests or self.venue_request_states or self.watermarks
            or self.unmatched or self.fix_messages or self.kill_switches or self.breakers
            or self.operator_results or self.client_outbox_sent
        )

    # -- the one transaction --------------------------------------------------------------

    def write(self, conn: Connection, *, versions_checked: bool = False,
              returning_done: bool = False) -> None:
        """Every row of the batch. Changed orders are updated only from the version they were
        read at, else the statement fails (``commit`` raises ``ConcurrentUpdateError``);
        ``versions_checked``: the caller ran ``check_versions`` already. ``returning_done``:
        ``write_returning`` ran already (the core sends this in pipeline mode, where nothing
        may wait for results)."""
        writes = batch_sql.Writes()
        writes.insert(orders_repo.ORDERS, list(self.new_orders.values()))
        if self.changed_orders:
            changed = list(self.changed_orders.values())
            writes.update(orders_repo.ORDERS, "order_id", [
                {c: row[c] for c in _ORDER_UPDATE} for row in changed
            ], extra="version = t.version + 1", match=None if versions_checked else "version")
        writes.insert(orders_repo.CLIENT_REQUESTS, self.client_requests)
        writes.insert(orders_repo.ORDER_EVENTS, self.events)
        writes.insert(EXECUTIONS, self.executions)
        writes.insert(POSITIONS, self._position_rows(), on_conflict=_ADD_TO_POSITION)
        writes.insert(VENUE_REQUESTS, self.venue_requests)
        writes.insert(WATERMARKS, [
            {"session_id": watermark_row_key(s, self.shard), "last_inbound_seq": n,
             "updated_at": self.now}
            for s, n in self.watermarks.items()
        ], on_conflict="ON CONFLICT (session_id) DO UPDATE SET last_inbound_seq ="
                       " excluded.last_inbound_seq, updated_at = excluded.updated_at")
        # every outbox row of the core describes an order_events row of this batch: its body
        # is stored there once (the relay reads it from there; the handoff keeps it in memory)
        outbox = [{k: v for k, v in row.items() if k != "body"} | {"shard": self.shard}
                  for row in self.outbox]
        for table, rows in (
            (OUTBOX, outbox), (UNMATCHED, self.unmatched), (FIX_MESSAGES, self.fix_messages),
        ):
            writes.insert(table, rows)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        writes.execute(cursor)
        if self.venue_request_states:  # after: it may follow rows of earlier batches only
            states, notes = self.venue_request_states, self.venue_request_notes
            cursor.execute(_SET_VENUE_REQUEST_STATES, (
                [v for v, _ in states], [i for _, i in states], list(states.values()),
                [notes.get(key) for key in states]))
        if self.client_outbox and not returning_done:
            self._write_client_outbox(conn)
        switches = [row | {"shard": self.shard} for row in self.kill_switches]
        for table, rows, keys in (
            (KILL_SWITCHES, switches, ["shard", "scope", "key"]),
            (BREAKERS, self.breakers, ["account"]),
        ):
            for row in rows:
                stmt = pg_insert(table).values(row)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=keys, set_={k: v for k, v in row.items() if k not in keys}
                    )
                )
        for command_id, result in self.operator_results:
            mark_processed(conn, command_id, result, self.now)
        if self.client_outbox_sent:
            self._mark_client_outbox_sent(conn)

    def write_returning(self, conn: Connection) -> None:
        """The statements whose results the batch needs back (client-outbox row ids)."""
        if self.client_outbox:
            self._write_client_outbox(conn)

    def _write_client_outbox(self, conn: Connection) -> None:
        """Insert the rows owed to FIX clients, keeping each row's id: the sender reports what
        it sent by id, and the next batch marks those rows sent."""
        ids = conn.execute(
            CLIENT_OUTBOX.insert().returning(CLIENT_OUTBOX.c.id, sort_by_parameter_order=True),
            self.client_outbox,
        ).scalars().all()
        for row, row_id in zip(self.client_outbox, ids, strict=True):
            row["id"] = row_id

    def _mark_client_outbox_sent(self, conn: Connection) -> None:
        conn.execute(
            update(CLIENT_OUTBOX).where(CLIENT_OUTBOX.c.id.in_(self.client_outbox_sent))
            .values(sent_at=self.now)
        )

    def _position_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "account": account, "symbol": symbol,
                "net_qty": d.bought_qty - d.sold_qty, "bought_qty": d.bought_qty,
                "sold_qty": d.sold_qty, "bought_notional": d.bought_notional,
                "sold_notional": d.sold_notional, "updated_at": self.now,
            }
            for (account, symbol), d in self.positions.items()
        ]

def commit(engine: Engine, batch: Batch) -> None:
    """Write the batch in one transaction. Raises on failure; nothing is then visible."""
    if batch.is_empty():
        return
    try:
        with engine.begin() as conn:
            batch.write(conn)
    except (DBAPIError, psycopg.Error) as exc:
        if batch_sql.is_stale_version(exc):
            raise orders_repo.ConcurrentUpdateError(sorted(batch.changed_orders)) from exc
        if isinstance(exc, DBAPIError):
            raise
        raise DBAPIError("batch commit", None, exc) from exc  # the driver's, outside SQLAlchemy
