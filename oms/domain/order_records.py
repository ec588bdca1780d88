"""What an order remembers besides its headline state: its fills by ExecID, its requests in flight.

Fills are kept one by one (not only as totals) so that a bust or a correction naming an ExecID
reverses exactly that execution, and the average price stays the exact fill-weighted mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal

from oms.domain.order_inputs import RequestKind

ZERO = Decimal(0)

# Averages are the only inexact division; a fixed context keeps them the same on every
# machine and thread, whatever the caller did to the thread's decimal context.
AVG_PX_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)
# Totals are kept with far more digits than any quantity times price needs, so that they stay
# exact (and independent of the order fills were added in) whatever the thread's context.
SUM_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)


def _notional(quantity: Decimal, price: Decimal) -> Decimal:
    return SUM_CONTEXT.multiply(quantity, price)


@dataclass(frozen=True, slots=True)
class Execution:
    quantity: Decimal
    price: Decimal


@dataclass(slots=True)
class FillBook:
    """The live executions of one order, by ExecID, with exact running totals.

    A correction replaces an execution under the correcting report's ExecID and remembers the
    old id as an alias, so a later correction or bust may name either (D34 corrects the
    correction F of D by naming F).
    """

    executions: dict[str, Execution] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    busted: set[str] = field(default_factory=set)
    cum_qty: Decimal = ZERO
    notional: Decimal = ZERO

    @property
    def avg_px(self) -> Decimal:
        """Fill-weighted average price: exact notional / cum qty (0 when nothing is filled)."""
        if self.cum_qty == 0:
            return ZERO
        return AVG_PX_CONTEXT.divide(self.notional, self.cum_qty)

    def resolve(self, exec_id: str) -> str | None:
        """The id under which the execution ``exec_id`` (or its correction) now lives."""
        seen: set[str] = set()
        while exec_id in self.aliases and exec_id not in seen:
            seen.add(exec_id)
            exec_id = self.aliases[exec_id]
        return exec_id if exec_id in self.executions else None

    def add(self, exec_id: str, quantity: Decimal, price: Decimal) -> None:
        self.executions[exec_id] = Execution(quantity, price)
        self.cum_qty = SUM_CONTEXT.add(self.cum_qty, quantity)
        self.notional = SUM_CONTEXT.add(self.notional, _notional(quantity, price))

    def _remove(self, exec_id: str) -> Execution:
        old = self.executions.pop(exec_id)
        self.cum_qty = SUM_CONTEXT.subtract(self.cum_qty, old.quantity)
        self.notional = SUM_CONTEXT.subtract(self.notional, _notional(old.quantity, old.price))
        return old

    def bust(self, exec_id: str) -> Execution:
        """Remove the live execution ``exec_id`` (already resolved) and return it."""
        old = self._remove(exec_id)
        self.busted.add(exec_id)
        return old

    def correct(self, exec_id: str, new_id: str, quantity: Decimal, price: Decimal) -> Execution:
        """Replace the live execution ``exec_id`` by ``new_id``; returns the old one."""
        old = self._remove(exec_id)
        if new_id != exec_id:
            self.aliases[exec_id] = new_id
        self.add(new_id, quantity, price)
        return old

    def rescale(self, ratio: Decimal) -> None:
        """Restate every execution for a split of ``ratio`` : 1 (quantity up, price down)."""
        rescaled = {
            exec_id: Execution(
                SUM_CONTEXT.multiply(e.quantity, ratio), AVG_PX_CONTEXT.divide(e.price, ratio)
            )
            for exec_id, e in self.executions.items()
        }
        self.executions, self.cum_qty, self.notional = {}, ZERO, ZERO
        for exec_id, execution in rescaled.items():
            self.add(exec_id, execution.quantity, execution.price)


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A cancel or replace the OMS sent and the venue has not answered yet.

    ``orig_cl_ord_id`` is the id the request chains on: the last id not rejected, which may be
    another request still in flight (two replaces back to back, D16). The status to go back to
    if the venue rejects it is not stored: it is derived again from the order, since fills may
    arrive meanwhile (a cancel rejected after the order filled leaves it ``filled``, D5).
    """

    kind: RequestKind
    cl_ord_id: str
    orig_cl_ord_id: str
    quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    acknowledged: bool = False
