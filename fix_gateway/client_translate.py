"""Pure translation of a FIX client's order messages into the OMS's client requests.

In: an application message of a client session as ``dict[int, str]`` (quickfix has already
checked it against the data dictionary: required tags, enum values, number formats). Out:

- NewOrderSingle (D) -> ``NewOrderRequest``; OrderCancelRequest (F) -> ``CancelRequest``;
  OrderCancelReplaceRequest (G) -> ``ReplaceRequest``; all with origin ``fix:<session>`` and the
  session as the user, so the core's entitlement check applies the session's accounts.
- A field the OMS cannot take (an order type or time in force it does not model, a negative
  quantity, a missing symbol) -> ``InvalidRequest`` with the reason: the client gets an
  ExecutionReport (or OrderCancelReject) with that text, as a strategy gets a rejected event.
- OrderStatusRequest (H) -> ``ClientStatusRequest``.

Only what cannot be answered as an order at all raises ``TranslationError`` (no ClOrdID, no
account on a session that trades several): the adapter answers it with a BusinessMessageReject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from fix_gateway.translate_codes import (
    ORD_TYPE,
    TIME_IN_FORCE,
    FixVersion,
    side_from_fix,
)
from fix_gateway.translate_fields import (
    FixFields,
    TranslationError,
    optional,
    optional_bool,
    optional_decimal,
    optional_int,
    optional_timestamp,
    required,
)
from oms.domain.requests import (
    CancelRequest,
    ClientRequest,
    InvalidRequest,
    NewOrderRequest,
    ReplaceRequest,
    fix_origin,
)
from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.inputs import ClientFixRequest, ClientStatusRequest

NEW_ORDER_SINGLE, ORDER_CANCEL_REQUEST = "D", "F"
ORDER_CANCEL_REPLACE_REQUEST, ORDER_STATUS_REQUEST = "G", "H"
ORDER_MESSAGES = frozenset(
    {NEW_ORDER_SINGLE, ORDER_CANCEL_REQUEST, ORDER_CANCEL_REPLACE_REQUEST, ORDER_STATUS_REQUEST}
)
_KIND = {NEW_ORDER_SINGLE: "new_order", ORDER_CANCEL_REQUEST: "cancel",
         ORDER_CANCEL_REPLACE_REQUEST: "replace"}


@dataclass(frozen=True, slots=True)
class SessionProfile:
    """What translation needs to know about the session a message came on."""

    name: str
    accounts: tuple[str, ...]
    version: FixVersion = FixVersion.FIX44

    @property
    def origin(self) -> str:
        return fix_origin(self.name)


class _InvalidFieldError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def client_input(
    fields: FixFields, session: SessionProfile
) -> ClientFixRequest | ClientStatusRequest:
    """The core's input for one order message of ``session`` (D, F, G or H).

    Raises ``TranslationError`` when the message cannot be answered as an order (see the
    module docstring) and ``ValueError`` for another message type."""
    msg_type = fields.get(35)
    seq_num = optional_int(fields, 34) or 0
    if msg_type == ORDER_STATUS_REQUEST:
        return ClientStatusRequest(
            session=session.name, cl_ord_id=required(fields, 11), seq_num=seq_num,
            order_id=optional(fields, 37), side=optional(fields, 54),
            symbol=optional(fields, 55), status_req_id=optional(fields, 790),
        )
    if msg_type not in _KIND:
        raise ValueError(f"{msg_type!r} is not an order message")
    redelivered = _flag(fields, 43) or _flag(fields, 97)
    return ClientFixRequest(
        session=session.name, command=client_request(fields, session), seq_num=seq_num,
        redelivered=redelivered, side=optional(fields, 54), symbol=optional(fields, 55),
    )


def client_request(fields: FixFields, session: SessionProfile) -> ClientRequest:
    """D, F or G as a client request; bad field values become an ``InvalidRequest``."""
    msg_type = fields.get(35, "")
    kind = _KIND.get(msg_type)
    if kind is None:
        raise ValueError(f"{msg_type!r} is not a new, cancel or replace request")
    cl_ord_id = required(fields, 11)
    account = _account(fields, session)
    try:
        if kind == "new_order":
            return _new_order(fields, session, cl_ord_id, account)
        if kind == "cancel":
            return CancelRequest(
                origin=session.origin, user=session.origin, cl_ord_id=cl_ord_id,
                orig_cl_ord_id=_field(fields, 41), account=account,
                symbol=optional(fields, 55),
            )
        return ReplaceRequest(
            origin=session.origin, user=session.origin, cl_ord_id=cl_ord_id,
            orig_cl_ord_id=_field(fields, 41), account=account,
            quantity=_quantity(fields, 38), price=_decimal(fields, 44),
        )
    except _InvalidFieldError as exc:
        return InvalidRequest(
            origin=session.origin, user=session.origin, kind=kind, cl_ord_id=cl_ord_id,
            account=account, symbol=optional(fields, 55), reason=exc.reason,
            orig_cl_ord_id=optional(fields, 41),
        )


def _new_order(
    fields: FixFields, session: SessionProfile, cl_ord_id: str, account: str
) -> NewOrderRequest:
    symbol = optional(fields, 55)
    if symbol is None:
        raise _InvalidFieldError("Symbol (55) is required")
    quantity = _quantity(fields, 38)
    if quantity is None:
        raise _InvalidFieldError("OrderQty (38) is required")
    return NewOrderRequest(
        origin=session.origin, user=session.origin, cl_ord_id=cl_ord_id, account=account,
        symbol=symbol, side=_side(fields), ord_type=_ord_type(fields), quantity=quantity,
        price=_decimal(fields, 44), stop_price=_decimal(fields, 99),
        time_in_force=_time_in_force(fields), expire_time=_expire_time(fields),
        venue=optional(fields, 100),
    )


def _account(fields: FixFields, session: SessionProfile) -> str:
    account = optional(fields, 1)
    if account is not None:
        return account
    if len(session.accounts) == 1:
        return session.accounts[0]
    raise TranslationError(1, f"Account is required: session {session.name} trades "
                              f"{len(session.accounts)} accounts")


def _field(fields: FixFields, tag: int) -> str:
    try:
        return required(fields, tag)
    except TranslationError as exc:
        raise _InvalidFieldError(str(exc)) from None


def _decimal(fields: FixFields, tag: int) -> Decimal | None:
    try:
        return optional_decimal(fields, tag)
    except TranslationError as exc:
        raise _InvalidFieldError(str(exc)) from None


def _quantity(fields: FixFields, tag: int) -> Decimal | None:
    value = _decimal(fields, tag)
    if value is not None and value <= 0:
        raise _InvalidFieldError(f"tag {tag}: a quantity must be positive, not {value}")
    return value


def _side(fields: FixFields) -> Side:
    try:
        return side_from_fix(required(fields, 54))
    except TranslationError as exc:
        raise _InvalidFieldError(f"{exc} (the OMS takes Side 1, 2, 5 and 6)") from None


def _ord_type(fields: FixFields) -> OrdType:
    code = optional(fields, 40) or ""
    ord_type = ORD_TYPE.get(code)
    if ord_type is None:
        raise _InvalidFieldError(
            f"tag 40: unsupported OrdType {code!r} (the OMS takes 1, 2, 3 and 4)"
        )
    return ord_type


def _time_in_force(fields: FixFields) -> TimeInForce:
    code = optional(fields, 59)
    if code is None:
        return TimeInForce.DAY
    tif = TIME_IN_FORCE.get(code)
    if tif is None:
        raise _InvalidFieldError(f"tag 59: unsupported TimeInForce {code!r} "
                       "(the OMS takes 0, 1, 3, 4 and 6)")
    return tif


def _expire_time(fields: FixFields) -> datetime | None:
    try:
        return optional_timestamp(fields, 126)
    except TranslationError as exc:
        raise _InvalidFieldError(str(exc)) from None


def _flag(fields: FixFields, tag: int) -> bool:
    try:
        return optional_bool(fields, tag)
    except TranslationError:
        return False
