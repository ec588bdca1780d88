"""SQLAlchemy 2 models: the schema alembic owns.

The hot path writes through SQLAlchemy Core on these tables (``Model.__table__``); the ORM
classes serve the admin pages and tooling. Money and quantities are ``NUMERIC``; times are
``timestamptz`` and always UTC.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oms.domain.values import (
    ExecType,
    KillScope,
    OperatorRole,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

QTY = Numeric(28, 8)
PX = Numeric(28, 10)
TS = DateTime(timezone=True)


class VenueRequestKind(enum.StrEnum):
    NEW = "new"
    CANCEL = "cancel"
    REPLACE = "replace"
    STATUS = "status"


class VenueRequestState(enum.StrEnum):
    """A venue request is written ``pending_send`` before it is sent: after a crash, one still
    in that state is resolved by an OrderStatusRequest after logon. A request the venue does
    not answer within its ``request_timeout_s`` is ``status_requested`` (an OrderStatusRequest
    went out); if that is not answered in time either, it is ``in_doubt``: an operator must
    look (the Exceptions page)."""

    PENDING_SEND = "pending_send"
    SENT = "sent"
    ANSWERED = "answered"
    IN_DOUBT = "in_doubt"
    STATUS_REQUESTED = "status_requested"


def _pg_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


SIDE = _pg_enum(Side, "side")
ORD_TYPE = _pg_enum(OrdType, "ord_type")
TIF = _pg_enum(TimeInForce, "time_in_force")
ORD_STATUS = _pg_enum(OrdStatus, "ord_status")
EXEC_TYPE = _pg_enum(ExecType, "exec_type")
ROLE = _pg_enum(OperatorRole, "operator_role")
KILL_SCOPE = _pg_enum(KillScope, "kill_scope")
VENUE_REQUEST_KIND = _pg_enum(VenueRequestKind, "venue_request_kind")
VENUE_REQUEST_STATE = _pg_enum(VenueRequestState, "venue_request_state")

ALL_ENUMS = (
    SIDE, ORD_TYPE, TIF, ORD_STATUS, EXEC_TYPE, ROLE, KILL_SCOPE, VENUE_REQUEST_KIND,
    VENUE_REQUEST_STATE,
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB}


class Order(Base):
    """Current state of one order: one row per order, along its whole cancel/replace chain."""

    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    origin: Mapped[str] = mapped_column(String(80))
    cl_ord_id: Mapped[str] = mapped_column(String(64))
    orig_cl_ord_id: Mapped[str | None] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[Side] = mapped_column(SIDE)
    ord_type: Mapped[OrdType] = mapped_column(ORD_TYPE)
    time_in_force: Mapped[TimeInForce] = mapped_column(TIF)
    quantity: Mapped[Decimal] = mapped_column(QTY)
    price: Mapped[Decimal | None] = mapped_column(PX)
    stop_price: Mapped[Decimal | None] = mapped_column(PX)
    expire_time: Mapped[datetime | None] = mapped_column(TS)
    venue: Mapped[str] = mapped_column(String(64))
    status: Mapped[OrdStatus] = mapped_column(ORD_STATUS)
    cum_qty: Mapped[Decimal] = mapped_column(QTY, default=Decimal(0))
    leaves_qty: Mapped[Decimal] = mapped_column(QTY)
    avg_px: Mapped[Decimal | None] = mapped_column(PX)
    venue_order_id: Mapped[str | None] = mapped_column(String(64))
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb"),
        doc="aggregate state not worth its own column: the pending request, fills by ExecID",
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())

    __table_args__ = (
        Index("ix_orders_account_status", "account", "status"),
        Index("ix_orders_symbol", "symbol"),
        Index("ix_orders_created_at", "created_at"),
        Index("ix_orders_cl_ord_id", "cl_ord_id"),
        Index(
            "ix_orders_open", "venue",
            postgresql_where=text(
                "status NOT IN ('filled', 'canceled', 'rejected', 'expired')"
            ),
        ),
    )


class ClientRequest(Base):
    """Every command received, identified by (origin, cl_ord_id, trading_day): a replayed
    ClOrdID is found here.

    The origin is ``amqp:<account>`` for strategies and ``fix:<session>`` for FIX clients. The
    trading day is the date in the session's time zone (UTC for AMQP): a FIX session with
    ``cl_ord_id_scope = "day"`` may use a ClOrdID again on a later day; every other origin is
    checked across days (within the retention, ``engine.client_requests_retention_days``).
    """

    __tablename__ = "client_requests"

    origin: Mapped[str] = mapped_column(String(80), primary_key=True)
    cl_ord_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    trading_day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[VenueRequestKind] = mapped_column(VENUE_REQUEST_KIND)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.order_id"))
    received_at: Mapped[datetime] = mapped_column(TS)

    __table_args__ = (Index("ix_client_requests_trading_day", "trading_day"),)


class OrderEvent(Base):
    """Append-only audit of every transition, with the input that caused it."""

    __tablename__ = "order_events"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.order_id"))
    seq: Mapped[int | None] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(64))
    exec_type: Mapped[ExecType] = mapped_column(EXEC_TYPE)
    ord_status: Mapped[OrdStatus | None] = mapped_column(ORD_STATUS)
    body: Mapped[dict[str, Any]] = mapped_column(doc="the event exactly as published")
    cause: Mapped[dict[str, Any]] = mapped_column(doc="the input that caused the transition")
    created_at: Mapped[datetime] = mapped_column(TS)

    __table_args__ = (
        UniqueConstraint("order_id", "seq", name="uq_order_events_order_id_seq"),
        Index("ix_order_events_created_at", "created_at"),
    )


class Execution(Base):
    """A fill, a correction or a bust, unique per order and ExecID (venues reuse ExecIDs across
    days and restarts: FIX promises uniqueness only within a trading day)."""

    __tablename__ = "executions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    venue: Mapped[str] = mapped_column(String(64))
    exec_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id"))
    account: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[Side] = mapped_column(SIDE)
    exec_type: Mapped[ExecType] = mapped_column(EXEC_TYPE)
    last_qty: Mapped[Decimal] = mapped_column(QTY)
    last_px: Mapped[Decimal] = mapped_column(PX)
    ref_exec_id: Mapped[str | None] = mapped_column(String(64))
    transact_time: Mapped[datetime] = mapped_column(TS)
    recorded_at: Mapped[datetime] = mapped_column(TS)

    __table_args__ = (
        UniqueConstraint("order_id", "exec_id", name="uq_executions_order_id_exec_id"),
        Index("ix_executions_order_id", "order_id"),
        Index("ix_executions_venue_exec_id", "venue", "exec_id"),
    )


class Position(Base):
    """Net position per account and symbol, updated from fills in the same transaction."""

    __tablename__ = "positions"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    net_qty: Mapped[Decimal] = mapped_column(QTY, default=Decimal(0))
    bought_qty: Mapped[Decimal] = mapped_column(QTY, default=Decimal(0))
    sold_qty: Mapped[Decimal] = mapped_column(QTY, default=Decimal(0))
    bought_notional: Mapped[Decimal] = mapped_column(Numeric(38, 10), default=Decimal(0))
    sold_notional: Mapped[Decimal] = mapped_column(Numeric(38, 10), default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(TS)


class Instrument(Base):
    __tablename__ = "instruments"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    venue: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    tick_size: Mapped[Decimal] = mapped_column(PX)
    lot_size: Mapped[Decimal] = mapped_column(QTY)
    multiplier: Mapped[Decimal] = mapped_column(QTY)
    security_type: Mapped[str] = mapped_column(String(16), default="CS")
    reference_price: Mapped[Decimal | None] = mapped_column(PX)
    reference_price_source: Mapped[str] = mapped_column(String(32), default="settings")
    updated_at: Mapped[datetime] = mapped_column(TS)


class RiskLimit(Base):
    """Limits per account; the row with account ``*`` holds the global defaults."""

    __tablename__ = "risk_limits"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    limits: Mapped[dict[str, Any]] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(TS)


class VenueRequest(Base):
    """Every message sent to a venue, under the OMS's own ClOrdID (<= 20 chars, never reused)."""

    __tablename__ = "venue_requests"

    venue: Mapped[str] = mapped_column(String(64), primary_key=True)
    venue_cl_ord_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id"))
    request_cl_ord_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[VenueRequestKind] = mapped_column(VENUE_REQUEST_KIND)
    state: Mapped[VenueRequestState] = mapped_column(VENUE_REQUEST_STATE)
    created_at: Mapped[datetime] = mapped_column(TS)
    sent_at: Mapped[datetime | None] = mapped_column(TS)
    note: Mapped[str | None] = mapped_column(Text, doc="why the request is in doubt")

    __table_args__ = (
        Index("ix_venue_requests_order_id", "order_id"),
        Index(
            "ix_venue_requests_unsent", "venue",
            postgresql_where=text("state IN ('pending_send', 'in_doubt')"),
        ),
    )


