"""Venue confirmations that name the order instead of the request they answer.

FIX says a cancel or replace is confirmed under the request's own ClOrdID (11) with the
original in OrigClOrdID (41). Some venues echo the original ClOrdID in 11 and send no 41 (or
41 = 11). Such a confirmation (canceled, replaced, pending cancel, pending replace) is matched
here to the cancel or replace in flight by OrderID (37) and ClOrdID: 11 must name the order
itself (its new order or a replace of it, not another request), 41 must add nothing, and the
venue's OrderID must be the order's (when both are known). The oldest request in flight of the
confirmed kind is the one answered, as venues take requests in order.
"""

from __future__ import annotations

from oms.domain.order_inputs import RequestKind, VenueExecutionReport
from oms.domain.order_records import PendingRequest
from oms.domain.orders import Order
from oms.domain.values import ExecType

_CONFIRMS = {
    ExecType.CANCELED: RequestKind.CANCEL,
    ExecType.PENDING_CANCEL: RequestKind.CANCEL,
    ExecType.REPLACED: RequestKind.REPLACE,
    ExecType.PENDING_REPLACE: RequestKind.REPLACE,
}
_ORDER_REQUESTS = ("new", "replace")


def request_confirmed(
    order: Order, report: VenueExecutionReport, named_request: str, named_kind: str
) -> PendingRequest | None:
    """The cancel or replace in flight that ``report`` answers though it names the order.

    ``report`` still carries the venue's ids; ``named_request`` is the OMS request id its
    ClOrdID (11) maps to, of kind ``named_kind`` (new, cancel or replace). None when the
    report names its request as FIX says, or is no confirmation, or cannot be matched."""
    kind = _CONFIRMS.get(report.exec_type) if report.exec_type is not None else None
    if kind is None or named_kind not in _ORDER_REQUESTS:
        return None
    if any(r.cl_ord_id == named_request and r.kind is kind for r in order.pending):
        return None  # named as FIX says
    if report.orig_cl_ord_id not in (None, report.cl_ord_id):
        return None  # 41 names another id: not this quirk
    if report.venue_order_id and order.venue_order_id and (
        report.venue_order_id != order.venue_order_id
    ):
        return None
    in_flight = order.pending_of(kind)
    return in_flight[0] if in_flight else None
