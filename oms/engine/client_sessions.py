"""FIX client sessions as the core sees them. Runs on the core thread only.

- **Owed reports**: every event of an order whose origin is ``fix:<session>`` becomes a
  ``client_outbox`` row for that session (an ExecutionReport, or an OrderCancelReject for a
  cancel/replace rejection), and every execution report of a drop-copy session's accounts a row
  for it, in the batch (the transaction) that made the change. An order-less rejection of a
  FIX request (duplicate ClOrdID, entitlement, invalid fields) is owed to the requesting session.
- **Delivery**: after commit the rows go to the ``ClientPort``, which sends them in order on
  sessions the core has seen log on; the ids it sent are marked ``sent_at`` in the next batch.
  Rows not sent wait for the session's next logon; after a restart they are loaded from the
  table and sent again with PossResend, so nothing owed is lost (a client may see a report
  twice, never miss one: ExecIDs let it drop duplicates).
- **Inbound watermark**: each applied message records ``client:<session>`` = its MsgSeqNum in
  the batch, so that a restart (or a failed commit) makes the client resend what the session
  had taken but the core had not committed; resent orders are recognised by ClOrdID.
- **Status requests** are answered through the same outbox, so an answer never overtakes the
  reports owed before it.
- **Cancel on disconnect**: when a session configured for it drops (or logs out, unless
  configured otherwise), its open orders are cancelled once the grace period has passed, with
  the text "cancel on disconnect of session X". A gateway start counts as a drop: sessions
  configured for it that do not log on within the grace period have their orders cancelled.
  Orders on a venue that is down wait for the venue.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, select

from oms.domain.order_inputs import RequestKind
from oms.domain.orders import Order
from oms.domain.requests import fix_origin
from oms.domain.values import ExecType
from oms.engine.batch import CLIENT_OUTBOX, WATERMARKS, Batch
from oms.engine.inputs import (
    ClientFixRequest,
    ClientSequenceReset,
    ClientSessionChanged,
    ClientStatusRequest,
)
from oms.engine.ports import ClientReportFormat

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)

WATERMARK_PREFIX = "client:"
REJECTIONS = frozenset({ExecType.CANCEL_REJECTED.value, ExecType.REPLACE_REJECTED.value})
"""Events a drop copy is not sent (it receives execution reports only)."""


@dataclass(frozen=True, slots=True)
class ClientProfile:
    """A FIX client session as the core needs it (from ``FixClientSettings``)."""

    name: str
    version: str
    """Its FIX version, as its BeginString (``FIX.4.2``, ``FIX.4.4``)."""
    accounts: frozenset[str]
    drop_copy: bool = False
    cancel_on_disconnect: bool = False
    grace: timedelta = timedelta(0)
    cancel_on_logout: bool = True


@dataclass(frozen=True, slots=True)
class OwedMessage:
    """One committed ``client_outbox`` row, ready to send. ``replay``: loaded at start, so it
    may have been sent before (sent with PossResend)."""

    row_id: int
    session: str
    msg_type: str
    fields: dict[int, str]
    replay: bool = False


class ClientPort(Protocol):
    """Sends owed messages on client sessions, off the core thread and in order per session."""

    def is_logged_on(self, session: str) -> bool: ...
    def deliver(self, messages: Sequence[OwedMessage]) -> None: ...
    def replace_all(self, messages: Sequence[OwedMessage]) -> None: ...
    def resume(self, session: str) -> None: ...
    def pause(self, session: str) -> None: ...
    def take_sent(self) -> list[int]: ...
    def rewind(self, session: str, next_target_seq: int) -> None: ...


def cancel_on_disconnect_text(session: str) -> str:
    return f"cancel on disconnect of session {session}"


class ClientSessions:
    def __init__(self, profiles: Sequence[ClientProfile], port: ClientPort,
                 reports: ClientReportFormat) -> None:
        self._profiles = {p.name: p for p in profiles}
        self._port = port
        self._reports = reports
        self._watermarks: dict[str, int] = {}
        self._logged_on: set[str] = set()
        self._deadlines: dict[str, datetime] = {}
        self._loaded_once = False

    # -- state ------------------------------------------------------------------------------

    def reload(self, conn: Connection, now: datetime) -> None:
        """At start and after a failed commit: what is owed and what was committed."""
        wm = conn.execute(select(WATERMARKS.c.session_id, WATERMARKS.c.last_inbound_seq).where(
            WATERMARKS.c.session_id.startswith(WATERMARK_PREFIX)))
        self._watermarks = {
            r.session_id.removeprefix(WATERMARK_PREFIX): int(r.last_inbound_seq) for r in wm
        }
        t = CLIENT_OUTBOX
        rows = conn.execute(
            select(t.c.id, t.c.session_id, t.c.msg_type, t.c.fields)
            .where(t.c.sent_at.is_(None)).order_by(t.c.id)
        )
        owed = [
            OwedMessage(r.id, r.session_id, r.msg_type,
                        {int(k): str(v) for k, v in r.fields.items()}, replay=True)
            for r in rows if r.session_id in self._profiles
        ]
        self._port.replace_all(owed)
        if not self._loaded_once:
            self._loaded_once = True
            for p in self._profiles.values():  # a start is a disconnection of every session
                if p.cancel_on_disconnect and not p.drop_copy:
                    self._deadlines[p.name] = now + p.grace
        if owed:
            log.info("client outbox: %d message(s) owed from before", len(owed))

    def watermark(self, session: str) -> int:
        return self._watermarks.get(session, 0)

    # -- the batch --------------------------------------------------------------------------

    def begin(self, batch: Batch) -> None:
        batch.client_outbox_sent.extend(self._port.take_sent())

    def handles(self, item: object) -> bool:
        return isinstance(item, ClientFixRequest | ClientStatusRequest | ClientSessionChanged
                          | ClientSequenceReset)

    def dispatch(self, handlers: Handlers, batch: Batch, item: object) -> None:
        if isinstance(item, ClientSessionChanged):
            self._session_changed(batch, item)
            return
        if isinstance(item, ClientSequenceReset):
            log.info("client session %s resets its sequence numbers", item.session)
            batch.watermarks[WATERMARK_PREFIX + item.session] = 0
            batch.after_commit.append(item.recorded.set)
            return
        if not isinstance(item, ClientFixRequest | ClientStatusRequest):
            return
        batch.watermarks[WATERMARK_PREFIX + item.session] = item.seq_num
        profile = self._profiles.get(item.session)
        if profile is None or profile.drop_copy:  # the adapter refuses these; never trade them
            log.warning("client session %s: request ignored (not an order-entry session)",
                        item.session)
        elif isinstance(item, ClientStatusRequest):
            self._status(handlers, batch, item, profile)
        elif not (item.redelivered and self._known_resend(handlers, batch, item, profile)):
            handlers.client_request(batch, item.command, item)

    def owed(self, handlers: Handlers, batch: Batch, item: object, start: int) -> None:
        """Client outbox rows for the events ``item`` produced (``batch.outbox[start:]``)."""
        request = item if isinstance(item, ClientFixRequest) else None
        for row in batch.outbox[start:]:
            try:
                self._owe(handlers, batch, row["body"], request)
            except Exception:  # one bad event must not cost the client the others
                log.exception("client report for event %s not built", row.get("event_id"))

    def end(self, handlers: Handlers, batch: Batch) -> None:
        """Cancel-on-disconnect deadlines, then delivery of this batch's rows after commit."""
        if self._deadlines:
            start = len(batch.outbox)
            self._cancel_on_disconnect(handlers, batch)
            self.owed(handlers, batch, None, start)
        rows = batch.client_outbox
        marks = {k.removeprefix(WATERMARK_PREFIX): v for k, v in batch.watermarks.items()
                 if k.startswith(WATERMARK_PREFIX)}
        if rows or marks:
            batch.after_commit.append(lambda: self._committed(rows, marks))

    def rewind(self, items: Sequence[object]) -> None:
        """After a failed commit: make each client that sent in the batch resend it."""
        sessions = {i.session for i in items
                    if isinstance(i, ClientFixRequest | ClientStatusRequest)}
        for session in sessions:
            self._port.rewind(session, self.watermark(session) + 1)

    # -- inside a batch ---------------------------------------------------------------------

    def _committed(self, rows: list[dict[str, Any]], marks: Mapping[str, int]) -> None:
        self._watermarks.update(marks)
        self._port.deliver([
            OwedMessage(row["id"], row["session_id"], row["msg_type"],
                        {int(k): v for k, v in row["fields"].items()})
            for row in rows
        ])

    def _session_changed(self, batch: Batch, change: ClientSessionChanged) -> None:
        profile = self._profiles.get(change.session)
        if profile is None:
            return
        session = change.session
        if change.logged_on:
            log.info("client session %s logged on", session)
            self._logged_on.add(session)
            self._deadlines.pop(session, None)
            # Everything the session took before this logon has been applied (inputs are taken
            # in order): from here on, a restart must rewind to no earlier than this. This also
            # lowers the watermark after the client reset its sequence numbers.
            if change.next_target_seq > 0 and change.next_target_seq - 1 != self.watermark(
                    session):
                batch.watermarks[WATERMARK_PREFIX + session] = change.next_target_seq - 1
            self._port.resume(session)
            return
        log.info("client session %s %s", session,
                 "logged out" if change.clean_logout else "disconnected")
        self._logged_on.discard(session)
        self._port.pause(session)
        if profile.cancel_on_disconnect and not profile.drop_copy and (
            profile.cancel_on_logout or not change.clean_logout
        ):
            self._deadlines[session] = batch.now + profile.grace

    def _owe(self, handlers: Handlers, batch: Batch, body: Mapping[str, Any],
             request: ClientFixRequest | None) -> None:
        order_id = body.get("order_id")
        side = symbol = owner = None
        if order_id is None:
            if request is not None:
                owner, side, symbol = request.session, request.side, request.symbol
        else:
            origin = _origin_of(handlers, batch, order_id)
            if origin is not None and origin.startswith("fix:"):
                owner = origin.removeprefix("fix:")
        messages: dict[str, tuple[str, dict[int, str]]] = {}

        def message(version: str) -> tuple[str, dict[int, str]]:
            if version not in messages:
                messages[version] = self._reports.event_message(body, version, side=side,
                                                                symbol=symbol)
            return messages[version]

        profile = self._profiles.get(owner or "")
        if profile is not None and not profile.drop_copy:
            self._add(batch, profile.name, order_id, *message(profile.version))
        if body["exec_type"] in REJECTIONS:
            return  # a drop copy receives execution reports only
        for copy in self._profiles.values():
            if copy.drop_copy and body["account"] in copy.accounts:
                self._add(batch, copy.name, order_id, *message(copy.version))

    def _add(self, batch: Batch, session: str, order_id: str | None, msg_type: str,
             fields: dict[int, str]) -> None:
        batch.client_outbox.append({
            "session_id": session, "order_id": order_id, "msg_type": msg_type,
            "fields": {str(tag): value for tag, value in fields.items()},
            "created_at": batch.now, "sent_at": None,
        })

    def _status(self, handlers: Handlers, batch: Batch, request: ClientStatusRequest,
                profile: ClientProfile) -> None:
        order = _find_order(handlers, fix_origin(request.session), request.cl_ord_id,
                            request.order_id)
        fields = self._reports.status_report(
            order, request.cl_ord_id, profile.version, exec_id=uuid.uuid4().hex, now=batch.now,
            side=request.side, symbol=request.symbol, status_req_id=request.status_req_id,
        )
        self._add(batch, profile.name, order.order_id if order else None, "8", fields)

    def _known_resend(self, handlers: Handlers, batch: Batch, request: ClientFixRequest,
                      profile: ClientProfile) -> bool:
        """A resent (PossDup/PossResend) request already recorded: answer with the order's
        status (Appendix D31) instead of a duplicate reject; an unknown one is processed.

        Recorded means within the ClOrdID's scope (the table, the batch in flight or this
        batch, as the handlers looked them up for the batch): for a day-scoped session, this
        trading day only, so a resend of today's order is never taken for yesterday's order
        with the same ClOrdID."""
        command = request.command
        known = handlers.recorded(command, batch.now)
        if known is None:
            return False
        order = handlers.order_by_id(known.order_id) if known.order_id else None
        if order is not None:
            fields = self._reports.status_report(order, command.cl_ord_id, profile.version,
                                                 exec_id=uuid.uuid4().hex, now=batch.now)
            self._add(batch, profile.name, order.order_id, "8", fields)
        return True

    def _cancel_on_disconnect(self, handlers: Handlers, batch: Batch) -> None:
        for session, deadline in list(self._deadlines.items()):
            if batch.now < deadline:
                continue
            origin, text = fix_origin(session), cancel_on_disconnect_text(session)
            cause = {"input": "cancel_on_disconnect", "session": session}
            waiting = 0
            for order in list(handlers.state.orders.values()):
                if order.origin != origin or not order.is_open:
                    continue
                if order.pending_of(RequestKind.CANCEL):
                    continue
                if not handlers.ctx.venue.is_logged_on(order.venue):
                    waiting += 1  # cancelled when the venue is back
                    continue
                handlers.cancel_order(batch, order, f"COD-{uuid.uuid4().hex[:16]}", cause, text)
                log.info("%s: order %s", text, order.order_id)
            if not waiting:
                del self._deadlines[session]


def _origin_of(handlers: Handlers, batch: Batch, order_id: str) -> str | None:
    order = handlers.state.orders.get(order_id)
    if order is not None:
        return order.origin
    row = batch.new_orders.get(order_id) or batch.changed_orders.get(order_id)
    return None if row is None else row.get("origin")


def _find_order(handlers: Handlers, origin: str, cl_ord_id: str,
                order_id: str | None) -> Order | None:
    """The order a client's ClOrdID (any along its cancel/replace chain) names, or its
    OrderID; only the session's own orders."""
    found = handlers.request_order_id(origin, cl_ord_id)
    order = handlers.order_by_id(found) if found else None
    if order is None and order_id:
        order = handlers.order_by_id(order_id)
    if order is None or order.origin != origin:
        return None
    return order
