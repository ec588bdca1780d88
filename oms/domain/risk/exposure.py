"""Worst-case position and exposure: every open order assumed to fill.

For one symbol, the account could end up at ``position + open buy leaves`` (all buys fill) or
``position - open sell leaves`` (all sells fill); its worst-case quantity is the larger of the
two in absolute value. Gross exposure values that quantity at the reference price times the
contract multiplier, summed over symbols. The engine must compute the context's
``other_gross_exposure`` with this same function so that checks and engine agree.
"""

from __future__ import annotations

from decimal import Decimal


def worst_case_quantity(
    position: Decimal, open_buy_leaves: Decimal, open_sell_leaves: Decimal
) -> Decimal:
    long = position + open_buy_leaves
    short = position - open_sell_leaves
    return max(abs(long), abs(short))


def worst_case_exposure(
    position: Decimal,
    open_buy_leaves: Decimal,
    open_sell_leaves: Decimal,
    reference_price: Decimal,
    multiplier: Decimal,
) -> Decimal:
    """Gross exposure of one symbol in the worst case, valued at the reference price."""
    quantity = worst_case_quantity(position, open_buy_leaves, open_sell_leaves)
    return quantity * reference_price * multiplier
