"""What a FIX client is sent, from the contract's event bodies and from an order's state: each
message is checked against quickfix's data dictionary of the session's version, so a report a
client's engine would reject fails here first."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import quickfix as fix

from fix_gateway.client_reports import (
    cancel_reject_reason,
    client_message,
    event_from_body,
    exec_id_of,
    status_report,
)
from fix_gateway.session_settings import data_dictionary
from fix_gateway.translate_codes import FixVersion
from fix_gateway.translate_fields import TranslationError
from fix_gateway.wire import build_message
from oms.domain.order_events import OrderEvent
from oms.domain.order_inputs import OrderAccepted, SubmitOrder
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus, OrdType, RejectSource, Side
from oms.engine.event_rows import event_body

NOW = datetime(2026, 3, 2, 14, 30, 5, 123456, tzinfo=UTC)
VERSIONS = (FixVersion.FIX44, FixVersion.FIX42)


def event(exec_type: ExecType, status: OrdStatus, **changes: Any) -> OrderEvent:
    base = OrderEvent(
        order_id="O7", seq=3, cl_ord_id="C-1", orig_cl_ord_id=None, account="CLIENT1",
        symbol="ZVZZT", side=Side.BUY, venue="SIM", exec_type=exec_type, ord_status=status,
        quantity=Decimal("100"), price=Decimal("10.00"), cum_qty=Decimal(0),
        leaves_qty=Decimal("100"), avg_px=Decimal(0), last_qty=None, last_px=None, text=None,
        reject_source=None, venue_order_id="V-9", venue_exec_id="X-1", transact_time=NOW,
    )
    return replace(base, **changes)


def body(e: OrderEvent) -> dict[str, Any]:
    return event_body(e, uuid.UUID("12345678-1234-5678-1234-567812345678"))


def validate(version: FixVersion, msg_type: str, fields: dict[int, str]) -> None:
    """Raises if quickfix's data dictionary would reject the message."""
    message = build_message(version.value, msg_type, fields)
    header = message.getHeader()
    for tag, value in ((49, "OMS"), (56, "CLIENT1"), (34, "2"), (52, "20260302-14:30:05.123")):
        header.setField(tag, value)
    dictionary = fix.DataDictionary(data_dictionary(version.value))
    dictionary.validate(fix.Message(message.toString(), dictionary))


FILL = event(ExecType.FILL, OrdStatus.FILLED, cum_qty=Decimal("100"), leaves_qty=Decimal(0),
             avg_px=Decimal("10.00"), last_qty=Decimal("100"), last_px=Decimal("10.00"))
