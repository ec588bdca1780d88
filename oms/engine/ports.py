"""What the core needs from outside, declared in its own terms.

The core imports no adapter (``tests/unit/test_engine_imports.py`` checks it): the composition
root (``oms.gateway``) builds the adapters and hands them in, through ``handlers.Context`` and
the ``ClientSessions`` constructor. ``docs/architecture.md`` (Ports) says who implements each.

- ``VenuePort``: the venue sessions; orders, cancels, replaces and status requests go as the
  values below, and the adapter builds the FIX message of each.
- ``Envelope``: the delivery of one strategy command, to settle it.
- ``OrderStore``: what the handlers read from the database beside what the batch writes, and
  the ids they reserve.
- ``SessionPort``: operations on the FIX sessions, for operators.
- ``ClientReportFormat``: what a FIX client is sent for an event or a status request.

The FIX client sessions' delivery port, ``ClientPort``, is with them in ``client_sessions``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from oms.domain.orders import Order
from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.replays import Recorded, RequestKey
from oms.engine.session_commands import SessionChange, SessionOperation
from oms.engine.state import VenueRequestRef

if TYPE_CHECKING:
    from sqlalchemy import Connection

# -- the venues -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VenueNewOrder:
    """A new order, sent under our own ClOrdID (client ClOrdIDs never reach a venue)."""

    kind: ClassVar[str] = "new"
    venue_cl_ord_id: str
    account: str
    symbol: str
    side: Side
    ord_type: OrdType
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: TimeInForce
    expire_time: datetime | None
    now: datetime


@dataclass(frozen=True, slots=True)
class VenueCancel:
    """Cancel the order the venue knows as ``orig_venue_cl_ord_id``."""

    kind: ClassVar[str] = "cancel"
    venue_cl_ord_id: str
    orig_venue_cl_ord_id: str
    account: str
    symbol: str
    side: Side
    quantity: Decimal
    venue_order_id: str | None
    now: datetime


@dataclass(frozen=True, slots=True)
class VenueReplace:
    """Replace the order the venue knows as ``orig_venue_cl_ord_id`` (its new quantity and
    price; the rest as it was)."""

    kind: ClassVar[str] = "replace"
    venue_cl_ord_id: str
    orig_venue_cl_ord_id: str
    account: str
    symbol: str
    side: Side
    ord_type: OrdType
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: TimeInForce
    venue_order_id: str | None
    now: datetime


@dataclass(frozen=True, slots=True)
class VenueStatusQuery:
    """Ask the status of the order the venue knows as ``venue_cl_ord_id``."""

    kind: ClassVar[str] = "status"
    venue_cl_ord_id: str
    symbol: str
    side: Side


VenueOrderRequest = VenueNewOrder | VenueCancel | VenueReplace | VenueStatusQuery


class VenuePort(Protocol):
    """The venue sessions, by venue name. Each send answers whether the venue's session took
    the message (False: the session is down or refused it; the request is then in doubt)."""

    def is_logged_on(self, venue: str) -> bool: ...
    def submit(self, venue: str, order: VenueNewOrder) -> bool: ...
    def cancel(self, venue: str, request: VenueCancel) -> bool: ...
    def replace(self, venue: str, request: VenueReplace) -> bool: ...
    def request_status(self, venue: str, query: VenueStatusQuery) -> bool: ...

    def rewind(self, venue: str, next_target_seq: int) -> None:
        """Expect ``next_target_seq`` next from ``venue`` and reconnect, so that the venue
        resends what it sent from there (received but never committed)."""
        ...


def send_to_venue(port: VenuePort, venue: str, request: VenueOrderRequest) -> bool:
    """Send ``request`` through the port's method for its kind."""
    if isinstance(request, VenueNewOrder):
        return port.submit(venue, request)
    if isinstance(request, VenueCancel):
        return port.cancel(venue, request)
    if isinstance(request, VenueReplace):
        return port.replace(venue, request)
    return port.request_status(venue, request)


# -- the intake -----------------------------------------------------------------------------


class Envelope(Protocol):
    """How one strategy command was delivered, and the means to settle it (any thread)."""

    @property
    def redelivered(self) -> bool:
        """Delivered before (the broker's flag): a duplicate of it is no new request."""
        ...

    @property
    def received_ns(self) -> int:
        """When it arrived (``time.perf_counter_ns``; 0: unknown), for the latency metric."""
        ...

    def ack(self) -> None:
        """Processed and committed: never deliver it again."""
        ...

    def requeue(self) -> None:
        """Not processed (its batch did not commit): deliver it again later."""
        ...

    def dead_letter(self, reason: str) -> None:
        """Never to be processed: set it aside with ``reason`` for an operator."""
        ...


# -- the database ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order read back from the database: the version its row is at, when it was created,
    and the venue ClOrdID the venue knows it by (None if nothing was sent)."""

    order: Order
    version: int
    created_at: datetime
    live_venue_cl_ord_id: str | None


class OrderStore(Protocol):
    """The database as the handlers read it (what the batch writes goes by ``Batch``)."""

    def order_of_request(self, origin: str, cl_ord_id: str) -> str | None:
        """The order the newest request of ``origin`` with ``cl_ord_id`` named, if any."""
        ...

    def read_back_order(self, order_id: str) -> StoredOrder | None: ...

    def find_venue_request(self, venue: str, venue_cl_ord_id: str) -> VenueRequestRef | None:
        """The request we sent ``venue`` under ``venue_cl_ord_id``."""
        ...

    def recorded_requests(
        self, keys: Sequence[RequestKey], reader: Connection | None = None
    ) -> dict[tuple[str, str], Recorded]:
        """Of ``keys``, the (origin, cl_ord_id) recorded on or after the key's first day, with
        the newest such request; on ``reader`` (the core's own connection) if given."""
        ...

    def recorded_keys(self) -> tuple[int, Iterator[tuple[str, str]]]:
        """How many requests are recorded, and the (origin, cl_ord_id) of each, streamed (never
        all in a list): what ``RecordedKeys`` is loaded from."""
        ...

    def edited_limit_rows(self) -> list[dict[str, Any]]:
        """The risk limits operators edited: ``{"account": ..., "limits": {...}}`` each."""
        ...

    def reserve_order_ids(self, count: int) -> list[int]: ...
    def reserve_venue_ids(self, count: int) -> list[int]: ...

    def mark_command_processed(self, command_id: int, result: str, at: datetime) -> None:
        """Write an operator command's result on its row at once (outside any batch)."""
        ...


# -- FIX sessions and clients ---------------------------------------------------------------


class SessionPort(Protocol):
    """The gateway's FIX sessions as the core operates them."""

    def prepare(self, operation: SessionOperation) -> SessionChange:
        """Check ``operation`` against the running session; raises ``SessionRefused``."""
        ...


class ClientReportFormat(Protocol):
    """What a FIX client session is sent, in its FIX version (its BeginString)."""

    def event_message(
        self, body: Mapping[str, Any], version: str, *, side: str | None = None,
        symbol: str | None = None,
    ) -> tuple[str, dict[int, str]]:
        """(MsgType, fields) owed for one event body (the contract's JSON); ``side`` (the FIX
        code) and ``symbol`` stand in for what an invalid request's event lacks."""
        ...

    def status_report(
        self, order: Order | None, cl_ord_id: str, version: str, *, exec_id: str, now: datetime,
        side: str | None = None, symbol: str | None = None, status_req_id: str | None = None,
    ) -> dict[int, str]:
        """The ExecutionReport answering an OrderStatusRequest for ``cl_ord_id`` (None: an
        unknown order)."""
        ...
