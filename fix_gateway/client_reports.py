"""Pure: what a FIX client is sent, from the contract's event body or an order's state.

- ``client_message``: the ExecutionReport (35=8) or, for a cancel/replace rejection, the
  OrderCancelReject (35=9, with CxlRejResponseTo and a CxlRejReason) owed to a client session for
  one order event, in that session's FIX version. The event body (the ``outbox`` row's JSON,
  exactly what consumers receive) is the one source, so FIX clients and AMQP consumers can never
  be told different things.
- ``status_report``: the answer to an OrderStatusRequest (ExecType I in 4.4; ExecTransType 3
  in 4.2), or for an unknown order OrdStatus 8 with Text "unknown order" (Appendix D24).

ExecIDs: a fill's ExecID is ``<venue>-<venue ExecID>`` (unique, since the OMS keeps executions
unique per venue and ExecID), so a later correction or bust can name it in ExecRefID (19) from
the event alone; every other report's ExecID is its event id. A drop copy of an event carries
the same ExecID as the owner's report of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from fix_gateway.translate import cancel_reject_to_fix, execution_report_to_fix
from fix_gateway.translate_codes import FixVersion, ord_status_to_fix, side_from_fix, side_to_fix
from fix_gateway.translate_fields import TranslationError, format_timestamp, parse_timestamp
from oms.domain.order_events import OrderEvent
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus, RejectSource, Side

EXECUTION_REPORT, ORDER_CANCEL_REJECT = "8", "9"
REJECTIONS = frozenset({ExecType.CANCEL_REJECTED.value, ExecType.REPLACE_REJECTED.value})
_FILLS = frozenset({ExecType.PARTIAL_FILL.value, ExecType.FILL.value})
_CORRECTIONS = frozenset({ExecType.TRADE_CORRECT.value, ExecType.TRADE_CANCEL.value})
_NONE = "NONE"
UNKNOWN_ORDER = "unknown order"

Body = Mapping[str, Any]


def client_message(
    body: Body, version: FixVersion, *, side: str | None = None, symbol: str | None = None
) -> tuple[str, dict[int, str]]:
    """(MsgType, fields) of what a client session is sent for one event body.

    ``side`` (a FIX code) and ``symbol`` stand in for what an invalid request's event lacks.
    Raises ``TranslationError`` if the event cannot be expressed (no side at all)."""
    event = event_from_body(body, side=side, symbol=symbol)
    if body["exec_type"] in REJECTIONS:
        reason = cancel_reject_reason(body, version)
        return ORDER_CANCEL_REJECT, _plain(cancel_reject_to_fix(event, version,
                                                                reason_code=reason))
    fields = execution_report_to_fix(
        event, version, exec_id=exec_id_of(body), ref_exec_id=_ref_exec_id(body)
    )
    return EXECUTION_REPORT, _plain(fields)


def exec_id_of(body: Body) -> str:
    if body["exec_type"] in _FILLS and body.get("venue") and body.get("venue_exec_id"):
        return f"{body['venue']}-{body['venue_exec_id']}"
    return str(body["event_id"]).replace("-", "")


def _ref_exec_id(body: Body) -> str | None:
    if body["exec_type"] in _CORRECTIONS and body.get("venue") and body.get("venue_exec_id"):
        return f"{body['venue']}-{body['venue_exec_id']}"
    return None


def cancel_reject_reason(body: Body, version: FixVersion) -> int:
    """CxlRejReason (102) for a cancel/replace rejection: 1 unknown order, 0 too late (the
    order is done), 3 already pending, 6 duplicate ClOrdID (4.4), otherwise 99 other (4.4) or 2
    broker option (4.2, which has no 'other')."""
    text = (body.get("text") or "").lower()
    other = 99 if version is FixVersion.FIX44 else 2
    if body.get("order_id") is None:
        if "duplicate" in text:
            return 6 if version is FixVersion.FIX44 else other
        if "unknown" in text and body.get("reject_source") == RejectSource.VALIDATION.value:
            return 1
        return other
    status = OrdStatus(body["ord_status"])
    if status.is_terminal:
        return 0
    if status in (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE) or "pending" in text:
        return 3
    return other


def event_from_body(
    body: Body, *, side: str | None = None, symbol: str | None = None
) -> OrderEvent:
    """The domain event back from its JSON body (decimals and times exact)."""
    side_value = body.get("side")
    if side_value is not None:
        event_side = Side(side_value)
    elif side is not None:
        event_side = side_from_fix(side)
    else:
        raise TranslationError(54, "the event has no side and the request gave none")
    source = body.get("reject_source")
    return OrderEvent(
        order_id=body.get("order_id"), seq=body.get("seq"), cl_ord_id=body["cl_ord_id"],
        orig_cl_ord_id=body.get("orig_cl_ord_id"), account=body["account"],
        symbol=body.get("symbol") or symbol or "", side=event_side, venue=body.get("venue"),
        exec_type=ExecType(body["exec_type"]), ord_status=OrdStatus(body["ord_status"]),
        quantity=_dec(body.get("quantity")), price=_dec(body.get("price")),
        cum_qty=_dec(body.get("cum_qty")) or Decimal(0),
        leaves_qty=_dec(body.get("leaves_qty")) or Decimal(0),
        avg_px=_dec(body.get("avg_px")) or Decimal(0),
        last_qty=_dec(body.get("last_qty")), last_px=_dec(body.get("last_px")),
        text=body.get("text"), reject_source=RejectSource(source) if source else None,
        venue_order_id=body.get("venue_order_id"), venue_exec_id=body.get("venue_exec_id"),
        transact_time=_time(body["transact_time"]),
    )


def status_report(
    order: Order | None, cl_ord_id: str, version: FixVersion, *, exec_id: str, now: datetime,
    side: str | None = None, symbol: str | None = None, status_req_id: str | None = None,
) -> dict[int, str]:
    """The ExecutionReport answering an OrderStatusRequest for ``cl_ord_id`` (D24-D26)."""
    if order is None:
        fields: dict[int, str] = {
            37: _NONE, 17: exec_id, 39: ord_status_to_fix(OrdStatus.REJECTED), 11: cl_ord_id,
            14: "0", 151: "0", 6: "0", 58: UNKNOWN_ORDER, 60: format_timestamp(now),
        }
        if side is not None:
            fields[54] = side
        if symbol is not None:
            fields[55] = symbol
        status = OrdStatus.REJECTED
    else:
        event = OrderEvent(
            order_id=order.order_id, seq=None, cl_ord_id=cl_ord_id,
            orig_cl_ord_id=order.orig_cl_ord_id, account=order.account, symbol=order.symbol,
            side=order.side, venue=order.venue, exec_type=ExecType.NEW,
            ord_status=order.status, quantity=order.quantity, price=order.price,
            cum_qty=order.cum_qty, leaves_qty=order.leaves_qty, avg_px=order.avg_px,
            last_qty=None, last_px=None, text=None, reject_source=None,
            venue_order_id=order.venue_order_id, venue_exec_id=None, transact_time=now,
        )
        fields = _plain(execution_report_to_fix(event, version, exec_id=exec_id))
        status = order.status
        if side is None:
            fields[54] = side_to_fix(order.side)
    if version is FixVersion.FIX44:
        fields[150] = "I"
        fields.pop(20, None)
    else:  # FIX 4.2: ExecTransType 3 (status); ExecType codes match OrdStatus codes
        fields[20] = "3"
        fields[150] = ord_status_to_fix(status)
    if status_req_id is not None and version is FixVersion.FIX44:
        fields[790] = status_req_id
    return fields


def _plain(fields: dict[int, str]) -> dict[int, str]:
    """Body fields only, none empty (MsgType travels apart, in the client outbox row)."""
    return {tag: value for tag, value in fields.items() if tag != 35 and value != ""}


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    text = str(value)
    if text.endswith("Z") and "T" in text:
        return datetime.fromisoformat(text[:-1] + "+00:00")
    return parse_timestamp(60, text)


class FixClientReports:
    """The core's ``ClientReportFormat`` port (``oms.engine.ports``): the messages above, in
    the session's FIX version given as its BeginString."""

    def event_message(
        self, body: Body, version: str, *, side: str | None = None, symbol: str | None = None,
    ) -> tuple[str, dict[int, str]]:
        return client_message(body, FixVersion(version), side=side, symbol=symbol)

    def status_report(
        self, order: Order | None, cl_ord_id: str, version: str, *, exec_id: str, now: datetime,
        side: str | None = None, symbol: str | None = None, status_req_id: str | None = None,
    ) -> dict[int, str]:
        return status_report(order, cl_ord_id, FixVersion(version), exec_id=exec_id, now=now,
                             side=side, symbol=symbol, status_req_id=status_req_id)