EVENTS = {
    "acknowledged": event(ExecType.NEW, OrdStatus.NEW),
    "partially filled": event(ExecType.PARTIAL_FILL, OrdStatus.PARTIALLY_FILLED,
                              cum_qty=Decimal("40"), leaves_qty=Decimal("60"),
                              avg_px=Decimal("10.00"), last_qty=Decimal("40"),
                              last_px=Decimal("10.00")),
    "filled": FILL,
    "canceled": event(ExecType.CANCELED, OrdStatus.CANCELED, cl_ord_id="X-1",
                      orig_cl_ord_id="C-1", leaves_qty=Decimal(0)),
    "rejected by risk": event(ExecType.REJECTED, OrdStatus.REJECTED, leaves_qty=Decimal(0),
                              text="order quantity 10001 above the limit 10000",
                              reject_source=RejectSource.RISK),
    "replaced": event(ExecType.REPLACED, OrdStatus.NEW, cl_ord_id="R-1", orig_cl_ord_id="C-1",
                      quantity=Decimal("150")),
    "bust": replace(FILL, exec_type=ExecType.TRADE_CANCEL, ord_status=OrdStatus.NEW,
                    cum_qty=Decimal(0), leaves_qty=Decimal("100")),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_order_event_becomes_a_valid_execution_report(
    name: str, version: FixVersion
) -> None:
    msg_type, fields = client_message(body(EVENTS[name]), version)
    assert msg_type == "8"
    validate(version, msg_type, fields)
    assert (fields[37], fields[11], fields[1], fields[55]) == ("O7", EVENTS[name].cl_ord_id,
                                                             "CLIENT1", "ZVZZT")
    assert 35 not in fields and "" not in fields.values()


def test_a_fill_reports_exec_type_trade_in_44_and_fill_in_42() -> None:
    _, fix44 = client_message(body(FILL), FixVersion.FIX44)
    _, fix42 = client_message(body(FILL), FixVersion.FIX42)
    assert (fix44[150], fix44[39], fix44[32], fix44[31]) == ("F", "2", "100", "10.00")
    assert (fix42[150], fix42[20], fix42[39]) == ("2", "0", "2")


def test_a_fill_exec_id_names_the_venue_execution_so_a_bust_can_refer_to_it() -> None:
    _, fill = client_message(body(FILL), FixVersion.FIX44)
    _, bust = client_message(body(EVENTS["bust"]), FixVersion.FIX44)
    assert fill[17] == "SIM-X-1"
    assert bust[19] == fill[17] and bust[17] != fill[17] and bust[150] == "H"


def test_other_reports_use_the_event_id_as_exec_id() -> None:
    assert exec_id_of(body(EVENTS["acknowledged"])) == "12345678123456781234567812345678"


def test_a_risk_reject_carries_the_reason_in_text() -> None:
    _, fields = client_message(body(EVENTS["rejected by risk"]), FixVersion.FIX44)
    assert (fields[150], fields[39]) == ("8", "8") and "10001" in fields[58]


def orderless(exec_type: ExecType, text: str, source: RejectSource,
              side: Side | None = Side.BUY) -> dict[str, Any]:
    b = body(event(exec_type, OrdStatus.REJECTED, order_id=None, seq=None, cl_ord_id="X-2",
                   orig_cl_ord_id="C-9", leaves_qty=Decimal(0), text=text,
                   reject_source=source))
    b["side"] = None if side is None else side.value
    return b


@pytest.mark.parametrize("version", VERSIONS)
def test_a_cancel_for_an_unknown_order_is_an_order_cancel_reject_unknown_order(
    version: FixVersion,
) -> None:
    b = orderless(ExecType.CANCEL_REJECTED, "unknown orig_cl_ord_id 'C-9'",
                  RejectSource.VALIDATION)
    msg_type, fields = client_message(b, version)
    validate(version, msg_type, fields)
    assert (msg_type, fields[434], fields[102], fields[37], fields[41]) == (
        "9", "1", "1", "NONE", "C-9")


def test_a_replace_rejected_because_the_order_is_filled_is_too_late() -> None:
    b = body(replace(FILL, exec_type=ExecType.REPLACE_REJECTED, cl_ord_id="R-2",
                     orig_cl_ord_id="C-1", text="order is filled"))
    msg_type, fields = client_message(b, FixVersion.FIX44)
    assert (msg_type, fields[434], fields[102], fields[39]) == ("9", "2", "0", "2")


@pytest.mark.parametrize(("text", "fix44", "fix42"), [
    ("duplicate cl_ord_id 'X'", 6, 2),
    ("cancel rate above the limit", 99, 2),
])
def test_cancel_reject_reasons_stay_within_each_version(text: str, fix44: int,
                                                        fix42: int) -> None:
    b = orderless(ExecType.CANCEL_REJECTED, text, RejectSource.RISK)
    assert cancel_reject_reason(b, FixVersion.FIX44) == fix44
    assert cancel_reject_reason(b, FixVersion.FIX42) == fix42


def test_an_invalid_request_without_side_takes_the_side_the_client_sent() -> None:
    b = orderless(ExecType.REJECTED, "Symbol (55) is required", RejectSource.VALIDATION,
                  side=None)
    msg_type, fields = client_message(b, FixVersion.FIX44, side="2", symbol="ZVZZT")
    validate(FixVersion.FIX44, msg_type, fields)
    assert (fields[54], fields[37], fields[150]) == ("2", "NONE", "8")
    with pytest.raises(TranslationError):
        client_message(b, FixVersion.FIX44)


def test_the_body_round_trips_to_the_same_event() -> None:
    for e in EVENTS.values():
        assert event_from_body(body(e)) == e


def working_order() -> Order:
    order = Order.create("O8", SubmitOrder(
        cl_ord_id="C-8", account="CLIENT1", symbol="ZVZZT", side=Side.SELL,
        ord_type=OrdType.LIMIT, quantity=Decimal("30"), price=Decimal("10.90"),
        origin="fix:CLIENT1"), "SIM")
    order.apply(OrderAccepted(), NOW)
    return order


@pytest.mark.parametrize("version", VERSIONS)
def test_a_status_answer_for_a_live_order_reports_its_state(version: FixVersion) -> None:
    fields = status_report(working_order(), "C-8", version, exec_id="S1", now=NOW,
                           status_req_id="Q1")
    validate(version, "8", fields)
    assert (fields[37], fields[11], fields[39], fields[151], fields[54]) == (
        "O8", "C-8", "A", "30", "2")
    if version is FixVersion.FIX44:
        assert (fields[150], fields[790]) == ("I", "Q1") and 20 not in fields
    else:
        assert (fields[20], fields[150]) == ("3", "A") and 790 not in fields


@pytest.mark.parametrize("version", VERSIONS)
def test_a_status_answer_for_an_unknown_order_says_unknown_order(version: FixVersion) -> None:
    fields = status_report(None, "nope", version, exec_id="S2", now=NOW, side="1",
                           symbol="ZVZZT")
    validate(version, "8", fields)
    assert (fields[37], fields[39], fields[58]) == ("NONE", "8", "unknown order")
    assert fields[150] == ("I" if version is FixVersion.FIX44 else "8")