class FixSessionWatermark(Base):
    """Last inbound MsgSeqNum applied per FIX session, committed with the batch that applied it."""

    __tablename__ = "fix_session_watermarks"

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_inbound_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(TS)


class FixMessage(Base):
    """FIX application messages sent and received, per order, for the order detail page."""

    __tablename__ = "fix_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    order_id: Mapped[str | None] = mapped_column(String(32))
    session_id: Mapped[str] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(3), doc="'in' or 'out'")
    msg_type: Mapped[str] = mapped_column(String(4))
    raw: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TS)

    __table_args__ = (Index("ix_fix_messages_order_id", "order_id"),)


class OutboxEvent(Base):
    """Events to publish on RabbitMQ, written in the transaction of the change they describe."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    exchange: Mapped[str] = mapped_column(String(128))
    routing_key: Mapped[str] = mapped_column(String(255))
    body: Mapped[dict[str, Any] | None] = mapped_column()
    """NULL for the core's rows: the body is the order_events row's of the same event_id."""
    created_at: Mapped[datetime] = mapped_column(TS)
    published_at: Mapped[datetime | None] = mapped_column(TS)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parked_reason: Mapped[str | None] = mapped_column(Text)
    shard: Mapped[str] = mapped_column(String(64), server_default="main")
    """The shard whose relay publishes the row (migration 0005)."""

    __table_args__ = (
        Index(
            "ix_outbox_unpublished", "shard", "id",
            postgresql_where=text("published_at IS NULL AND parked_reason IS NULL"),
        ),
    )


class ClientOutboxMessage(Base):
    """Execution reports and cancel rejects owed to a FIX client, replayed after a restart."""

    __tablename__ = "client_outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[str | None] = mapped_column(String(32))
    msg_type: Mapped[str] = mapped_column(String(4))
    fields: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(TS)
    sent_at: Mapped[datetime | None] = mapped_column(TS)

    __table_args__ = (
        Index(
            "ix_client_outbox_unsent", "session_id", "id",
            postgresql_where=text("sent_at IS NULL"),
        ),
    )


class UnmatchedReport(Base):
    """An execution report for an order the OMS does not know: kept for an operator."""

    __tablename__ = "unmatched_reports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    venue: Mapped[str] = mapped_column(String(64))
    venue_cl_ord_id: Mapped[str | None] = mapped_column(String(64))
    exec_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(TS)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(TS)
    resolution: Mapped[str | None] = mapped_column(Text)


class KillSwitch(Base):
    """Kill-switch state (the source of truth; Redis only mirrors it)."""

    __tablename__ = "kill_switches"

    shard: Mapped[str] = mapped_column(String(64), primary_key=True, server_default="main")
    """Each shard's gateway keeps its own switches (migration 0005): clearing one shard's
    global switch leaves the others' as they are."""
    scope: Mapped[KillScope] = mapped_column(KILL_SCOPE, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True, doc="'*' for global")
    active: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    tripped_by: Mapped[str] = mapped_column(String(64))
    tripped_at: Mapped[datetime] = mapped_column(TS)
    cleared_by: Mapped[str | None] = mapped_column(String(64))
    cleared_at: Mapped[datetime | None] = mapped_column(TS)


