"""In-memory fakes of the core's ports (``oms.engine.ports``), for unit tests of the pure core
only (``tests/unit/test_handlers.py``): nothing leaves the process, and each fake keeps what it
was asked so that a test can say what the outside world saw.

- ``FakeVenue`` (``VenuePort``): logged on or off per venue; keeps what was submitted,
  canceled, replaced and asked, in the order it was sent.
- ``FakeOrderStore`` (``OrderStore``): answers from dicts a test may fill; reserves ids from
  counters; ``commit`` keeps what a committed batch wrote that the handlers read back.
- ``FakeEnvelope`` (``Envelope``): a strategy command's delivery; keeps how it was settled.
- ``ScriptedReports``: the venue adapter's translation (``handlers.Translate``): a test writes
  each venue report in domain terms and gets the message that carries it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oms.domain.order_inputs import VenueCancelReject, VenueExecutionReport
from oms.engine.batch import Batch
from oms.engine.inputs import RejectNotice, VenueMessage
from oms.engine.order_rows import order_from_row
from oms.engine.ports import (
    StoredOrder,
    VenueCancel,
    VenueNewOrder,
    VenueOrderRequest,
    VenueReplace,
    VenueStatusQuery,
)
from oms.engine.replays import Recorded, RequestKey
from oms.engine.state import VenueRequestRef

if TYPE_CHECKING:
    from sqlalchemy import Connection


class FakeVenue:
    """The venue sessions: a session that is down takes nothing (the send answers False)."""

    def __init__(self, logged_on: Iterable[str] = ()) -> None:
        self.logged_on: set[str] = set(logged_on)
        self.sent: list[tuple[str, VenueOrderRequest]] = []
        """Every request a session took: (venue, request), in the order sent."""
        self.rewound: list[tuple[str, int]] = []

    @property
    def submitted(self) -> list[VenueNewOrder]:
        return [r for _, r in self.sent if isinstance(r, VenueNewOrder)]

    @property
    def canceled(self) -> list[VenueCancel]:
        return [r for _, r in self.sent if isinstance(r, VenueCancel)]

    @property
    def replaced(self) -> list[VenueReplace]:
        return [r for _, r in self.sent if isinstance(r, VenueReplace)]

    @property
    def asked(self) -> list[VenueStatusQuery]:
        return [r for _, r in self.sent if isinstance(r, VenueStatusQuery)]

    def is_logged_on(self, venue: str) -> bool:
        return venue in self.logged_on

    def submit(self, venue: str, order: VenueNewOrder) -> bool:
        return self._take(venue, order)

    def cancel(self, venue: str, request: VenueCancel) -> bool:
        return self._take(venue, request)

    def replace(self, venue: str, request: VenueReplace) -> bool:
        return self._take(venue, request)

    def request_status(self, venue: str, query: VenueStatusQuery) -> bool:
        return self._take(venue, query)

    def rewind(self, venue: str, next_target_seq: int) -> None:
        self.rewound.append((venue, next_target_seq))

    def _take(self, venue: str, request: VenueOrderRequest) -> bool:
        if venue not in self.logged_on:
            return False
        self.sent.append((venue, request))
        return True


class FakeOrderStore:
    """The database as the handlers read it, held in dicts. A test may fill them to say what
    earlier batches (or another process) recorded; ``commit`` adds what a batch wrote."""

    def __init__(self) -> None:
        self.recorded: dict[tuple[str, str], Recorded] = {}
        """(origin, cl_ord_id) -> the newest client request recorded with it."""
        self.asked: list[RequestKey] = []
        """Every key ``recorded_requests`` was asked about, in order."""
        self.key_loads = 0
        """How many times ``recorded_keys`` was read."""
        self.request_orders: dict[tuple[str, str], str] = {}
        """(origin, cl_ord_id) -> the order the newest request with it that named one named."""
        self.orders: dict[str, StoredOrder] = {}
        self.venue_requests: dict[tuple[str, str], VenueRequestRef] = {}
        self.limit_rows: list[dict[str, Any]] = []
        self.processed_commands: dict[int, str] = {}
        self._order_numbers = itertools.count(1)
        self._venue_numbers = itertools.count(1)
        self._sent_by_order: dict[str, list[tuple[str, str, str]]] = {}
        """order_id -> (kind, request ClOrdID, venue ClOrdID) of each request sent for it."""

    # -- OrderStore -----------------------------------------------------------------------

    def order_of_request(self, origin: str, cl_ord_id: str) -> str | None:
        return self.request_orders.get((origin, cl_ord_id))

    def read_back_order(self, order_id: str) -> StoredOrder | None:
        return self.orders.get(order_id)

    def find_venue_request(self, venue: str, venue_cl_ord_id: str) -> VenueRequestRef | None:
        return self.venue_requests.get((venue, venue_cl_ord_id))

    def recorded_requests(
        self, keys: Sequence[RequestKey], reader: Connection | None = None
    ) -> dict[tuple[str, str], Recorded]:
        found: dict[tuple[str, str], Recorded] = {}
        self.asked.extend(keys)
        for key in keys:
            pair = (key.origin, key.cl_ord_id)
            recorded = self.recorded.get(pair)
            if recorded is not None and recorded.trading_day >= key.since:
                found[pair] = recorded
        return found

    def recorded_keys(self) -> tuple[int, Iterator[tuple[str, str]]]:
        self.key_loads += 1
        return len(self.recorded), iter(list(self.recorded))

    def edited_limit_rows(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.limit_rows]

    def reserve_order_ids(self, count: int) -> list[int]:
        return [next(self._order_numbers) for _ in range(count)]

    def reserve_venue_ids(self, count: int) -> list[int]:
        return [next(self._venue_numbers) for _ in range(count)]

    def mark_command_processed(self, command_id: int, result: str, at: datetime) -> None:
        self.processed_commands[command_id] = result

    # -- what a committed batch leaves behind ---------------------------------------------

    def commit(self, batch: Batch) -> None:
        """Keep the rows of ``batch`` the handlers read back later: its client requests, venue
        requests and orders (each order at the version its row is then at)."""
        for row in batch.client_requests:
            pair = (row["origin"], row["cl_ord_id"])
            self.recorded[pair] = Recorded(row["trading_day"], row["order_id"])
            if row["order_id"] is not None:
                self.request_orders[pair] = row["order_id"]
        for row in batch.venue_requests:
            self.venue_requests[(row["venue"], row["venue_cl_ord_id"])] = VenueRequestRef(
                row["order_id"], row["request_cl_ord_id"], row["kind"])
            self._sent_by_order.setdefault(row["order_id"], []).append(
                (row["kind"], row["request_cl_ord_id"], row["venue_cl_ord_id"]))
        for row in batch.new_orders.values():
            self._keep_order(row, version=1, created_at=row["created_at"])
        for row in batch.changed_orders.values():
            earlier = self.orders[row["order_id"]]
            self._keep_order(row, version=row["version"] + 1, created_at=earlier.created_at)

    def _keep_order(self, row: dict[str, Any], *, version: int, created_at: datetime) -> None:
        order = order_from_row(row)
        self.orders[order.order_id] = StoredOrder(
            order, version, created_at, self._live_venue_id(order.order_id, order.cl_ord_id))

    def _live_venue_id(self, order_id: str, current_cl_ord_id: str) -> str | None:
        """The venue ClOrdID the venue knows the order by: that of the replace which made its
        current terms (its ClOrdID is the order's now), else its new order's."""
        sent = self._sent_by_order.get(order_id, [])
        current = [v for kind, c, v in sent if kind == "replace" and c == current_cl_ord_id]
        first = [v for kind, _, v in sent if kind == "new"]
        chosen = current or first
        return chosen[-1] if chosen else None


@dataclass
class FakeEnvelope:
    """A strategy command's delivery; ``settled`` says how it was (ack, requeue, dead letter)."""

    redelivered: bool = False
    received_ns: int = 0
    settled: list[str] = field(default_factory=list)

    def ack(self) -> None:
        self.settled.append("ack")

    def requeue(self) -> None:
        self.settled.append("requeue")

    def dead_letter(self, reason: str) -> None:
        self.settled.append(f"dead letter: {reason}")


Report = VenueExecutionReport | VenueCancelReject | RejectNotice

SCRIPT_KEY_TAG = 9901
"""A user-defined tag on each scripted message: the report it carries, for ``translate``."""


class ScriptedReports:
    """The venue adapter's translation, scripted: ``message`` files a report written in domain
    terms and returns the venue message carrying it (with ClOrdID 11 and ExecID 17 as on the
    wire); ``translate`` gives it back, and raises for a message it was never given (garbled)."""

    def __init__(self) -> None:
        self._reports: dict[str, Report] = {}
        self._keys = itertools.count(1)

    def message(self, venue: str, report: Report, seq_num: int) -> VenueMessage:
        key = str(next(self._keys))
        self._reports[key] = report
        msg_type = ("8" if isinstance(report, VenueExecutionReport)
                    else "9" if isinstance(report, VenueCancelReject) else "j")
        fields = {35: msg_type, SCRIPT_KEY_TAG: key}
        cl_ord_id = getattr(report, "cl_ord_id", None)
        if cl_ord_id is not None:
            fields[11] = cl_ord_id
        exec_id = getattr(report, "exec_id", None)
        if exec_id is not None:
            fields[17] = exec_id
        return VenueMessage(venue, fields[35], fields, seq_num, 0)

    def translate(self, fields: dict[int, str], begin_string: str) -> Report:
        return self._reports[fields[SCRIPT_KEY_TAG]]
