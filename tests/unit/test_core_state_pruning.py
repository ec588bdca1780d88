"""What the core keeps per order is dropped with the order: once it has closed and its batch
has committed, no index holds an entry of it (the database answers for it from then on)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from oms.domain.order_inputs import (
    ExpireOrder,
    OrderAccepted,
    RejectOrder,
    RequestCancel,
    SubmitOrder,
)
from oms.domain.orders import Order
from oms.domain.values import OrdType, RejectSource, Side, TimeInForce
from oms.engine.order_indexes import OrderKeyed
from oms.engine.request_watch import WatchedRequest
from oms.engine.state import CoreState, VenueRequestRef

NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
ORIGIN = "fix:DESK"


def _order(n: int) -> Order:
    command = SubmitOrder(
        cl_ord_id=f"c{n}", account="CLIENT1", symbol="AAPL", side=Side.BUY,
        ord_type=OrdType.LIMIT, quantity=Decimal(10), price=Decimal("190.00"), stop_price=None,
        time_in_force=TimeInForce.GTC, expire_time=None, venue="SIM", origin=ORIGIN,
    )
    return Order.create(f"O{n}", command, "SIM")


def _working(state: CoreState, n: int) -> Order:
    """An order as the core holds it once sent: its ClOrdID, a cancel's, its venue requests,
    its live venue ClOrdID, when it was created, an OMS cancel's text, a watched request."""
    order = _order(n)
    state.adopt(order, 1)
    state.created[order.order_id] = NOW
    order.apply(OrderAccepted(), NOW)
    state.exposure.update(order)
    state.venue_requests[("SIM", f"V{n}")] = VenueRequestRef(order.order_id, f"c{n}", "new")
    state.live_venue_id[order.order_id] = f"V{n}"
    order.apply(RequestCancel(f"x{n}", "kill switch"), NOW)
    state.by_request[(ORIGIN, f"x{n}")] = order.order_id
    state.request_texts[(order.order_id, f"x{n}")] = "kill switch"
    state.venue_requests[("SIM", f"W{n}")] = VenueRequestRef(order.order_id, f"x{n}", "cancel")
    state.watch.watch(WatchedRequest("SIM", f"W{n}", order.order_id, f"x{n}", "cancel"))
    return order


def _close(state: CoreState, order: Order) -> None:
    assert order.apply(ExpireOrder("closed"), NOW).applied
    state.exposure.update(order)
    for request in state.watch.of_order(order.order_id):
        state.watch.settle(request.key)


def test_a_closed_order_leaves_no_entry_in_any_index() -> None:
    state = CoreState()
    empty = state.index_sizes()
    kept, closed = _working(state, 1), _working(state, 2)
    _close(state, closed)
    state.forget_closed([kept.order_id, closed.order_id])
    assert set(state.orders) == {"O1"}
    assert (ORIGIN, "c2") not in state.by_request and (ORIGIN, "x2") not in state.by_request
    assert ("SIM", "V2") not in state.venue_requests and ("SIM", "W2") not in state.venue_requests
    assert "O2" not in state.live_venue_id and "O2" not in state.created
    assert state.request_texts.get(("O2", "x2")) is None
    assert state.request_texts.get(("O1", "x1")) == "kill switch"
    _close(state, kept)
    state.forget_closed([kept.order_id])
    assert state.index_sizes() == empty


def test_an_order_the_next_batch_names_is_kept_until_that_batch_commits() -> None:
    state = CoreState()
    order = _working(state, 1)
    _close(state, order)
    state.forget_closed([order.order_id], keep={order.order_id})
    assert "O1" in state.orders  # the following batch wrote entries the database lacks yet
    state.forget_closed([])  # that batch committed
    assert "O1" not in state.orders and state.index_sizes() == CoreState().index_sizes()


def test_an_order_read_back_from_the_database_is_dropped_after_the_next_commit() -> None:
    state = CoreState()
    order = _order(1)
    order.apply(RejectOrder(RejectSource.VENUE, "closed"), NOW)
    state.read_back(order, 3, NOW, "V1")
    assert state.orders["O1"] is order and state.live_venue_id["O1"] == "V1"
    assert (ORIGIN, "c1") not in state.by_request  # the database says which order a ClOrdID names
    state.forget_closed([])
    assert state.index_sizes() == CoreState().index_sizes()


def test_a_read_back_order_that_reopened_stays() -> None:
    state = CoreState()
    order = _order(1)
    order.apply(OrderAccepted(), NOW)  # open again (as after a bust of its fill)
    state.read_back(order, 3, NOW, "V1")
    state.forget_closed([])
    assert "O1" in state.orders and state.read_back_ids == set()


def test_a_cl_ord_id_used_again_by_a_newer_order_survives_the_older_order() -> None:
    index: OrderKeyed[tuple[str, str], str] = OrderKeyed(lambda key, order_id: order_id)
    index[(ORIGIN, "same")] = "O1"
    index[(ORIGIN, "other")] = "O1"
    index[(ORIGIN, "same")] = "O2"  # a later trading day, a new order
    index.forget("O1")
    assert index.get((ORIGIN, "same")) == "O2" and (ORIGIN, "other") not in index
    index.forget("O2")
    assert len(index) == 0 and index.owners() == 0


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), max_size=60),
       st.sets(st.integers(0, 3)))
def test_forgetting_orders_leaves_exactly_the_entries_of_the_others(
    writes: list[tuple[int, int]], forgotten: set[int],
) -> None:
    """Any writes (a key may move from order to order), then any orders forgotten: what is
    left is what a plain dict would hold, less the entries of the forgotten orders."""
    index: OrderKeyed[int, str] = OrderKeyed(lambda key, order_id: order_id)
    plain: dict[int, str] = {}
    for key, order in writes:
        index[key] = plain[key] = f"O{order}"
    for order in forgotten:
        index.forget(f"O{order}")
    expected = {k: v for k, v in plain.items() if int(v[1:]) not in forgotten}
    assert {k: index[k] for k in expected} == expected
    assert len(index) == len(expected)
    assert index.owners() == len(set(expected.values()))
