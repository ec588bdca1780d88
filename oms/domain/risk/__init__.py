"""Pre-trade risk: inline checks of every order, kill switches and the execution breaker.

Pure: no I/O, no clock (``now`` is passed in, a UTC datetime), nothing imported from outside
``oms.domain``. Risk denies by returning a ``RiskDecision``, never by raising.

The engine, per request:
  * new order: ``check_new_order(order, ctx, now)``; if accepted, ``record_new_order``;
  * replace:   ``check_replace(replace, ctx, now)``; if accepted, ``record_replace``;
  * cancel:    never refused (no kill switch, halt or rate stops it): ``record_cancel`` only,
    which counts it in the message-rate windows;
  * execution: ``breaker.record_execution(...)``; a returned change halts the account and
    carries the ``MassCancelIntent`` to carry out;
  * operator:  ``kill_switch.trip`` / ``clear``, ``breaker.reenable``; persist what changed and
    carry out any ``mass_cancel``.
"""

from oms.domain.risk.breaker import BreakerChange, BreakerState, ExecutionBreaker
from oms.domain.risk.checks import (
    check_new_order,
    check_replace,
    record_cancel,
    record_new_order,
    record_replace,
)
from oms.domain.risk.codes import RiskCode
from oms.domain.risk.context import ReferencePrice, RiskContext
from oms.domain.risk.decision import ACCEPTED, RiskDecision
from oms.domain.risk.duplicates import DuplicateOrderGuard
from oms.domain.risk.exposure import worst_case_exposure, worst_case_quantity
from oms.domain.risk.intents import OrderIntent, ReplaceIntent
from oms.domain.risk.kill_switch import KillSwitch, KillSwitchChange, KillSwitchEntry
from oms.domain.risk.limits import RateLimit, RiskLimits
from oms.domain.risk.mass_cancel import GLOBAL_KEY, MassCancelIntent
from oms.domain.risk.permissions import may_halt, may_reenable
from oms.domain.risk.rate_window import RateWindows, SlidingWindow

__all__ = [
    "ACCEPTED",
    "GLOBAL_KEY",
    "BreakerChange",
    "BreakerState",
    "DuplicateOrderGuard",
    "ExecutionBreaker",
    "KillSwitch",
    "KillSwitchChange",
    "KillSwitchEntry",
    "MassCancelIntent",
    "OrderIntent",
    "RateLimit",
    "RateWindows",
    "ReferencePrice",
    "ReplaceIntent",
    "RiskCode",
    "RiskContext",
    "RiskDecision",
    "RiskLimits",
    "SlidingWindow",
    "check_new_order",
    "check_replace",
    "may_halt",
    "may_reenable",
    "record_cancel",
    "record_new_order",
    "record_replace",
    "worst_case_exposure",
    "worst_case_quantity",
]
