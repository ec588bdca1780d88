"""The event body the core writes is built field by field for speed: it must stay exactly what
the generic contract formatter (``event_json``) makes of the same event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from oms.contract.event_format import event_json
from oms.domain.order_events import OrderEvent
from oms.domain.values import ExecType, OrdStatus, RejectSource, Side
from oms.engine.event_rows import event_body

finite = st.decimals(allow_nan=False, allow_infinity=False, places=6,
                     min_value=Decimal("-1e9"), max_value=Decimal("1e9"))
maybe_finite = st.none() | finite
text = st.none() | st.text(max_size=12)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-4)), timezone(timedelta(hours=9))]),
)

events = st.builds(
    OrderEvent,
    order_id=st.none() | st.text(min_size=1, max_size=12),
    seq=st.none() | st.integers(1, 10_000),
    cl_ord_id=st.text(min_size=1, max_size=12),
    orig_cl_ord_id=text,
    account=st.text(min_size=1, max_size=8),
    symbol=st.text(min_size=1, max_size=8),
    side=st.sampled_from(Side),
    venue=text,
    exec_type=st.sampled_from(ExecType),
    ord_status=st.sampled_from(OrdStatus),
    quantity=maybe_finite,
    price=maybe_finite,
    cum_qty=finite,
    leaves_qty=finite,
    avg_px=finite,
    last_qty=maybe_finite,
    last_px=maybe_finite,
    text=text,
    reject_source=st.none() | st.sampled_from(RejectSource),
    venue_order_id=text,
    venue_exec_id=text,
    transact_time=moments,
)


def generic_body(event: OrderEvent, event_id: uuid.UUID) -> dict[str, object]:
    return dict(event_json({
        "event_id": str(event_id), "order_id": event.order_id, "seq": event.seq,
        "cl_ord_id": event.cl_ord_id, "orig_cl_ord_id": event.orig_cl_ord_id,
        "account": event.account, "symbol": event.symbol, "side": event.side.value,
        "venue": event.venue, "exec_type": event.exec_type.value,
        "ord_status": event.ord_status.value, "quantity": event.quantity,
        "price": event.price, "cum_qty": event.cum_qty, "leaves_qty": event.leaves_qty,
        "avg_px": event.avg_px, "last_qty": event.last_qty, "last_px": event.last_px,
        "text": event.text,
        "reject_source": event.reject_source.value if event.reject_source else None,
        "venue_order_id": event.venue_order_id, "venue_exec_id": event.venue_exec_id,
        "transact_time": event.transact_time,
    }))


@given(events, st.uuids())
def test_the_event_body_is_what_the_contract_formatter_makes_of_the_event(
    event: OrderEvent, event_id: uuid.UUID,
) -> None:
    body = event_body(event, event_id)
    assert body == generic_body(event, event_id)
    assert list(body) == list(generic_body(event, event_id))  # same field order on the wire


def test_a_fill_body_has_plain_decimals_and_a_utc_time() -> None:
    event = OrderEvent(
        order_id="O1", seq=3, cl_ord_id="C1", orig_cl_ord_id=None, account="ACC", symbol="AAPL",
        side=Side.BUY, venue="SIM", exec_type=ExecType.FILL, ord_status=OrdStatus.FILLED,
        quantity=Decimal("1E+2"), price=Decimal("10.50"), cum_qty=Decimal("100"),
        leaves_qty=Decimal("-0"), avg_px=Decimal("10.5"), last_qty=Decimal("100"),
        last_px=Decimal("10.50"), text=None, reject_source=None, venue_order_id="V1",
        venue_exec_id="E1",
        transact_time=datetime(2024, 6, 1, 16, 0, tzinfo=timezone(timedelta(hours=-4))),
    )
    body = event_body(event, uuid.UUID(int=1))
    assert body["quantity"] == "100"
    assert body["price"] == "10.50"
    assert body["leaves_qty"] == "0"
    assert body["transact_time"] == "2024-06-01T20:00:00.000000Z"
