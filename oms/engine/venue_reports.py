"""What the venues send: execution reports and cancel rejects matched to our requests and
applied to their orders, executions and the breaker they feed, session logons, and what
matches nothing (kept for an operator). Venue rejects of our messages are in
``venue_reject_handling``.

Runs on the core thread, from the handlers.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from decimal import Decimal
from typing import TYPE_CHECKING

from oms.domain.order_inputs import VenueExecutionReport
from oms.domain.orders import Order
from oms.domain.risk import MassCancelIntent
from oms.domain.values import ExecType
from oms.engine import venue_reject_handling, venue_silence
from oms.engine.batch import Batch
from oms.engine.inputs import RejectNotice, VenueMessage, VenueSessionChanged
from oms.engine.operator_commands import mass_cancel
from oms.engine.venue_quirks import request_confirmed

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)

TRADE_TYPES = (ExecType.PARTIAL_FILL, ExecType.FILL, ExecType.TRADE_CORRECT, ExecType.TRADE_CANCEL)
DEFAULT_BEGIN_STRING = "FIX.4.4"


def venue_message(h: Handlers, batch: Batch, message: VenueMessage) -> None:
    metrics = h.ctx.metrics
    if metrics is not None and message.received_ns:
        hop = metrics.labelled(metrics.hop_latency, "wire_to_event")
        batch.after_commit.append(
            lambda: hop.observe((time.perf_counter_ns() - message.received_ns) / 1e9))
    batch.watermarks[f"venue:{message.venue}"] = message.seq_num
    begin = h.ctx.venue_begin_strings.get(message.venue, DEFAULT_BEGIN_STRING)
    try:
        report = h.ctx.translate(message.fields, begin)
    except Exception as exc:  # garbled report: keep it for an operator
        unmatched(batch, message, f"cannot translate: {exc}")
        return
    if isinstance(report, RejectNotice):  # a BusinessMessageReject (35=j) of our message
        venue_reject_handling.on_venue_reject(h, batch, message.venue, report, message.sent,
                                              message.fields)
        return
    ref = h.venue_request(message.venue, report.cl_ord_id or "")
    if ref is None:
        unmatched(batch, message, "no order for this ClOrdID")
        return
    order = h.order_by_id(ref.order_id)
    if order is None:
        unmatched(batch, message, f"order {ref.order_id} not found")
        return
    orig_ref = None
    if report.orig_cl_ord_id:
        orig_ref = h.venue_request(message.venue, report.orig_cl_ord_id)
    mapped = dataclasses.replace(
        report, cl_ord_id=ref.request_cl_ord_id,
        orig_cl_ord_id=orig_ref.request_cl_ord_id if orig_ref else None,
    )
    confirmed = (request_confirmed(order, report, ref.request_cl_ord_id, ref.kind)
                 if isinstance(report, VenueExecutionReport) else None)
    if confirmed is not None:  # the venue named the order, not the request it answers
        mapped = dataclasses.replace(mapped, cl_ord_id=confirmed.cl_ord_id,
                                     orig_cl_ord_id=confirmed.orig_cl_ord_id)
    cause = {"input": "venue_report", "venue": message.venue, "msg_type": message.msg_type,
             "seq": message.seq_num, "venue_cl_ord_id": report.cl_ord_id}
    outcome = order.apply(mapped, batch.now)
    if outcome.refused:
        log.warning("order %s: report refused: %s", order.order_id, outcome.refused)
        unmatched(batch, message, f"refused by order {order.order_id}: {outcome.refused}")
        return
    if isinstance(report, VenueExecutionReport):
        if report.exec_type is ExecType.REPLACED:
            known_as = (_venue_id_of(h, order.order_id, confirmed.cl_ord_id)
                        if confirmed is not None else None)
            h.state.live_venue_id[order.order_id] = known_as or report.cl_ord_id or ""
        if report.exec_type in TRADE_TYPES and not outcome.duplicate:
            _execution_row(h, batch, message.venue, order, report)
    h.record(batch, order, outcome, cause)
    if isinstance(report, VenueExecutionReport) and report.exec_type is None:
        # an order status response: settles the requests we asked about, if it can
        venue_silence.status_answered(h, batch, order, report.ord_status, cause)


def _venue_id_of(h: Handlers, order_id: str, request_cl_ord_id: str) -> str | None:
    return next((r.venue_cl_ord_id for r in h.state.watch.of_order(order_id)
                 if r.request_cl_ord_id == request_cl_ord_id), None)


def _execution_row(h: Handlers, batch: Batch, venue: str, order: Order,
                   report: VenueExecutionReport) -> None:
    assert report.exec_type is not None
    batch.executions.append({
        "venue": venue, "exec_id": report.exec_id, "order_id": order.order_id,
        "account": order.account, "symbol": order.symbol, "side": order.side.value,
        "exec_type": report.exec_type.value, "last_qty": report.last_qty or Decimal(0),
        "last_px": report.last_px or Decimal(0), "ref_exec_id": report.ref_exec_id,
        "transact_time": report.transact_time or batch.now, "recorded_at": batch.now,
    })
    if report.exec_type in (ExecType.PARTIAL_FILL, ExecType.FILL) and report.last_qty:
        limits = h.limits_of(order.account)
        change = h.state.breaker(order.account).record_execution(
            order.symbol, order.side, report.last_qty, report.last_px or Decimal(0),
            batch.now, limits,
        )
        if change is not None and change.applied:
            _breaker_tripped(h, batch, order.account, change.text, change.mass_cancel)


def _breaker_tripped(h: Handlers, batch: Batch, account: str, text: str,
                     intent: MassCancelIntent | None) -> None:
    log.error("account %s halted by the execution breaker: %s", account, text)
    batch.breakers.append({
        "account": account, "tripped": True, "reason": text, "tripped_at": batch.now,
        "reenabled_by": None, "reenabled_at": None,
    })
    if intent is not None:
        cause = {"input": "execution_breaker", "account": account, "reason": text}
        mass_cancel(h, batch, intent, cause, f"account halted: {text}")


def unmatched(batch: Batch, message: VenueMessage, reason: str) -> None:
    """A venue message no order takes: kept for an operator (the Exceptions page)."""
    log.warning("venue %s: unmatched report (%s)", message.venue, reason)
    batch.unmatched.append({
        "venue": message.venue, "venue_cl_ord_id": message.fields.get(11),
        "exec_id": message.fields.get(17), "reason": reason,
        "fields": {str(k): v for k, v in message.fields.items()},
        "received_at": batch.now,
    })


def venue_session(h: Handlers, batch: Batch, change: VenueSessionChanged) -> None:
    log.info("venue %s %s", change.venue, "logged on" if change.logged_on else "logged out")
    if not change.logged_on:
        return
    if change.next_target_seq > 0:
        # The watermark a restart rewinds to, also for a session that has had no
        # application message yet (or whose sequence numbers were just reset).
        batch.watermarks[f"venue:{change.venue}"] = change.next_target_seq - 1
    # every request the venue has not answered (sent before the drop, or before a
    # restart) is asked about: status_requested, and in doubt if that goes unanswered
    venue_silence.on_logon(h, batch, change.venue,
                           every_open_order=change.venue in h.ctx.resetting_venues)
