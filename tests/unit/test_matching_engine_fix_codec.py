"""The simulator's FIX codec: each version's ExecType/ExecTransType, decimals, decoding."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

fix = pytest.importorskip("quickfix")

from fix_gateway.venue_sim.fix_codec import (  # noqa: E402
    decode_new_order,
    decode_replace,
    encode_cancel_reject,
    encode_execution_report,
)
from fix_gateway.venue_sim.model import (  # noqa: E402
    CancelReject,
    CxlRejReason,
    CxlRejResponseTo,
    ExecKind,
    ExecutionReport,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)

WHEN = datetime(2026, 11, 27, 14, 30, 1, 234567, tzinfo=UTC)


def report(kind: ExecKind, status: OrdStatus, **changes: object) -> ExecutionReport:
    fields: dict[str, object] = {
        "owner": "S",
        "kind": kind,
        "exec_id": "E1",
        "order_id": "O1",
        "cl_ord_id": "C1",
        "orig_cl_ord_id": None,
        "account": None,
        "symbol": "ZVZZT",
        "side": Side.BUY,
        "ord_type": OrdType.LIMIT,
        "tif": TimeInForce.DAY,
        "quantity": Decimal("100"),
        "price": Decimal("10.00"),
        "status": status,
        "cum_qty": Decimal("30"),
        "leaves_qty": Decimal("70"),
        "avg_px": Decimal("10.00"),
        "transact_time": WHEN,
    }
    fields.update(changes)
    return ExecutionReport(**fields)  # type: ignore[arg-type]


def tags(message: object) -> dict[int, str]:
    text: str = message.toString()  # type: ignore[attr-defined]
    return {int(k): v for k, _, v in (p.partition("=") for p in text.split("\x01") if p)}


def test_trade_in_fix44_is_exec_type_f() -> None:
    trade = report(ExecKind.TRADE, OrdStatus.PARTIALLY_FILLED, last_qty=Decimal(30),
                   last_px=Decimal("10.00"))  # fmt: skip
    t = tags(encode_execution_report(trade, fix42=False))
    assert (t[8], t[35], t[150], t[39], t[32], t[31]) == ("FIX.4.4", "8", "F", "1", "30", "10")
    assert 20 not in t
    assert t[60] == "20261127-14:30:01.234"


def test_trade_in_fix42_is_partial_or_fill_with_exec_trans_type_new() -> None:
    partial = report(ExecKind.TRADE, OrdStatus.PARTIALLY_FILLED, last_qty=Decimal(30))
    filled = report(ExecKind.TRADE, OrdStatus.FILLED, cum_qty=Decimal(100), leaves_qty=Decimal(0))
    p, f = tags(encode_execution_report(partial, True)), tags(encode_execution_report(filled, True))
    assert (p[8], p[20], p[150], p[39]) == ("FIX.4.2", "0", "1", "1")
    assert (f[20], f[150], f[39]) == ("0", "2", "2")


def test_status_answers_per_version() -> None:
    status = report(ExecKind.STATUS, OrdStatus.PARTIALLY_FILLED)
    t44, t42 = (
        tags(encode_execution_report(status, False)),
        tags(encode_execution_report(status, True)),
    )
    assert (t44[150], t44[39]) == ("I", "1")
    assert (t42[20], t42[150], t42[39]) == ("3", "1", "1")


def test_decimals_are_plain_and_avg_px_is_bounded() -> None:
    r = report(ExecKind.NEW, OrdStatus.NEW, quantity=Decimal("1E+3"), price=Decimal("10.50"),
               avg_px=Decimal(1) / Decimal(3))  # fmt: skip
    t = tags(encode_execution_report(r, False))
    assert (t[38], t[44], t[6]) == ("1000", "10.5", "0.33333333")


def test_reject_reasons_4_2_lacks_are_mapped() -> None:
    r = report(ExecKind.REJECTED, OrdStatus.REJECTED, rej_reason=OrdRejReason.OTHER, text="no")
    assert tags(encode_execution_report(r, False))[103] == "99"
    assert tags(encode_execution_report(r, True))[103] == "0"
    dup = CancelReject("S", "O1", "C2", "C1", OrdStatus.NEW, CxlRejResponseTo.REPLACE,
                       CxlRejReason.DUPLICATE_CL_ORD_ID, "duplicate ClOrdID", WHEN)  # fmt: skip
    t44, t42 = tags(encode_cancel_reject(dup, False)), tags(encode_cancel_reject(dup, True))
    assert (t44[35], t44[102], t44[434], t44[41], t44[39]) == ("9", "6", "2", "C1", "0")
    assert t42[102] == "2"


def message(fields: dict[int, str]) -> object:
    msg = fix.Message()
    for tag, value in fields.items():
        msg.setField(tag, value)
    return msg


def test_decode_new_order_maps_sides_and_defaults() -> None:
    cmd = decode_new_order(message({11: "C", 55: "X", 54: "5", 40: "2", 38: "10", 44: "1.5"}), "S")
    assert (cmd.side, cmd.tif, cmd.quantity, cmd.price, cmd.unsupported) == (
        Side.SELL, TimeInForce.DAY, Decimal(10), Decimal("1.5"), None,
    )  # fmt: skip


def test_decode_new_order_flags_what_is_not_offered() -> None:
    cmd = decode_new_order(message({11: "C", 55: "X", 54: "1", 40: "3", 59: "6", 38: "1"}), "S")
    assert cmd.unsupported == "unsupported OrdType 3; unsupported TimeInForce 6"
    no_qty = decode_replace(message({11: "C", 41: "B", 55: "X", 54: "1", 40: "2"}), "S")
    assert no_qty.unsupported == "OrderQty is required"
