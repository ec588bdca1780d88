"""The order state machine as one explicit table: (phase, input kind) -> handler.

A pair missing from the table is refused by ``Order.apply`` with a reason (and flagged as an
anomaly when the input is a venue report). The comments name the FIX 4.4 Appendix D scenarios
(D1..D37, in the FIX 4.2 numbering) and real-world cases each row exists for.

Choices worth knowing:
- ``filled`` is not final. A bust or a correction can reopen it (D34), so can a replace that
  raises the quantity (D8). A cancel of a filled order is refused.
- ``closed`` (canceled, expired, rejected, a day order done for the day) is final: requests are
  refused, yet late fills, busts and corrections are still applied (D35) because the venue's
  executions move real positions; a late fill is flagged for operators.
- A venue ``rejected`` report for an acknowledged order is refused, not applied: it is the
  venue refusing a duplicate of it (D22), not the order itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from oms.domain import order_handlers_commands as command
from oms.domain import order_handlers_refusals as refusal
from oms.domain import order_handlers_reports as report
from oms.domain.order_events import Outcome
from oms.domain.order_phases import InputKind, Phase

if TYPE_CHECKING:
    from oms.domain.orders import Order

Handler = Callable[["Order", Any, datetime], Outcome]

CREATED, PENDING_NEW, WORKING = Phase.CREATED, Phase.PENDING_NEW, Phase.WORKING
FILLED, CLOSED = Phase.FILLED, Phase.CLOSED
K = InputKind

TRANSITIONS: Final[Mapping[tuple[Phase, InputKind], Handler]] = MappingProxyType(
    {
        # --- created: known to the OMS only --------------------------------------------------
        (CREATED, K.ACCEPT): command.accept,  # risk passed, sent: pending_new
        (CREATED, K.REJECT): command.reject,  # validation or risk refused it
        (CREATED, K.OPERATOR_CLOSE): command.operator_close,
        # --- pending new: sent, not acknowledged ---------------------------------------------
        (PENDING_NEW, K.PENDING_NEW_REPORT): report.acknowledged_already,
        (PENDING_NEW, K.NEW_REPORT): report.acknowledge,  # D1
        (PENDING_NEW, K.REJECTED_REPORT): report.venue_reject,  # D1 alt, D23
        (PENDING_NEW, K.TRADE_REPORT): report.trade,  # a fill before the ack
        (PENDING_NEW, K.CANCELED_REPORT): report.canceled,  # cancel before ack, FOK/IOC killed
        (PENDING_NEW, K.EXPIRED_REPORT): report.expired,
        (PENDING_NEW, K.DONE_FOR_DAY_REPORT): report.done_for_day,
        (PENDING_NEW, K.RESTATED_REPORT): report.restated,
        (PENDING_NEW, K.PENDING_CANCEL_REPORT): report.request_acknowledged,  # B.1.d
        (PENDING_NEW, K.PENDING_REPLACE_REPORT): report.request_acknowledged,
        (PENDING_NEW, K.REPLACED_REPORT): report.replaced,
        (PENDING_NEW, K.CANCEL_REJECT): report.cancel_reject,
        (PENDING_NEW, K.REQUEST_NOT_TAKEN): refusal.request_not_taken,  # 35=3/35=j, silence
        (PENDING_NEW, K.STATUS_REPORT): report.status_report,  # in doubt: D24, D26
        (PENDING_NEW, K.REQUEST_CANCEL): command.request_cancel,  # B.1.d, B.1.e
        (PENDING_NEW, K.REQUEST_REPLACE): command.request_replace,
        (PENDING_NEW, K.EXPIRE): command.expire,
        (PENDING_NEW, K.OPERATOR_CLOSE): command.operator_close,
        # --- working: acknowledged, quantity left --------------------------------------------
        (WORKING, K.PENDING_NEW_REPORT): report.acknowledged_already,
        (WORKING, K.NEW_REPORT): report.acknowledged_already,  # late ack after a fill
        (WORKING, K.TRADE_REPORT): report.trade,  # D1, D4, D7, fills while pending
        (WORKING, K.TRADE_CORRECT_REPORT): report.correct,  # D34, D36
        (WORKING, K.TRADE_CANCEL_REPORT): report.bust,  # D34
        (WORKING, K.CANCELED_REPORT): report.canceled,  # D3, D4, D19, D33
        (WORKING, K.EXPIRED_REPORT): report.expired,
        (WORKING, K.DONE_FOR_DAY_REPORT): report.done_for_day,  # D2, D27
        (WORKING, K.RESTATED_REPORT): report.restated,  # D20, D21, D27, D28
        (WORKING, K.PENDING_CANCEL_REPORT): report.request_acknowledged,  # D3, D4
        (WORKING, K.PENDING_REPLACE_REPORT): report.request_acknowledged,  # D6, D7, D13
        (WORKING, K.REPLACED_REPORT): report.replaced,  # D6, D7, D10, D13, D16
        (WORKING, K.CANCEL_REJECT): report.cancel_reject,  # D3 alt, D14, D15, D17
        (WORKING, K.REQUEST_NOT_TAKEN): refusal.request_not_taken,
        (WORKING, K.STATUS_REPORT): report.status_report,  # D25, D26, D31, D37
        (WORKING, K.REQUEST_CANCEL): command.request_cancel,
        (WORKING, K.REQUEST_REPLACE): command.request_replace,
        (WORKING, K.EXPIRE): command.expire,
        (WORKING, K.RESTATE): command.restate,
        (WORKING, K.OPERATOR_CLOSE): command.operator_close,
        # --- filled: cum qty reached the quantity --------------------------------------------
        (FILLED, K.PENDING_NEW_REPORT): report.acknowledged_already,
        (FILLED, K.NEW_REPORT): report.acknowledged_already,  # late ack after the fill
        (FILLED, K.TRADE_REPORT): report.trade,  # an overfill: applied and flagged
        (FILLED, K.TRADE_CORRECT_REPORT): report.correct,  # D34
        (FILLED, K.TRADE_CANCEL_REPORT): report.bust,  # D34: reopens the order
        (FILLED, K.DONE_FOR_DAY_REPORT): report.done_for_day,
        (FILLED, K.RESTATED_REPORT): report.restated,
        (FILLED, K.PENDING_CANCEL_REPORT): report.request_acknowledged,  # B.1.c
        (FILLED, K.PENDING_REPLACE_REPORT): report.request_acknowledged,  # D8
        (FILLED, K.REPLACED_REPORT): report.replaced,  # D8 raise, D11/D12 amended to cum
        (FILLED, K.CANCEL_REJECT): report.cancel_reject,  # D5, D9: stays filled
        (FILLED, K.REQUEST_NOT_TAKEN): refusal.request_not_taken,
        (FILLED, K.STATUS_REPORT): report.status_report,
        (FILLED, K.REQUEST_REPLACE): command.request_replace,  # D8: quantity increase only
        (FILLED, K.RESTATE): command.restate,
        # --- closed: canceled, expired, rejected, day order done for the day -----------------
        (CLOSED, K.PENDING_NEW_REPORT): report.acknowledged_already,
        (CLOSED, K.NEW_REPORT): report.acknowledged_already,  # ack crossing a cancel, B.1.e
        (CLOSED, K.TRADE_REPORT): report.trade,  # late fill, D35: applied and flagged
        (CLOSED, K.TRADE_CORRECT_REPORT): report.correct,  # D36-style on a closed order
        (CLOSED, K.TRADE_CANCEL_REPORT): report.bust,  # D35
        (CLOSED, K.CANCELED_REPORT): report.closed_already,  # venue cancels what OMS expired
        (CLOSED, K.EXPIRED_REPORT): report.closed_already,
        (CLOSED, K.REJECTED_REPORT): report.closed_already,
        (CLOSED, K.DONE_FOR_DAY_REPORT): report.closed_already,
        (CLOSED, K.PENDING_CANCEL_REPORT): report.request_acknowledged_late,
        (CLOSED, K.PENDING_REPLACE_REPORT): report.request_acknowledged_late,
        (CLOSED, K.CANCEL_REJECT): report.cancel_reject,  # already answered on close
        (CLOSED, K.REQUEST_NOT_TAKEN): refusal.request_not_taken,  # answered on close
        (CLOSED, K.STATUS_REPORT): report.status_report,
    }
)
