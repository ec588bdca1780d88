"""Reports the engine could not match to any order: kept for operators, never dropped.

A venue may report an order the OMS never sent (a telephoned order, FIX Appendix D18), one
whose ClOrdID mapping was lost, or answer a request the OMS no longer knows. There is no
aggregate to apply such a report to, so the engine records it as an ``UnmatchedReport``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from oms.domain.order_events import Anomaly, AnomalyKind
from oms.domain.order_inputs import VenueCancelReject, VenueExecutionReport
from oms.domain.values import ExecType

_FILL_TYPES = frozenset({ExecType.PARTIAL_FILL, ExecType.FILL, ExecType.TRADE_CORRECT})


@dataclass(frozen=True, slots=True)
class UnmatchedReport:
    """A report with no order, as operators see it; ``report`` keeps everything received."""

    venue: str
    received_at: datetime
    reason: str
    report: VenueExecutionReport | VenueCancelReject
    anomaly: Anomaly

    @property
    def exec_id(self) -> str | None:
        return self.report.exec_id if isinstance(self.report, VenueExecutionReport) else None

    @property
    def carries_fill(self) -> bool:
        """True when the report moves a position: operators must book or dispute it."""
        report = self.report
        return (
            isinstance(report, VenueExecutionReport)
            and report.last_qty is not None
            and report.last_qty != Decimal(0)
            and report.exec_type in _FILL_TYPES
        )


def unmatched_report(
    venue: str,
    report: VenueExecutionReport | VenueCancelReject,
    received_at: datetime,
    reason: str | None = None,
) -> UnmatchedReport:
    """Record a report that matched no order, with a reason an operator can act on."""
    if reason is None:
        reason = f"no order for ClOrdID {report.cl_ord_id!r} at venue {venue}"
        if isinstance(report, VenueExecutionReport) and report.venue_order_id:
            reason += f" (venue OrderID {report.venue_order_id})"
    return UnmatchedReport(
        venue=venue,
        received_at=received_at,
        reason=reason,
        report=report,
        anomaly=Anomaly(AnomalyKind.UNMATCHED_REPORT, reason),
    )
