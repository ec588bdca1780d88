"""Translation properties: domain -> FIX -> domain round-trips; garbage -> TranslationError."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fix_gateway.translate import (
    FixVersion,
    TranslationError,
    cancel_reject_from_fix,
    cancel_reject_to_fix,
    execution_report_from_fix,
    execution_report_to_fix,
)
from oms.domain.order_events import OrderEvent
from oms.domain.order_inputs import RequestKind
from oms.domain.values import ExecType, OrdStatus, Side

VERSIONS = st.sampled_from(list(FixVersion))
IDS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)
OMS_IDS = IDS.filter(lambda s: s != "NONE")  # FIX's word for "no such id"
TEXT = st.none() | st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
)
QTY = st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False)
PX = st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False)
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
REPORT_TYPES: list[ExecType] = [
    t for t in ExecType if t not in (ExecType.CANCEL_REJECTED, ExecType.REPLACE_REJECTED)
]
TRADES = (ExecType.PARTIAL_FILL, ExecType.FILL, ExecType.TRADE_CORRECT)
REFERENCING = (ExecType.TRADE_CORRECT, ExecType.TRADE_CANCEL)


@st.composite
def events(draw: st.DrawFn, exec_types: list[ExecType] = REPORT_TYPES) -> OrderEvent:
    exec_type = draw(st.sampled_from(exec_types))
    quantity = draw(QTY.filter(lambda q: q > 0))
    if exec_type is ExecType.FILL:
        cum = quantity + draw(QTY)
    elif exec_type is ExecType.PARTIAL_FILL:
        cum = draw(QTY.filter(lambda c: c < quantity))
    else:
        cum = draw(QTY)
    trade = exec_type in TRADES
    return OrderEvent(
        order_id=draw(OMS_IDS),
        seq=draw(st.integers(min_value=1, max_value=10**6)),
        cl_ord_id=draw(IDS),
        orig_cl_ord_id=draw(st.none() | OMS_IDS),
        account=draw(IDS),
        symbol=draw(IDS),
        side=draw(st.sampled_from(list(Side))),
        venue="SIM",
        exec_type=exec_type,
        ord_status=draw(st.sampled_from(list(OrdStatus))),
        quantity=quantity,
        price=draw(st.none() | PX),
        cum_qty=cum,
        leaves_qty=draw(QTY),
        avg_px=draw(PX),
        last_qty=draw(QTY) if trade else draw(st.none() | QTY),
        last_px=draw(PX) if trade else draw(st.none() | PX),
        text=draw(TEXT),
        reject_source=None,
        venue_order_id=None,
        venue_exec_id=draw(IDS) if exec_type in REFERENCING else draw(st.none() | IDS),
        transact_time=draw(TIMES),
    )


@settings(max_examples=200, deadline=None)
@given(event=events(), version=VERSIONS, exec_id=IDS)
def test_execution_report_round_trips(event: OrderEvent, version: FixVersion, exec_id: str) -> None:
    fields = execution_report_to_fix(event, version, exec_id=exec_id)
    assert all(isinstance(v, str) and v and "\x01" not in v for v in fields.values())
    report = execution_report_from_fix(fields, version)
    assert (report.exec_type, report.ord_status, report.exec_id) == (
        event.exec_type,
        event.ord_status,
        exec_id,
    )
    assert (report.cl_ord_id, report.orig_cl_ord_id, report.venue_order_id) == (
        event.cl_ord_id,
        event.orig_cl_ord_id,
        event.order_id,
    )
    assert (report.account, report.symbol, report.side, report.text) == (
        event.account,
        event.symbol,
        event.side,
        event.text,
    )
    assert (report.order_qty, report.price, report.cum_qty, report.leaves_qty) == (
        event.quantity,
        event.price,
        event.cum_qty,
        event.leaves_qty,
    )
    assert (report.avg_px, report.last_qty, report.last_px) == (
        event.avg_px,
        event.last_qty,
        event.last_px,
    )
    assert report.transact_time == event.transact_time
    if event.exec_type in REFERENCING:
        assert report.ref_exec_id == event.venue_exec_id


@settings(max_examples=200, deadline=None)
@given(
    event=events([ExecType.CANCEL_REJECTED, ExecType.REPLACE_REJECTED]),
    version=VERSIONS,
    reason=st.none() | st.sampled_from([0, 1, 2, 3, 6, 99]),
)
def test_cancel_reject_round_trips(
    event: OrderEvent, version: FixVersion, reason: int | None
) -> None:
    reject = cancel_reject_from_fix(
        cancel_reject_to_fix(event, version, reason_code=reason), version
    )
    kind = (
        RequestKind.CANCEL if event.exec_type is ExecType.CANCEL_REJECTED else RequestKind.REPLACE
    )
    assert (reject.cl_ord_id, reject.orig_cl_ord_id, reject.response_to) == (
        event.cl_ord_id,
        event.orig_cl_ord_id,
        kind,
    )
    assert (reject.ord_status, reject.text, reject.transact_time) == (
        event.ord_status,
        event.text,
        event.transact_time,
    )
    assert (reject.reason is None) == (reason is None)


TAGS = [
    1,
    6,
    11,
    14,
    17,
    19,
    20,
    31,
    32,
    37,
    38,
    39,
    41,
    43,
    44,
    54,
    55,
    58,
    60,
    97,
    99,
    102,
    150,
    151,
    378,
    434,
]
PLAUSIBLE = st.sampled_from(
    [
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "A",
        "B",
        "C",
        "D",
        "E",
        "F",
        "G",
        "H",
        "I",
        "Y",
        "N",
        "NONE",
        "-1",
        "1.5",
        ".5",
        "5.",
        "1e5",
        "NaN",
        "-0",
        "20260105-14:30:01",
        "20260105-14:30:01.123",
        "20260230-25:61:61",
        "99",
        "",
        " ",
        "\u0661",  # an Arabic-Indic digit: Python would read it as 1
        "\x00",
    ]
)
VALUES = PLAUSIBLE | st.text(max_size=30) | QTY.map(str)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(st.sampled_from(TAGS) | st.integers(-5, 10**6), VALUES, max_size=30),
    version=VERSIONS,
)
def test_garbage_translates_or_raises_translation_error(
    fields: dict[int, str], version: FixVersion
) -> None:
    for translate in (execution_report_from_fix, cancel_reject_from_fix):
        try:
            translate(fields, version)
        except TranslationError as error:
            assert error.tag is None or isinstance(error.tag, int)


@settings(max_examples=300, deadline=None)
@given(
    event=events(),
    version=VERSIONS,
    changes=st.dictionaries(st.sampled_from(TAGS), st.none() | VALUES, min_size=1, max_size=4),
)
def test_a_valid_report_with_damaged_fields_translates_or_raises_translation_error(
    event: OrderEvent, version: FixVersion, changes: dict[int, str | None]
) -> None:
    fields = execution_report_to_fix(event, version, exec_id="X1")
    for tag, value in changes.items():
        if value is None:
            fields.pop(tag, None)
        else:
            fields[tag] = value
    try:
        report = execution_report_from_fix(fields, version)
    except TranslationError:
        return
    assert report.exec_id == fields[17]
    for quantity in (report.cum_qty, report.leaves_qty, report.order_qty, report.last_qty):
        assert quantity is None or (quantity.is_finite() and quantity >= Decimal(0))


@given(
    tag=st.sampled_from([6, 14, 31, 32, 38, 44, 151]),
    number=st.decimals(allow_nan=False, allow_infinity=False, places=4,
                       min_value=Decimal("-1e30"), max_value=Decimal("1e30")),
)
@settings(max_examples=300)
def test_a_fix_number_beyond_any_price_or_quantity_is_refused_at_translation(
    tag: int, number: Decimal
) -> None:
    """Within ``MAX_AMOUNT`` a number reads as it is written; beyond it, it is refused naming
    its tag: it never reaches the order path, where it would overflow a column at commit."""
    from fix_gateway.translate_fields import TranslationError, parse_decimal
    from oms.domain.values import MAX_AMOUNT

    text = format(number, "f")
    if abs(number) <= MAX_AMOUNT:
        assert parse_decimal(tag, text) == number
    else:
        with pytest.raises(TranslationError) as refused:
            parse_decimal(tag, text)
        assert refused.value.tag == tag and "out of range" in refused.value.reason
