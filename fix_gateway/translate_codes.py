"""FIX code values <-> domain enums, for FIX 4.2 and 4.4.

FIX 4.2 reports a trade as ExecType 1 (partial fill) or 2 (fill), and a bust, a correction or
a status answer through ExecTransType (20) = 1, 2, 3. FIX 4.4 dropped ExecTransType and says
the same with ExecType F (trade), H (trade cancel), G (trade correct), I (order status).
Values FIX defines but the domain does not model (Stopped, Suspended, Calculated, ...) are
read as None; values FIX does not define are a TranslationError.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal, TypeVar

from fix_gateway.translate_fields import TranslationError
from oms.domain.order_inputs import RequestKind, RestatementReason
from oms.domain.values import ExecType, OrdStatus, OrdType, Side, TimeInForce


class FixVersion(StrEnum):
    FIX42 = "FIX.4.2"
    FIX44 = "FIX.4.4"


E = TypeVar("E")

SIDE: Final = {"1": Side.BUY, "2": Side.SELL, "5": Side.SELL_SHORT}
SIDE_ALIASES: Final = {"6": Side.SELL_SHORT}  # sell short exempt, read as sell short
ORD_TYPE: Final = {
    "1": OrdType.MARKET,
    "2": OrdType.LIMIT,
    "3": OrdType.STOP,
    "4": OrdType.STOP_LIMIT,
}
TIME_IN_FORCE: Final = {
    "0": TimeInForce.DAY,
    "1": TimeInForce.GTC,
    "3": TimeInForce.IOC,
    "4": TimeInForce.FOK,
    "6": TimeInForce.GTD,
}
ORD_STATUS: Final = {
    "0": OrdStatus.NEW,
    "1": OrdStatus.PARTIALLY_FILLED,
    "2": OrdStatus.FILLED,
    "3": OrdStatus.DONE_FOR_DAY,
    "4": OrdStatus.CANCELED,
    "6": OrdStatus.PENDING_CANCEL,
    "8": OrdStatus.REJECTED,
    "A": OrdStatus.PENDING_NEW,
    "C": OrdStatus.EXPIRED,
    "E": OrdStatus.PENDING_REPLACE,
}
# Replaced (4.2), Stopped, Suspended, Calculated, Accepted for bidding
ORD_STATUS_UNMODELLED: Final = frozenset({"5", "7", "9", "B", "D"})

# ExecType codes both versions share; TRADE below stands for "a fill, partial or full".
_EXEC_TYPE_COMMON: Final = {
    "0": ExecType.NEW,
    "3": ExecType.DONE_FOR_DAY,
    "4": ExecType.CANCELED,
    "5": ExecType.REPLACED,
    "6": ExecType.PENDING_CANCEL,
    "8": ExecType.REJECTED,
    "A": ExecType.PENDING_NEW,
    "C": ExecType.EXPIRED,
    "D": ExecType.RESTATED,
    "E": ExecType.PENDING_REPLACE,
}
Trade = Literal["trade"]
TRADE: Final[Trade] = "trade"
EXEC_TYPE_42: Final[dict[str, ExecType | Trade | None]] = {
    **_EXEC_TYPE_COMMON,
    "1": ExecType.PARTIAL_FILL,
    "2": ExecType.FILL,
    "7": None,  # stopped: a guarantee of execution, no state change
    "9": None,  # suspended
    "B": None,  # calculated
}
EXEC_TYPE_44: Final[dict[str, ExecType | Trade | None]] = {
    **_EXEC_TYPE_COMMON,
    "F": TRADE,
    "G": ExecType.TRADE_CORRECT,
    "H": ExecType.TRADE_CANCEL,
    "I": None,  # order status
    "7": None,
    "9": None,
    "B": None,
    "1": ExecType.PARTIAL_FILL,  # FIX 4.2 codes some 4.4 venues still send
    "2": ExecType.FILL,
}
EXEC_TRANS_TYPE_NEW, EXEC_TRANS_TYPE_CANCEL = "0", "1"
EXEC_TRANS_TYPE_CORRECT, EXEC_TRANS_TYPE_STATUS = "2", "3"

RESTATEMENT_REASON: Final = {
    0: RestatementReason.GT_CORPORATE_ACTION,
    1: RestatementReason.GT_RENEWAL,
    2: RestatementReason.VERBAL_CHANGE,
    3: RestatementReason.REPRICING,
    4: RestatementReason.BROKER_OPTION,
    5: RestatementReason.PARTIAL_DECLINE,
    6: RestatementReason.CANCEL_ON_TRADING_HALT,
    7: RestatementReason.CANCEL_ON_SYSTEM_FAILURE,
    8: RestatementReason.MARKET_OPTION,
    9: RestatementReason.CANCELED_NOT_BEST,
    10: RestatementReason.WAREHOUSE_RECAP,
    99: RestatementReason.OTHER,
}
CXL_REJ_REASON: Final = {
    0: "too late to cancel",
    1: "unknown order",
    2: "broker / exchange option",
    3: "order already in pending cancel or pending replace status",
    4: "unable to process order mass cancel request",
    5: "OrigOrdModTime did not match last TransactTime of order",
    6: "duplicate ClOrdID received",
    99: "other",
}
CXL_REJ_RESPONSE_TO: Final = {"1": RequestKind.CANCEL, "2": RequestKind.REPLACE}


def decode(table: dict[str, E], tag: int, value: str, what: str) -> E:
    try:
        return table[value]
    except KeyError:
        raise TranslationError(tag, f"unknown {what} {value!r}") from None


def encode(table: dict[str, E], value: E, tag: int) -> str:
    for code, member in table.items():
        if member == value:
            return code
    raise TranslationError(tag, f"{value!r} has no FIX code")


def side_from_fix(value: str) -> Side:
    return decode({**SIDE, **SIDE_ALIASES}, 54, value, "Side")


def side_to_fix(side: Side) -> str:
    return encode(SIDE, side, 54)


def ord_type_from_fix(value: str) -> OrdType:
    return decode(ORD_TYPE, 40, value, "OrdType")


def ord_type_to_fix(ord_type: OrdType) -> str:
    return encode(ORD_TYPE, ord_type, 40)


def time_in_force_from_fix(value: str) -> TimeInForce:
    return decode(TIME_IN_FORCE, 59, value, "TimeInForce")


def time_in_force_to_fix(time_in_force: TimeInForce) -> str:
    return encode(TIME_IN_FORCE, time_in_force, 59)


def ord_status_from_fix(value: str) -> OrdStatus | None:
    """None for an OrdStatus FIX defines but the domain does not model (e.g. Stopped)."""
    if value in ORD_STATUS_UNMODELLED:
        return None
    return decode(ORD_STATUS, 39, value, "OrdStatus")


def ord_status_to_fix(status: OrdStatus) -> str:
    return encode(ORD_STATUS, status, 39)


def exec_type_to_fix(exec_type: ExecType, version: FixVersion) -> tuple[str, str | None]:
    """(ExecType 150, ExecTransType 20 or None for 4.4) for an event's exec_type.

    Cancel/replace rejected are not ExecutionReports (see ``cancel_reject_to_fix``).
    """
    if exec_type in (ExecType.CANCEL_REJECTED, ExecType.REPLACE_REJECTED):
        raise TranslationError(150, f"{exec_type} is sent as an OrderCancelReject")
    if version is FixVersion.FIX44:
        trade_codes = {
            ExecType.PARTIAL_FILL: "F",
            ExecType.FILL: "F",
            ExecType.TRADE_CORRECT: "G",
            ExecType.TRADE_CANCEL: "H",
        }
        if exec_type in trade_codes:
            return trade_codes[exec_type], None
        return encode(_EXEC_TYPE_COMMON, exec_type, 150), None
    if exec_type is ExecType.PARTIAL_FILL:
        return "1", EXEC_TRANS_TYPE_NEW
    if exec_type is ExecType.FILL:
        return "2", EXEC_TRANS_TYPE_NEW
    if exec_type is ExecType.TRADE_CORRECT:
        return "1", EXEC_TRANS_TYPE_CORRECT  # the caller refines 1/2 by the order's status
    if exec_type is ExecType.TRADE_CANCEL:
        return "1", EXEC_TRANS_TYPE_CANCEL
    return encode(_EXEC_TYPE_COMMON, exec_type, 150), EXEC_TRANS_TYPE_NEW
