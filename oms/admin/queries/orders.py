"""The order blotter and the order detail page."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select

from oms.admin.queries.tables import (
    CLIENT_REQUESTS,
    COMMANDS,
    EXECUTIONS,
    FIX_MESSAGES,
    ORDER_EVENTS,
    ORDERS,
    TERMINAL_STATUSES,
    VENUE_REQUESTS,
)
from oms.domain.values import OrdStatus

PAGE_SIZE = 50
OPEN = "open"
"""The status filter value meaning every status an order can still trade or be canceled in."""
STATUS_CHOICES = (OPEN, *(s.value for s in OrdStatus))


@dataclass(frozen=True, slots=True)
class BlotterFilter:
    account: str = ""
    symbol: str = ""
    status: str = ""
    venue: str = ""
    since: datetime | None = None
    until: datetime | None = None
    search: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> BlotterFilter:
        """From the query string; a value that does not parse is ignored, never an error."""
        status = args.get("status", "").strip()
        page = args.get("page", "1")
        return cls(
            account=args.get("account", "").strip()[:64],
            symbol=args.get("symbol", "").strip()[:32],
            status=status if status in STATUS_CHOICES else "",
            venue=args.get("venue", "").strip()[:64],
            since=_utc_minute(args.get("since", "")),
            until=_utc_minute(args.get("until", "")),
            search=args.get("q", "").strip()[:64],
            page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        )

    def query_args(self, **changes: Any) -> dict[str, str]:
        """The query string of this filter (with ``changes``), for links and the refresh URL."""
        f = replace(self, **changes)
        out = {
            "account": f.account, "symbol": f.symbol, "status": f.status, "venue": f.venue,
            "since": _minute_text(f.since), "until": _minute_text(f.until), "q": f.search,
            "page": str(f.page) if f.page > 1 else "",
        }
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True, slots=True)
class BlotterPage:
    rows: Sequence[Row[Any]]
    has_next: bool


def blotter(conn: Connection, f: BlotterFilter) -> BlotterPage:
    last_text = (
        select(ORDER_EVENTS.c.body["text"].astext)
        .where(ORDER_EVENTS.c.order_id == ORDERS.c.order_id)
        .order_by(ORDER_EVENTS.c.created_at.desc(), ORDER_EVENTS.c.seq.desc().nulls_last())
        .limit(1)
        .scalar_subquery()
        .label("last_text")
    )
    stmt = select(ORDERS, last_text)
    if f.account:
        stmt = stmt.where(ORDERS.c.account == f.account)
    if f.symbol:
        stmt = stmt.where(ORDERS.c.symbol == f.symbol)
    if f.venue:
        stmt = stmt.where(ORDERS.c.venue == f.venue)
    if f.status == OPEN:
        stmt = stmt.where(ORDERS.c.status.not_in(TERMINAL_STATUSES))
    elif f.status:
        stmt = stmt.where(ORDERS.c.status == f.status)
    if f.since is not None:
        stmt = stmt.where(ORDERS.c.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(ORDERS.c.created_at < f.until)
    if f.search:
        stmt = stmt.where(_matches_any_id(f.search))
    stmt = (
        stmt.order_by(ORDERS.c.created_at.desc(), ORDERS.c.order_id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((f.page - 1) * PAGE_SIZE)
    )
    rows = conn.execute(stmt).all()
    return BlotterPage(rows[:PAGE_SIZE], len(rows) > PAGE_SIZE)


def _matches_any_id(text: str) -> Any:
    """An order whose id, current or original ClOrdID, any ClOrdID along its cancel/replace
    chain, or any venue ClOrdID the OMS sent for it, is ``text``."""
    return or_(
        ORDERS.c.order_id == text,
        ORDERS.c.cl_ord_id == text,
        ORDERS.c.orig_cl_ord_id == text,
        ORDERS.c.order_id.in_(
            select(CLIENT_REQUESTS.c.order_id).where(CLIENT_REQUESTS.c.cl_ord_id == text)
        ),
        ORDERS.c.order_id.in_(
            select(VENUE_REQUESTS.c.order_id).where(VENUE_REQUESTS.c.venue_cl_ord_id == text)
        ),
    )


@dataclass(frozen=True, slots=True)
class OrderDetail:
    order: Row[Any]
    events: Sequence[Row[Any]]
    executions: Sequence[Row[Any]]
    venue_requests: Sequence[Row[Any]]
    fix_messages: Sequence[Row[Any]]
    commands: Sequence[Row[Any]]

    @property
    def is_open(self) -> bool:
        return str(self.order.status) not in TERMINAL_STATUSES


def order_detail(conn: Connection, order_id: str) -> OrderDetail | None:
    order = conn.execute(select(ORDERS).where(ORDERS.c.order_id == order_id)).first()
    if order is None:
        return None
    events = conn.execute(
        select(ORDER_EVENTS)
        .where(ORDER_EVENTS.c.order_id == order_id)
        .order_by(ORDER_EVENTS.c.created_at, ORDER_EVENTS.c.seq.nulls_last())
    ).all()
    executions = conn.execute(
        select(EXECUTIONS).where(EXECUTIONS.c.order_id == order_id).order_by(EXECUTIONS.c.id)
    ).all()
    venue_requests = conn.execute(
        select(VENUE_REQUESTS)
        .where(VENUE_REQUESTS.c.order_id == order_id)
        .order_by(VENUE_REQUESTS.c.created_at)
    ).all()
    fix_messages = conn.execute(
        select(FIX_MESSAGES).where(FIX_MESSAGES.c.order_id == order_id).order_by(FIX_MESSAGES.c.id)
    ).all()
    commands = conn.execute(
        select(COMMANDS)
        .where(COMMANDS.c.kind == "cancel_order")
        .where(COMMANDS.c.payload["order_id"].astext == order_id)
        .order_by(COMMANDS.c.id.desc())
        .limit(20)
    ).all()
    return OrderDetail(order, events, executions, venue_requests, fix_messages, commands)


def open_order_count(
    conn: Connection, *, account: str | None = None, venue: str | None = None,
    symbol: str | None = None, accounts: Collection[str] | None = None,
) -> int:
    """Open orders, all of them or those of one account, venue or symbol; ``accounts``: only
    among those accounts' (a shard's)."""
    stmt = select(func.count()).select_from(ORDERS).where(
        ORDERS.c.status.not_in(TERMINAL_STATUSES)
    )
    if accounts is not None:
        stmt = stmt.where(ORDERS.c.account.in_(sorted(accounts)))
    for column, value in (("account", account), ("venue", venue), ("symbol", symbol)):
        if value is not None:
            stmt = stmt.where(ORDERS.c[column] == value)
    return int(conn.execute(stmt).scalar_one())


def _utc_minute(text: str) -> datetime | None:
    """``YYYY-MM-DDTHH:MM`` (an HTML datetime-local value), read as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _minute_text(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M")
