"""Pure FIX 4.2/4.4 <-> domain translation for ExecutionReport and OrderCancelReject.

In: a venue's message as ``dict[int, str]`` -> ``VenueExecutionReport`` / ``VenueCancelReject``
(ids still the venue's: the engine maps ClOrdIDs to OMS request ids). Anything missing or
garbled raises ``TranslationError`` naming the tag; nothing else escapes.

Out: a domain ``OrderEvent`` -> the field dict of the ExecutionReport (35=8) or, for
cancel/replace rejections, the OrderCancelReject (35=9) owed to a FIX client.
"""

from __future__ import annotations

from decimal import Decimal

from fix_gateway.translate_codes import (
    CXL_REJ_REASON,
    CXL_REJ_RESPONSE_TO,
    EXEC_TRANS_TYPE_CANCEL,
    EXEC_TRANS_TYPE_CORRECT,
    EXEC_TRANS_TYPE_NEW,
    EXEC_TRANS_TYPE_STATUS,
    EXEC_TYPE_42,
    EXEC_TYPE_44,
    RESTATEMENT_REASON,
    TRADE,
    FixVersion,
    Trade,
    decode,
    exec_type_to_fix,
    ord_status_from_fix,
    ord_status_to_fix,
    side_from_fix,
    side_to_fix,
)
from fix_gateway.translate_fields import (
    FixFields,
    TranslationError,
    format_decimal,
    format_timestamp,
    optional,
    optional_bool,
    optional_decimal,
    optional_int,
    optional_quantity,
    optional_timestamp,
    required,
)
from oms.domain.order_events import OrderEvent
from oms.domain.order_inputs import RequestKind, RestatementReason, VenueCancelReject
from oms.domain.order_inputs import VenueExecutionReport as Report
from oms.domain.values import ExecType, OrdStatus

__all__ = [
    "FixVersion",
    "TranslationError",
    "cancel_reject_from_fix",
    "cancel_reject_to_fix",
    "execution_report_from_fix",
    "execution_report_to_fix",
    "outbound_fields",
]

_FILL_TYPES = (ExecType.PARTIAL_FILL, ExecType.FILL, ExecType.TRADE_CORRECT)
_REFERENCING = (ExecType.TRADE_CORRECT, ExecType.TRADE_CANCEL)
_NONE = "NONE"  # FIX's OrderID / OrigClOrdID for "no such order"


def execution_report_from_fix(fields: FixFields, version: FixVersion) -> Report:
    """A venue's ExecutionReport as a domain report (exec_type None: status or stopped)."""
    exec_id = required(fields, 17)
    ord_status = ord_status_from_fix(required(fields, 39))
    order_qty = optional_quantity(fields, 38)
    cum_qty = optional_quantity(fields, 14)
    exec_type = _exec_type(fields, version)
    if exec_type == TRADE:
        # FIX 4.4 says "trade"; the domain says partial fill or fill
        full = (
            cum_qty >= order_qty
            if order_qty is not None and cum_qty is not None
            else ord_status is OrdStatus.FILLED
        )
        exec_type = ExecType.FILL if full else ExecType.PARTIAL_FILL
    last_qty = optional_quantity(fields, 32)
    last_px = optional_decimal(fields, 31)
    ref_exec_id = optional(fields, 19)
    if exec_type in _FILL_TYPES:
        if last_qty is None:
            raise TranslationError(32, f"LastQty is required on a {exec_type} report")
        if last_px is None:
            raise TranslationError(31, f"LastPx is required on a {exec_type} report")
    if exec_type in _REFERENCING and ref_exec_id is None:
        raise TranslationError(19, f"ExecRefID is required on a {exec_type} report")
    side = optional(fields, 54)
    return Report(
        exec_type=exec_type,
        exec_id=exec_id,
        ord_status=ord_status,
        cl_ord_id=optional(fields, 11),
        orig_cl_ord_id=optional(fields, 41),
        venue_order_id=_order_id(fields),
        ref_exec_id=ref_exec_id,
        last_qty=last_qty,
        last_px=last_px,
        cum_qty=cum_qty,
        leaves_qty=optional_quantity(fields, 151),
        avg_px=optional_decimal(fields, 6),
        order_qty=order_qty,
        price=optional_decimal(fields, 44),
        stop_price=optional_decimal(fields, 99),
        transact_time=optional_timestamp(fields, 60),
        text=optional(fields, 58),
        restatement_reason=_restatement_reason(fields),
        poss_dup=optional_bool(fields, 43),
        poss_resend=optional_bool(fields, 97),
        account=optional(fields, 1),
        symbol=optional(fields, 55),
        side=None if side is None else side_from_fix(side),
    )


def _exec_type(fields: FixFields, version: FixVersion) -> ExecType | Trade | None:
    code = required(fields, 150)
    if version is FixVersion.FIX44:
        return decode(EXEC_TYPE_44, 150, code, "ExecType for FIX 4.4")
    exec_type = decode(EXEC_TYPE_42, 150, code, "ExecType for FIX 4.2")
    trans = required(fields, 20)
    if trans == EXEC_TRANS_TYPE_NEW:
        return exec_type
    if trans == EXEC_TRANS_TYPE_CANCEL:
        return ExecType.TRADE_CANCEL
    if trans == EXEC_TRANS_TYPE_CORRECT:
        return ExecType.TRADE_CORRECT
    if trans == EXEC_TRANS_TYPE_STATUS:
        return None
    raise TranslationError(20, f"unknown ExecTransType {trans!r}")


