"""What risk is asked to approve: a new order, or the order as a replace would leave it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oms.domain.values import OrdType, Side


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A new order as it would go to ``venue`` (the engine resolves routing first)."""

    account: str
    symbol: str
    venue: str
    side: Side
    ord_type: OrdType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ReplaceIntent:
    """A replace request: ``order`` is the order as it would stand after it (new total quantity,
    as in FIX, and new prices; unchanged fields copied from the original).

    ``filled_qty`` is the original's cumulative filled quantity and ``current_leaves`` its open
    quantity now, which the context's open leaves include: the replace changes them by
    ``order.quantity - filled_qty - current_leaves``.
    """

    order: OrderIntent
    filled_qty: Decimal
    current_leaves: Decimal

    @property
    def new_leaves(self) -> Decimal:
        return self.order.quantity - self.filled_qty
