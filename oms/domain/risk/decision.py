"""The outcome of a risk check. Risk denies by returning a decision, never by raising."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from oms.domain.risk.codes import RiskCode
from oms.domain.values import RejectSource


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """``accepted``, or a rejection with its ``code`` and a human ``text``.

    ``limit`` and ``value`` are the figures compared, when the rule has them (the engine can
    record them with the reject event so the decision can be explained later). A decision is
    always truthy, so rules can be chained with ``or``; test ``accepted``, not the decision.
    """

    accepted: bool
    code: RiskCode | None = None
    text: str = ""
    limit: Decimal | None = None
    value: Decimal | None = None

    reject_source: ClassVar[RejectSource] = RejectSource.RISK

    @staticmethod
    def reject(
        code: RiskCode, text: str, limit: Decimal | None = None, value: Decimal | None = None
    ) -> RiskDecision:
        return RiskDecision(False, code, text, limit, value)


ACCEPTED = RiskDecision(True)
"""The one accepted decision: shared, so an accepted check allocates nothing for its result."""