def _order_id(fields: FixFields) -> str | None:
    order_id = optional(fields, 37)
    return None if order_id == _NONE else order_id


def _restatement_reason(fields: FixFields) -> RestatementReason | None:
    code = optional_int(fields, 378)
    if code is None:
        return None
    return RESTATEMENT_REASON.get(code, RestatementReason.OTHER)


def cancel_reject_from_fix(fields: FixFields, version: FixVersion) -> VenueCancelReject:
    """A venue's OrderCancelReject as a domain input (``version`` reads alike for both)."""
    status = optional(fields, 39)
    reason_code = optional_int(fields, 102)
    reason = None
    if reason_code is not None:
        reason = CXL_REJ_REASON.get(reason_code, f"CxlRejReason {reason_code}")
    orig = optional(fields, 41)
    return VenueCancelReject(
        cl_ord_id=required(fields, 11),
        response_to=decode(CXL_REJ_RESPONSE_TO, 434, required(fields, 434), "CxlRejResponseTo"),
        orig_cl_ord_id=None if orig == _NONE else orig,
        ord_status=None if status is None else ord_status_from_fix(status),
        venue_order_id=_order_id(fields),
        reason=reason,
        text=optional(fields, 58),
        transact_time=optional_timestamp(fields, 60),
    )


def execution_report_to_fix(
    event: OrderEvent,
    version: FixVersion,
    *,
    exec_id: str,
    ref_exec_id: str | None = None,
) -> dict[int, str]:
    """The ExecutionReport a FIX client gets for ``event``.

    ``exec_id`` is the ExecID the OMS gives this report (unique per client session);
    ``ref_exec_id`` is the ExecID the client was given for the execution a correction or bust
    refers to (default: the event's venue ExecID).
    """
    exec_type, trans = exec_type_to_fix(event.exec_type, version)
    if trans in (EXEC_TRANS_TYPE_CORRECT, EXEC_TRANS_TYPE_CANCEL):
        exec_type = "2" if event.ord_status is OrdStatus.FILLED else "1"
    fields: dict[int, str] = {
        35: "8",
        37: event.order_id or _NONE,
        17: exec_id,
        150: exec_type,
        39: ord_status_to_fix(event.ord_status),
        11: event.cl_ord_id,
        54: side_to_fix(event.side),
        55: event.symbol,
        14: format_decimal(event.cum_qty),
        151: format_decimal(event.leaves_qty),
        6: format_decimal(event.avg_px),
        60: format_timestamp(event.transact_time),
    }
    if trans is not None:
        fields[20] = trans
    if event.exec_type in _REFERENCING:
        ref = ref_exec_id or event.venue_exec_id
        if not ref:
            raise TranslationError(19, f"a {event.exec_type} report needs the ExecRefID")
        fields[19] = ref
    _put(fields, 41, event.orig_cl_ord_id)
    _put(fields, 1, event.account)
    _put(fields, 58, event.text)
    _put_decimal(fields, 38, event.quantity)
    _put_decimal(fields, 44, event.price)
    _put_decimal(fields, 32, event.last_qty)
    _put_decimal(fields, 31, event.last_px)
    return fields


_RESPONSE_TO = {ExecType.CANCEL_REJECTED: "1", ExecType.REPLACE_REJECTED: "2"}


def cancel_reject_to_fix(
    event: OrderEvent, version: FixVersion, *, reason_code: int | None = None
) -> dict[int, str]:
    """The OrderCancelReject a FIX client gets for a cancel_rejected/replace_rejected event.

    FIX 4.2 and 4.4 carry the same fields here; ``reason_code`` is CxlRejReason (102).
    """
    response_to = _RESPONSE_TO.get(event.exec_type)
    if response_to is None:
        raise TranslationError(434, f"{event.exec_type} is not a cancel or replace rejection")
    fields: dict[int, str] = {
        35: "9",
        37: event.order_id or _NONE,
        11: event.cl_ord_id,
        41: event.orig_cl_ord_id or _NONE,
        39: ord_status_to_fix(event.ord_status),
        434: response_to,
        60: format_timestamp(event.transact_time),
    }
    if reason_code is not None:
        fields[102] = str(reason_code)
    _put(fields, 1, event.account)
    _put(fields, 58, event.text)
    return fields


def outbound_fields(
    event: OrderEvent,
    version: FixVersion,
    *,
    exec_id: str,
    ref_exec_id: str | None = None,
) -> dict[int, str]:
    """Whichever message the event becomes for a FIX client (35=8 or 35=9)."""
    if event.exec_type in _RESPONSE_TO:
        return cancel_reject_to_fix(event, version)
    return execution_report_to_fix(event, version, exec_id=exec_id, ref_exec_id=ref_exec_id)


def request_kind_to_fix(kind: RequestKind) -> str:
    """CxlRejResponseTo (434) for a request kind."""
    return "1" if kind is RequestKind.CANCEL else "2"


def _put(fields: dict[int, str], tag: int, value: str | None) -> None:
    if value:
        fields[tag] = value


def _put_decimal(fields: dict[int, str], tag: int, value: Decimal | None) -> None:
    if value is not None:
        fields[tag] = format_decimal(value)
