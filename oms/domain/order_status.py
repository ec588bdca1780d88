"""FIX 4.4 OrdStatus precedence (Volume 4, Order State Change Matrices).

An order is often in several states at once: partly filled while a cancel is pending, filled
while a replace is pending, cancelled with fills. FIX reports the one with the highest
precedence; so does the OMS. The FIX 4.4 table (11 highest):

    11 Pending Cancel   10 Pending Replace   9 Done for Day   8 Calculated   7 Filled
     6 Stopped           5 Suspended          4 Canceled, Expired             3 Partially Filled
     2 New, Rejected, Pending New             1 Accepted for Bidding

So a fill while a cancel is pending leaves ``pending_cancel`` (even a fill that completes the
order: it stays ``pending_cancel`` until the venue rejects the cancel, Appendix D B.1.c), and
``filled`` beats ``canceled`` (a replace down to the cum qty, D11).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from oms.domain.values import OrdStatus

PRECEDENCE: Final[Mapping[OrdStatus, int]] = MappingProxyType(
    {
        OrdStatus.PENDING_CANCEL: 11,
        OrdStatus.PENDING_REPLACE: 10,
        OrdStatus.DONE_FOR_DAY: 9,
        OrdStatus.FILLED: 7,
        OrdStatus.CANCELED: 4,
        OrdStatus.EXPIRED: 4,
        OrdStatus.PARTIALLY_FILLED: 3,
        OrdStatus.NEW: 2,
        OrdStatus.REJECTED: 2,
        OrdStatus.PENDING_NEW: 2,
    }
)

# Equal precedence, several statuses: the earlier in this tuple wins (an order the venue
# rejected is not also "new"; the two closed states never coexist).
_TIE_BREAK: Final = (
    OrdStatus.REJECTED,
    OrdStatus.CANCELED,
    OrdStatus.EXPIRED,
    OrdStatus.NEW,
    OrdStatus.PENDING_NEW,
)


def _rank(status: OrdStatus) -> tuple[int, int]:
    tie = _TIE_BREAK.index(status) if status in _TIE_BREAK else 0
    return (PRECEDENCE[status], -tie)


def highest_precedence(statuses: Iterable[OrdStatus]) -> OrdStatus:
    """The status FIX reports for an order that is in all of ``statuses`` at once."""
    return max(statuses, key=_rank)