class AccountBreaker(Base):
    """Repeated-execution breaker per account: halted until an operator re-enables it."""

    __tablename__ = "account_breakers"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    tripped: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    tripped_at: Mapped[datetime] = mapped_column(TS)
    reenabled_by: Mapped[str | None] = mapped_column(String(64))
    reenabled_at: Mapped[datetime | None] = mapped_column(TS)


class OperatorCommand(Base):
    """The durable channel from the admin pages to the gateway (LISTEN/NOTIFY wakes it)."""

    __tablename__ = "operator_commands"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column()
    issued_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
    processed_at: Mapped[datetime | None] = mapped_column(TS)
    result: Mapped[str | None] = mapped_column(Text)
    shard: Mapped[str] = mapped_column(String(64), server_default="main")
    """The shard whose gateway carries the command out (migration 0005)."""

    __table_args__ = (
        Index("ix_operator_commands_pending", "shard", "id",
              postgresql_where=text("processed_at IS NULL")),
    )


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[OperatorRole] = mapped_column(ROLE)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(TS)


class OperatorAudit(Base):
    """Who did what, when and why, for every operator action."""

    __tablename__ = "operator_audit"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(TS)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_operator_audit_at", "at"),)


ORDER_ID_SEQ = Sequence("order_id_seq", metadata=Base.metadata)
VENUE_CL_ORD_ID_SEQ = Sequence("venue_cl_ord_id_seq", metadata=Base.metadata)
