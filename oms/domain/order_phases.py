"""The keys of the transition table: the order's phase and the kind of input applied to it.

The phase is a coarser view than ``OrdStatus``: statuses such as ``pending_cancel`` or
``done_for_day`` are overlays on a phase, derived by FIX precedence (``order_status``), while
what an order may accept depends only on the phase.
"""

from __future__ import annotations

from enum import StrEnum

from oms.domain.order_inputs import (
    ExpireOrder,
    OperatorCloseOrder,
    OrderAccepted,
    OrderInput,
    RejectOrder,
    RequestCancel,
    RequestNotTaken,
    RequestReplace,
    RestateOrder,
    VenueCancelReject,
    VenueExecutionReport,
)
from oms.domain.values import ExecType


class Phase(StrEnum):
    CREATED = "created"
    """Known to the OMS only: not yet accepted and sent (no event published yet)."""
    PENDING_NEW = "pending_new"
    """Sent; the venue has neither acknowledged, traded, nor refused it."""
    WORKING = "working"
    """Acknowledged (or traded) with quantity left: new, partly filled, GT done for the day."""
    FILLED = "filled"
    """Cum qty reached the quantity. Not final: a bust, a correction or a replace that raises
    the quantity reopens it (D8, D34)."""
    CLOSED = "closed"
    """Canceled, expired, rejected, or a day order done for the day: leaves 0 for good. Late
    fills, busts and corrections are still applied (D35), requests are refused."""


class InputKind(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    REQUEST_CANCEL = "request_cancel"
    REQUEST_REPLACE = "request_replace"
    EXPIRE = "expire"
    RESTATE = "restate"
    OPERATOR_CLOSE = "operator_close"
    CANCEL_REJECT = "cancel_reject"
    REQUEST_NOT_TAKEN = "request_not_taken"
    STATUS_REPORT = "status_report"
    PENDING_NEW_REPORT = "pending_new_report"
    NEW_REPORT = "new_report"
    REJECTED_REPORT = "rejected_report"
    TRADE_REPORT = "trade_report"
    TRADE_CORRECT_REPORT = "trade_correct_report"
    TRADE_CANCEL_REPORT = "trade_cancel_report"
    PENDING_CANCEL_REPORT = "pending_cancel_report"
    CANCELED_REPORT = "canceled_report"
    PENDING_REPLACE_REPORT = "pending_replace_report"
    REPLACED_REPORT = "replaced_report"
    EXPIRED_REPORT = "expired_report"
    DONE_FOR_DAY_REPORT = "done_for_day_report"
    RESTATED_REPORT = "restated_report"
    UNSUPPORTED = "unsupported"
    """No row anywhere: refused whatever the phase."""


_REPORT_KINDS = {
    ExecType.PENDING_NEW: InputKind.PENDING_NEW_REPORT,
    ExecType.NEW: InputKind.NEW_REPORT,
    ExecType.REJECTED: InputKind.REJECTED_REPORT,
    ExecType.PARTIAL_FILL: InputKind.TRADE_REPORT,
    ExecType.FILL: InputKind.TRADE_REPORT,
    ExecType.TRADE_CORRECT: InputKind.TRADE_CORRECT_REPORT,
    ExecType.TRADE_CANCEL: InputKind.TRADE_CANCEL_REPORT,
    ExecType.PENDING_CANCEL: InputKind.PENDING_CANCEL_REPORT,
    ExecType.CANCELED: InputKind.CANCELED_REPORT,
    ExecType.PENDING_REPLACE: InputKind.PENDING_REPLACE_REPORT,
    ExecType.REPLACED: InputKind.REPLACED_REPORT,
    ExecType.EXPIRED: InputKind.EXPIRED_REPORT,
    ExecType.DONE_FOR_DAY: InputKind.DONE_FOR_DAY_REPORT,
    ExecType.RESTATED: InputKind.RESTATED_REPORT,
}

_COMMAND_KINDS: dict[type, InputKind] = {
    OrderAccepted: InputKind.ACCEPT,
    RejectOrder: InputKind.REJECT,
    RequestCancel: InputKind.REQUEST_CANCEL,
    RequestReplace: InputKind.REQUEST_REPLACE,
    ExpireOrder: InputKind.EXPIRE,
    RestateOrder: InputKind.RESTATE,
    OperatorCloseOrder: InputKind.OPERATOR_CLOSE,
    VenueCancelReject: InputKind.CANCEL_REJECT,
    RequestNotTaken: InputKind.REQUEST_NOT_TAKEN,
}


def input_kind(value: OrderInput) -> InputKind:
    """The table key for an input.

    An ExecutionReport claiming ExecType cancel/replace rejected is ``UNSUPPORTED``: venues
    answer a refused request with an OrderCancelReject (``VenueCancelReject``) instead.
    """
    if isinstance(value, VenueExecutionReport):
        if value.exec_type is None:
            return InputKind.STATUS_REPORT
        return _REPORT_KINDS.get(value.exec_type, InputKind.UNSUPPORTED)
    return _COMMAND_KINDS.get(type(value), InputKind.UNSUPPORTED)
