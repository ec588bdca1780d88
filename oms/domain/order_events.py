"""What applying an input produces: contract events, position deltas, anomalies, or a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from oms.domain.values import ExecType, OrdStatus, RejectSource, Side


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One change of one order's state, with exactly the fields of the contract's event body.

    ``event_id`` is not here: the engine assigns it when it writes the outbox row. ``order_id``
    and ``seq`` are None only for an order-less rejection (see ``orderless_rejection``).
    """

    order_id: str | None
    seq: int | None
    cl_ord_id: str
    orig_cl_ord_id: str | None
    account: str
    symbol: str
    side: Side
    venue: str | None
    exec_type: ExecType
    ord_status: OrdStatus
    quantity: Decimal | None
    price: Decimal | None
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    last_qty: Decimal | None
    last_px: Decimal | None
    text: str | None
    reject_source: RejectSource | None
    venue_order_id: str | None
    venue_exec_id: str | None
    transact_time: datetime


@dataclass(frozen=True, slots=True)
class PositionDelta:
    """How one execution (or its bust or correction) moves the account's position.

    ``quantity`` is signed (+ bought, - sold); ``price`` is that quantity's price, so the
    notional change is ``quantity * price``. A correction yields two deltas: the old execution
    reversed, the corrected one applied.
    """

    account: str
    symbol: str
    quantity: Decimal
    price: Decimal
    exec_id: str
    reason: ExecType


class AnomalyKind(StrEnum):
    """Something operators must look at; the order itself is never silently 'fixed'."""

    OVERFILL = "overfill"
    UNEXPECTED_REPORT = "unexpected_report"
    UNKNOWN_EXECUTION = "unknown_execution"
    CUM_QTY_MISMATCH = "cum_qty_mismatch"
    FILL_ON_CLOSED_ORDER = "fill_on_closed_order"
    UNMATCHED_REPORT = "unmatched_report"


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: AnomalyKind
    text: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of ``Order.apply``.

    Exactly one of three things happened: the input was applied (``refused`` None and not
    ``duplicate``; ``events`` may still be empty when nothing visible changed, ``note`` says
    why); it was refused (``refused`` says why, the order is untouched); or it repeated an
    ExecID already applied (``duplicate``, the order is untouched).
    """

    events: tuple[OrderEvent, ...] = ()
    refused: str | None = None
    duplicate: bool = False
    note: str | None = None
    anomalies: tuple[Anomaly, ...] = ()
    position_deltas: tuple[PositionDelta, ...] = ()

    @property
    def applied(self) -> bool:
        return self.refused is None and not self.duplicate

    @classmethod
    def refuse(cls, reason: str, *anomalies: Anomaly) -> Outcome:
        return cls(refused=reason, anomalies=anomalies)


ORDERLESS_EXEC_TYPES = frozenset(
    {ExecType.REJECTED, ExecType.CANCEL_REJECTED, ExecType.REPLACE_REJECTED}
)


def orderless_rejection(
    *,
    exec_type: ExecType,
    cl_ord_id: str,
    account: str,
    symbol: str,
    side: Side,
    reject_source: RejectSource,
    text: str,
    transact_time: datetime,
    orig_cl_ord_id: str | None = None,
    venue: str | None = None,
    quantity: Decimal | None = None,
    price: Decimal | None = None,
) -> OrderEvent:
    """The one event for a command that creates no order and changes none.

    For a duplicate ``cl_ord_id``, an unknown ``orig_cl_ord_id`` or an entitlement failure:
    ``order_id`` and ``seq`` are None, the status is ``rejected`` with nothing filled.
    ``exec_type`` must be ``rejected``, ``cancel_rejected`` or ``replace_rejected``.
    """
    if exec_type not in ORDERLESS_EXEC_TYPES:
        raise ValueError(f"an order-less event is a rejection, not {exec_type}")
    zero = Decimal(0)
    return OrderEvent(
        order_id=None,
        seq=None,
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=orig_cl_ord_id,
        account=account,
        symbol=symbol,
        side=side,
        venue=venue,
        exec_type=exec_type,
        ord_status=OrdStatus.REJECTED,
        quantity=quantity,
        price=price,
        cum_qty=zero,
        leaves_qty=zero,
        avg_px=zero,
        last_qty=None,
        last_px=None,
        text=text,
        reject_source=reject_source,
        venue_order_id=None,
        venue_exec_id=None,
        transact_time=transact_time,
    )
