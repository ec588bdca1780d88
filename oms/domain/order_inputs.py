"""Everything that can change an order: commands (imperative) and venue reports (named as facts).

Adapters turn what they receive into these frozen values; the engine hands them to
``Order.apply``. Reports from a venue arrive already mapped by the engine: ``cl_ord_id`` and
``orig_cl_ord_id`` are the OMS-side request ids, never the ClOrdIDs the OMS sent the venue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from oms.domain.values import ExecType, OrdStatus, OrdType, RejectSource, Side, TimeInForce


class RequestKind(StrEnum):
    """What a request in flight asks of the venue."""

    CANCEL = "cancel"
    REPLACE = "replace"


class RestatementReason(StrEnum):
    """Why a venue restated or cancelled an order unsolicited (FIX ExecRestatementReason, 378)."""

    GT_CORPORATE_ACTION = "gt_corporate_action"
    GT_RENEWAL = "gt_renewal"
    VERBAL_CHANGE = "verbal_change"
    REPRICING = "repricing"
    BROKER_OPTION = "broker_option"
    PARTIAL_DECLINE = "partial_decline"
    CANCEL_ON_TRADING_HALT = "cancel_on_trading_halt"
    CANCEL_ON_SYSTEM_FAILURE = "cancel_on_system_failure"
    MARKET_OPTION = "market_option"
    CANCELED_NOT_BEST = "canceled_not_best"
    WAREHOUSE_RECAP = "warehouse_recap"
    OTHER = "other"


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """A new order as a strategy or FIX client asked for it (creates the aggregate)."""

    cl_ord_id: str
    account: str
    symbol: str
    side: Side
    ord_type: OrdType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    expire_time: datetime | None = None
    venue: str | None = None
    origin: str = ""


def submit_order_problems(command: SubmitOrder) -> tuple[str, ...]:
    """Shape problems that make a new order invalid whatever the limits (empty when valid).

    Tick, lot and limit checks belong to risk; these are the ones no order may pass.
    """
    problems: list[str] = []
    if not command.cl_ord_id:
        problems.append("cl_ord_id is empty")
    if not _positive(command.quantity):
        problems.append(f"quantity must be a positive number, not {command.quantity}")
    if command.ord_type.needs_price:
        if command.price is None:
            problems.append(f"a {command.ord_type} order needs a price")
        elif not _positive(command.price):
            problems.append(f"price must be a positive number, not {command.price}")
    elif command.price is not None:
        problems.append(f"a {command.ord_type} order takes no price")
    if command.ord_type.needs_stop_price:
        if command.stop_price is None:
            problems.append(f"a {command.ord_type} order needs a stop_price")
        elif not _positive(command.stop_price):
            problems.append(f"stop_price must be a positive number, not {command.stop_price}")
    elif command.stop_price is not None:
        problems.append(f"a {command.ord_type} order takes no stop_price")
    if command.time_in_force is TimeInForce.GTD:
        if command.expire_time is None:
            problems.append("a gtd order needs an expire_time")
        elif command.expire_time.tzinfo is None:
            problems.append("expire_time must carry a time zone (UTC)")
    elif command.expire_time is not None:
        problems.append(f"a {command.time_in_force} order takes no expire_time")
    return tuple(problems)


def _positive(value: Decimal) -> bool:
    return value.is_finite() and value > 0


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    """The OMS accepted the order (validation and risk passed) and sends it to the venue."""


@dataclass(frozen=True, slots=True)
class RejectOrder:
    """The OMS refuses an order it created (validation or risk): it never reaches a venue."""

    source: RejectSource
    text: str


@dataclass(frozen=True, slots=True)
class RequestCancel:
    """Cancel what is left of the order; ``cl_ord_id`` names this request."""

    cl_ord_id: str
    text: str | None = None


@dataclass(frozen=True, slots=True)
class RequestReplace:
    """Change the order: new total quantity (including what is filled, as in FIX) and/or price."""

    cl_ord_id: str
    quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ExpireOrder:
    """The OMS's own timer: the venue closed without expiring a day order, or a GTD time passed."""

    text: str = "expired by the OMS"


@dataclass(frozen=True, slots=True)
class RestateOrder:
    """An operator restates the OMS's record of the order (e.g. a corporate action)."""

    operator: str
    text: str
    quantity: Decimal | None = None
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OperatorCloseOrder:
    """An operator resolves an order by hand (canceled, expired or rejected), e.g. one in doubt."""

    operator: str
    status: OrdStatus
    text: str


# --- reports --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VenueExecutionReport:
    """An ExecutionReport from a venue, in domain terms.

    ``exec_type`` None marks a report that changes nothing by itself: an answer to an order
    status request (FIX 4.4 ExecType I, FIX 4.2 ExecTransType 3) or a guarantee of execution
    (ExecType Stopped). Such reports are reconciled against the order, never deduplicated by
    ExecID (venues reuse ids such as "0" for them).

    For a trade, ``last_qty``/``last_px`` are the fill; for a correction (``trade_correct``)
    they are the corrected values of the execution ``ref_exec_id`` names; a bust
    (``trade_cancel``) names the execution it reverses in ``ref_exec_id``.
    ``ord_status`` is what the venue reported (None for statuses the domain has no name for);
    the order derives its own.
    """

    exec_type: ExecType | None
    exec_id: str
    ord_status: OrdStatus | None = None
    cl_ord_id: str | None = None
    orig_cl_ord_id: str | None = None
    venue_order_id: str | None = None
    ref_exec_id: str | None = None
    last_qty: Decimal | None = None
    last_px: Decimal | None = None
    cum_qty: Decimal | None = None
    leaves_qty: Decimal | None = None
    avg_px: Decimal | None = None
    order_qty: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    transact_time: datetime | None = None
    text: str | None = None
    restatement_reason: RestatementReason | None = None
    poss_dup: bool = False
    poss_resend: bool = False
    account: str | None = None
    symbol: str | None = None
    side: Side | None = None


@dataclass(frozen=True, slots=True)
class VenueCancelReject:
    """An OrderCancelReject: the venue refused the cancel or replace request ``cl_ord_id``."""

    cl_ord_id: str
    response_to: RequestKind
    orig_cl_ord_id: str | None = None
    ord_status: OrdStatus | None = None
    venue_order_id: str | None = None
    reason: str | None = None
    text: str | None = None
    transact_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class RequestNotTaken:
    """The venue did not take request ``cl_ord_id`` up.

    Either it refused the message that carried it (a session Reject, 35=3, or a
    BusinessMessageReject, 35=j, matched to the request by the engine), or it never answered
    it and its order status response shows the order as it was (``request_not_taken_by_status``).
    ``cl_ord_id`` names the order's own new request (the order is rejected by the venue) or a
    cancel/replace in flight (cancel_rejected / replace_rejected: the order goes back to what
    its facts say). ``text`` says what the venue did, in its own words where it gave any.
    """

    cl_ord_id: str
    text: str


OrderInput = (
    OrderAccepted
    | RejectOrder
    | RequestCancel
    | RequestReplace
    | ExpireOrder
    | RestateOrder
    | OperatorCloseOrder
    | VenueExecutionReport
    | VenueCancelReject
    | RequestNotTaken
)
"""Every input ``Order.apply`` takes (``SubmitOrder`` creates the order instead)."""
