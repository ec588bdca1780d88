"""FIX 4.2/4.4 <-> domain translation: codes both ways, ExecutionReports, OrderCancelRejects."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fix_gateway.translate import (
    FixVersion,
    TranslationError,
    cancel_reject_from_fix,
    cancel_reject_to_fix,
    execution_report_from_fix,
    execution_report_to_fix,
    outbound_fields,
)
from fix_gateway.translate_codes import (
    ord_status_from_fix,
    ord_status_to_fix,
    ord_type_from_fix,
    ord_type_to_fix,
    side_from_fix,
    side_to_fix,
    time_in_force_from_fix,
    time_in_force_to_fix,
)
from fix_gateway.translate_fields import format_timestamp, parse_timestamp
from oms.domain.order_events import OrderEvent, orderless_rejection
from oms.domain.order_inputs import RequestKind, RestatementReason
from oms.domain.values import ExecType, OrdStatus, OrdType, RejectSource, Side, TimeInForce

V42, V44 = FixVersion.FIX42, FixVersion.FIX44
D = Decimal
T = datetime(2026, 1, 5, 14, 30, 1, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("to_fix", "from_fix", "members"),
    [
        (side_to_fix, side_from_fix, list(Side)),
        (ord_type_to_fix, ord_type_from_fix, list(OrdType)),
        (time_in_force_to_fix, time_in_force_from_fix, list(TimeInForce)),
        (ord_status_to_fix, ord_status_from_fix, list(OrdStatus)),
    ],
    ids=["side", "ord_type", "time_in_force", "ord_status"],
)
def test_codes_round_trip_for_every_member(
    to_fix: object, from_fix: object, members: list[object]
) -> None:
    for member in members:
        assert from_fix(to_fix(member)) == member  # type: ignore[operator]


def test_known_codes() -> None:
    assert [side_to_fix(s) for s in Side] == ["1", "2", "5"]
    assert side_from_fix("6") is Side.SELL_SHORT  # sell short exempt
    assert [time_in_force_to_fix(t) for t in TimeInForce] == ["0", "1", "3", "4", "6"]
    assert ord_status_to_fix(OrdStatus.PENDING_REPLACE) == "E"
    assert ord_status_from_fix("7") is None  # stopped: FIX has it, the domain does not


@pytest.mark.parametrize(
    ("convert", "tag", "value"),
    [(side_from_fix, 54, "9"), (ord_type_from_fix, 40, "P"), (time_in_force_from_fix, 59, "2")],
)
def test_unknown_codes_name_their_tag(convert: object, tag: int, value: str) -> None:
    with pytest.raises(TranslationError) as error:
        convert(value)  # type: ignore[operator]
    assert error.value.tag == tag


def er(**extra: str) -> dict[int, str]:
    base = {
        37: "V1",
        17: "E1",
        11: "C1",
        55: "ZVZZT",
        54: "1",
        38: "10000",
        14: "0",
        151: "10000",
        6: "0",
        60: "20260105-14:30:01.123",
    }
    return {**base, **{int(k[1:]): v for k, v in extra.items()}}


def test_fix44_trade_is_a_partial_fill_or_a_fill_by_cum_qty() -> None:
    partial = execution_report_from_fix(
        er(t150="F", t39="1", t32="2000", t31="10.25", t14="2000", t151="8000"), V44
    )
    assert (partial.exec_type, partial.ord_status) == (
        ExecType.PARTIAL_FILL,
        OrdStatus.PARTIALLY_FILLED,
    )
    assert (partial.last_qty, partial.last_px, partial.transact_time) == (D(2000), D("10.25"), T)
    full = execution_report_from_fix(
        er(t150="F", t39="6", t32="8000", t31="10", t14="10000", t151="0"), V44
    )
    assert (full.exec_type, full.ord_status) == (ExecType.FILL, OrdStatus.PENDING_CANCEL)


def test_fix42_partial_and_fill_exec_types_with_exec_trans_type_new() -> None:
    partial = execution_report_from_fix(er(t150="1", t20="0", t39="1", t32="1", t31="1"), V42)
    fill = execution_report_from_fix(er(t150="2", t20="0", t39="2", t32="1", t31="1"), V42)
    assert (partial.exec_type, fill.exec_type) == (ExecType.PARTIAL_FILL, ExecType.FILL)


def test_busts_corrections_and_status_in_both_versions() -> None:
    bust42 = execution_report_from_fix(er(t150="1", t20="1", t39="1", t19="B7"), V42)
    bust44 = execution_report_from_fix(er(t150="H", t39="1", t19="B7"), V44)
    assert bust42.exec_type is bust44.exec_type is ExecType.TRADE_CANCEL
    assert bust42.ref_exec_id == bust44.ref_exec_id == "B7"
    fix42 = er(t150="2", t20="2", t39="2", t19="B7", t32="9000", t31="100")
    fix44 = er(t150="G", t39="2", t19="B7", t32="9000", t31="100")
    for fields, version in ((fix42, V42), (fix44, V44)):
        correct = execution_report_from_fix(fields, version)
        assert (correct.exec_type, correct.last_qty, correct.last_px) == (
            ExecType.TRADE_CORRECT,
            D(9000),
            D(100),
        )
    status42 = execution_report_from_fix(er(t150="0", t20="3", t39="0"), V42)
    status44 = execution_report_from_fix(er(t150="I", t39="0"), V44)
    assert status42.exec_type is status44.exec_type is None
    assert status42.ord_status is status44.ord_status is OrdStatus.NEW
    stopped = execution_report_from_fix(er(t150="7", t39="7"), V44)
    assert (stopped.exec_type, stopped.ord_status) == (None, None)


def test_flags_restatement_reason_and_none_order_id() -> None:
    report = execution_report_from_fix(
        er(t150="D", t39="0", t378="5", t43="Y", t97="N", t37="NONE"), V44
    )
    assert report.exec_type is ExecType.RESTATED
    assert report.restatement_reason is RestatementReason.PARTIAL_DECLINE
    assert (report.poss_dup, report.poss_resend, report.venue_order_id) == (True, False, None)
    other = execution_report_from_fix(er(t150="D", t39="0", t378="42"), V44)
    assert other.restatement_reason is RestatementReason.OTHER


@pytest.mark.parametrize(
    ("fields", "version", "tag"),
    [
        ({150: "F", 39: "1"}, V44, 17),
        (er(t39="0"), V44, 150),
        (er(t150="0"), V44, 39),
        (er(t150="0", t39="0"), V42, 20),
        (er(t150="F", t39="0"), V42, 150),  # a 4.4 code in a 4.2 message
        (er(t150="0", t20="7", t39="0"), V42, 20),
        (er(t150="F", t39="1", t31="10"), V44, 32),
        (er(t150="F", t39="1", t32="10"), V44, 31),
        (er(t150="H", t39="1"), V44, 19),
        (er(t150="F", t39="1", t32="1e3", t31="10"), V44, 32),
        (er(t150="F", t39="1", t32="-5", t31="10"), V44, 32),
        (er(t150="F", t39="1", t32="NaN", t31="10"), V44, 32),
        (er(t150="0", t39="0", t14="\u0661\u0662"), V44, 14),  # non-ASCII digits
        (er(t150="0", t39="0", t60="20261305-14:30:01"), V44, 60),
        (er(t150="0", t39="0", t60="yesterday"), V44, 60),
        (er(t150="0", t39="0", t43="maybe"), V44, 43),
        (er(t150="0", t39="0", t378="x"), V44, 378),
        (er(t150="0", t39="Z"), V44, 39),
        (er(t150="0", t39="0", t54="X"), V44, 54),
    ],
)
def test_missing_or_garbled_fields_raise_a_translation_error_naming_the_tag(
    fields: dict[int, str], version: FixVersion, tag: int
) -> None:
    with pytest.raises(TranslationError) as error:
        execution_report_from_fix(fields, version)
    assert error.value.tag == tag
    assert str(error.value).startswith(f"tag {tag}: ")


def test_timestamps_with_nanoseconds_and_without_fraction() -> None:
    assert parse_timestamp(60, "20260105-14:30:01.123456789") == T.replace(microsecond=123456)
    assert parse_timestamp(60, "20260105-14:30:01") == T.replace(microsecond=0)
    assert format_timestamp(T) == "20260105-14:30:01.123"


def event(**changes: object) -> OrderEvent:
    base = dict(
        order_id="O1",
        seq=3,
        cl_ord_id="Y",
        orig_cl_ord_id="X",
        account="CLIENT1",
        symbol="ZVZZT",
        side=Side.SELL,
        venue="SIM",
        exec_type=ExecType.PARTIAL_FILL,
        ord_status=OrdStatus.PARTIALLY_FILLED,
        quantity=D(10000),
        price=D("10.5"),
        cum_qty=D(2000),
        leaves_qty=D(8000),
        avg_px=D("10.25"),
        last_qty=D(2000),
        last_px=D("10.25"),
        text=None,
        reject_source=None,
        venue_order_id="V1",
        venue_exec_id="VE1",
        transact_time=T,
    )
    base.update(changes)
    return OrderEvent(**base)  # type: ignore[arg-type]


def test_outbound_fill_in_both_versions() -> None:
    fix44 = execution_report_to_fix(event(), V44, exec_id="X1")
    assert {k: fix44[k] for k in (35, 150, 39, 17, 37, 54, 32, 31, 14, 151, 6, 38, 44)} == {
        35: "8",
        150: "F",
        39: "1",
        17: "X1",
        37: "O1",
        54: "2",
        32: "2000",
        31: "10.25",
        14: "2000",
        151: "8000",
        6: "10.25",
        38: "10000",
        44: "10.5",
    }
    assert 20 not in fix44 and fix44[60] == "20260105-14:30:01.123"
    fix42 = execution_report_to_fix(event(), V42, exec_id="X1")
    assert (fix42[150], fix42[20]) == ("1", "0")
    filled = execution_report_to_fix(
        event(exec_type=ExecType.FILL, ord_status=OrdStatus.FILLED), V42, exec_id="X2"
    )
    assert (filled[150], filled[20], filled[39]) == ("2", "0", "2")


def test_outbound_bust_and_correction_name_the_execution() -> None:
    bust = event(exec_type=ExecType.TRADE_CANCEL, venue_exec_id="VE1")
    assert execution_report_to_fix(bust, V44, exec_id="X3", ref_exec_id="X1")[19] == "X1"
    fix42 = execution_report_to_fix(bust, V42, exec_id="X3")
    assert (fix42[150], fix42[20], fix42[19]) == ("1", "1", "VE1")
    correct = event(exec_type=ExecType.TRADE_CORRECT, ord_status=OrdStatus.FILLED)
    fix42 = execution_report_to_fix(correct, V42, exec_id="X4")
    assert (fix42[150], fix42[20]) == ("2", "2")
    assert execution_report_to_fix(correct, V44, exec_id="X4")[150] == "G"


def test_outbound_rejections_are_order_cancel_rejects() -> None:
    rejected = event(exec_type=ExecType.REPLACE_REJECTED, text="too late")
    fields = outbound_fields(rejected, V44, exec_id="X5")
    assert {k: fields[k] for k in (35, 11, 41, 39, 434, 58)} == {
        35: "9",
        11: "Y",
        41: "X",
        39: "1",
        434: "2",
        58: "too late",
    }
    with pytest.raises(TranslationError):
        execution_report_to_fix(rejected, V44, exec_id="X5")
    with pytest.raises(TranslationError):
        cancel_reject_to_fix(event(), V44)
    orderless = orderless_rejection(
        exec_type=ExecType.CANCEL_REJECTED,
        cl_ord_id="Y",
        account="CLIENT1",
        symbol="ZVZZT",
        side=Side.BUY,
        reject_source=RejectSource.VALIDATION,
        text="unknown order",
        transact_time=T,
    )
    fields = cancel_reject_to_fix(orderless, V42, reason_code=1)
    assert (fields[37], fields[41], fields[39], fields[434], fields[102]) == (
        "NONE",
        "NONE",
        "8",
        "1",
        "1",
    )


def test_inbound_cancel_reject() -> None:
    reject = cancel_reject_from_fix(
        {11: "R2", 41: "R1", 37: "V1", 39: "2", 434: "1", 102: "0", 58: "filled"}, V44
    )
    assert (reject.cl_ord_id, reject.orig_cl_ord_id, reject.response_to) == (
        "R2",
        "R1",
        RequestKind.CANCEL,
    )
    assert (reject.ord_status, reject.reason, reject.text) == (
        OrdStatus.FILLED,
        "too late to cancel",
        "filled",
    )
    with pytest.raises(TranslationError) as error:
        cancel_reject_from_fix({11: "R2", 434: "3"}, V42)
    assert error.value.tag == 434
