"""FIX messages <-> the matching engine's commands and reports, for FIX 4.2 and 4.4.

Fields are read by tag number with string values (the fast path of the quickfix Python
binding); outgoing messages are built as FIX text and parsed by quickfix in one call. The
session layer has already checked incoming messages against the data dictionary, so required
fields are present; optional ones are read with a default.

Where the versions differ:
- trades: 4.4 ExecType F (Trade); 4.2 ExecTransType 0 and ExecType 1 (partial) or 2 (fill);
- status answers: 4.4 ExecType I; 4.2 ExecTransType 3 (Status) with ExecType = OrdStatus;
- reject reasons that 4.2 lacks (OrdRejReason 99, CxlRejReason 6) become 0 and 2.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import quickfix as fix

from fix_gateway.venue_sim.model import (
    CancelOrder,
    CancelReject,
    ExecKind,
    ExecutionReport,
    NewOrder,
    OrdStatus,
    OrdType,
    Owner,
    ReplaceOrder,
    Side,
    StatusRequest,
    TimeInForce,
)

FixMessage = Any  # quickfix.Message: the binding has no type stubs

_SIDES = {"1": Side.BUY, "2": Side.SELL, "5": Side.SELL, "6": Side.SELL}
_ORD_TYPES = {"1": OrdType.MARKET, "2": OrdType.LIMIT}
_TIFS = {"0": TimeInForce.DAY, "1": TimeInForce.GTC, "3": TimeInForce.IOC, "4": TimeInForce.FOK}
_EXEC_TYPE_44 = {
    ExecKind.NEW: "0",
    ExecKind.TRADE: "F",
    ExecKind.CANCELED: "4",
    ExecKind.REPLACED: "5",
    ExecKind.REJECTED: "8",
    ExecKind.EXPIRED: "C",
    ExecKind.STATUS: "I",
}
_EXEC_TYPE_42 = {**_EXEC_TYPE_44}
del _EXEC_TYPE_42[ExecKind.TRADE], _EXEC_TYPE_42[ExecKind.STATUS]
_ORD_REJ_REASON_42 = {"99": "0"}  # Other -> Broker option
_CXL_REJ_REASON_42 = {"6": "2"}  # Duplicate ClOrdID -> Broker option
_AVG_PX_QUANTUM = Decimal("0.00000001")
_FIX42, _FIX44 = "FIX.4.2", "FIX.4.4"
SOH = "\x01"


# -- decoding ------------------------------------------------------------------------------


def _optional(msg: FixMessage, tag: int) -> str | None:
    try:
        value: str = msg.getField(tag)
    except fix.FieldNotFound:
        return None
    return value


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _side(msg: FixMessage) -> tuple[Side, str | None]:
    raw = msg.getField(54)
    side = _SIDES.get(raw)
    return (side, None) if side is not None else (Side.BUY, f"unsupported Side {raw}")


def decode_new_order(msg: FixMessage, owner: Owner) -> NewOrder:
    problems: list[str] = []
    side, problem = _side(msg)
    if problem:
        problems.append(problem)
    raw_type = msg.getField(40)
    ord_type = _ORD_TYPES.get(raw_type)
    if ord_type is None:
        problems.append(f"unsupported OrdType {raw_type}")
        ord_type = OrdType.LIMIT
    raw_tif = _optional(msg, 59) or "0"
    tif = _TIFS.get(raw_tif)
    if tif is None:
        problems.append(f"unsupported TimeInForce {raw_tif}")
        tif = TimeInForce.DAY
    quantity = _decimal(_optional(msg, 38))
    if quantity is None:
        problems.append("OrderQty is required")
        quantity = Decimal(0)
    return NewOrder(
        owner=owner,
        cl_ord_id=msg.getField(11),
        symbol=msg.getField(55),
        side=side,
        ord_type=ord_type,
        quantity=quantity,
        price=_decimal(_optional(msg, 44)),
        tif=tif,
        account=_optional(msg, 1),
        unsupported="; ".join(problems) or None,
    )


def decode_cancel(msg: FixMessage, owner: Owner) -> CancelOrder:
    side, _ = _side(msg)
    return CancelOrder(owner, msg.getField(11), msg.getField(41), msg.getField(55), side)


def decode_replace(msg: FixMessage, owner: Owner) -> ReplaceOrder:
    problems: list[str] = []
    side, problem = _side(msg)
    if problem:
        problems.append(problem)
    raw_type = msg.getField(40)
    ord_type = _ORD_TYPES.get(raw_type)
    if ord_type is None:
        problems.append(f"unsupported OrdType {raw_type}")
        ord_type = OrdType.LIMIT
    quantity = _decimal(_optional(msg, 38))
    if quantity is None:
        problems.append("OrderQty is required")
        quantity = Decimal(0)
    return ReplaceOrder(
        owner=owner,
        cl_ord_id=msg.getField(11),
        orig_cl_ord_id=msg.getField(41),
        symbol=msg.getField(55),
        side=side,
        ord_type=ord_type,
        quantity=quantity,
        price=_decimal(_optional(msg, 44)),
        unsupported="; ".join(problems) or None,
    )


def decode_status_request(msg: FixMessage, owner: Owner) -> StatusRequest:
    side, _ = _side(msg)
    return StatusRequest(owner, msg.getField(11), msg.getField(55), side)


# -- encoding ------------------------------------------------------------------------------


def _fmt(value: Decimal) -> str:
    """A plain decimal string: no exponent, no trailing zeros ("100", "10.5")."""
    return format(value.normalize(), "f") if value else "0"


_last_time: tuple[datetime | None, str] = (None, "")


def _utc_timestamp(when: datetime) -> str:
    """FIX UTCTimestamp with milliseconds; reports of one event share one timestamp."""
    global _last_time  # noqa: PLW0603 - a one-entry cache, races only recompute
    cached_for, text = _last_time
    if cached_for is not when:
        text = when.strftime("%Y%m%d-%H:%M:%S.") + f"{when.microsecond // 1000:03d}"
        _last_time = (when, text)
    return text


def _message(begin_string: str, msg_type: str, body: list[str]) -> FixMessage:
    """Build the message from its text in one call into quickfix: about three times faster
    than one ``setField`` per field. BodyLength and CheckSum are recomputed on sending, and
    the session fills in the CompIDs, MsgSeqNum and SendingTime."""
    msg = fix.Message()
    msg.setString(
        f"8={begin_string}\x019=0\x0135={msg_type}\x01{SOH.join(body)}\x0110=000\x01", False
    )
    return msg


def encode_execution_report(report: ExecutionReport, fix42: bool) -> FixMessage:
    kind = report.kind
    status = report.status
    body = [f"37={report.order_id}", f"11={report.cl_ord_id}"]
    put = body.append
    if report.orig_cl_ord_id is not None:
        put(f"41={report.orig_cl_ord_id}")
    put(f"17={report.exec_id}")
    if fix42:
        put("20=3" if kind is ExecKind.STATUS else "20=0")
        if kind is ExecKind.TRADE:
            put("150=2" if status is OrdStatus.FILLED else "150=1")
        elif kind is ExecKind.STATUS:
            put(f"150={status.value}")
        else:
            put(f"150={_EXEC_TYPE_42[kind]}")
    else:
        put(f"150={_EXEC_TYPE_44[kind]}")
    put(f"39={status.value}")
    put(f"55={report.symbol}")
    put(f"54={report.side.value}")
    put(f"40={report.ord_type.value}")
    put(f"59={report.tif.value}")
    if report.quantity:
        put(f"38={_fmt(report.quantity)}")
    if report.price is not None:
        put(f"44={_fmt(report.price)}")
    put(f"151={_fmt(report.leaves_qty)}")
    put(f"14={_fmt(report.cum_qty)}")
    avg_px = report.avg_px
    put(f"6={_fmt(avg_px.quantize(_AVG_PX_QUANTUM))}" if avg_px else "6=0")
    if kind is ExecKind.TRADE:
        put(f"32={_fmt(report.last_qty)}")
        put(f"31={_fmt(report.last_px)}")
    put(f"60={_utc_timestamp(report.transact_time)}")
    if report.account is not None:
        put(f"1={report.account}")
    if report.text:
        put(f"58={report.text}")
    if report.rej_reason is not None:
        reason = report.rej_reason.value
        put(f"103={_ORD_REJ_REASON_42.get(reason, reason) if fix42 else reason}")
    return _message(_FIX42 if fix42 else _FIX44, "8", body)


def encode_cancel_reject(reject: CancelReject, fix42: bool) -> FixMessage:
    reason = reject.reason.value
    body = [
        f"37={reject.order_id}",
        f"11={reject.cl_ord_id}",
        f"41={reject.orig_cl_ord_id}",
        f"39={reject.status.value}",
        f"434={reject.response_to.value}",
        f"102={_CXL_REJ_REASON_42.get(reason, reason) if fix42 else reason}",
        f"58={reject.text}",
        f"60={_utc_timestamp(reject.transact_time)}",
    ]
    return _message(_FIX42 if fix42 else _FIX44, "9", body)
