"""Who is owed what (the core's client-session rules, with the ports faked): the session that
owns an order gets every report of it, a drop copy every execution report of its accounts, an
order-less reject goes to the session that asked; cancel on disconnect after the grace period;
the start-up rewind and the logon checks of the adapter."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from fix_gateway.client_application import (
    ClientSessionSpec,
    MessageRate,
    logon_problem,
    rewind_to,
)
from fix_gateway.client_reports import FixClientReports
from fix_gateway.client_translate import SessionProfile
from fix_gateway.translate_codes import FixVersion
from oms.domain.order_inputs import OrderAccepted, SubmitOrder
from oms.domain.orders import Order
from oms.domain.requests import CancelRequest
from oms.domain.values import ExecType, OrdType, RejectSource, Side
from oms.engine.batch import Batch
from oms.engine.client_sessions import ClientProfile, ClientSessions, OwedMessage
from oms.engine.event_rows import event_rows, orderless_body_rows
from oms.engine.inputs import ClientFixRequest, ClientSequenceReset, ClientSessionChanged

NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


class FakePort:
    def __init__(self) -> None:
        self.resumed: list[str] = []
        self.paused: list[str] = []
        self.delivered: list[OwedMessage] = []

    def is_logged_on(self, session: str) -> bool:
        return session in self.resumed

    def deliver(self, messages: Sequence[OwedMessage]) -> None:
        self.delivered += messages

    def replace_all(self, messages: Sequence[OwedMessage]) -> None:
        self.delivered = list(messages)

    def resume(self, session: str) -> None:
        self.resumed.append(session)

    def pause(self, session: str) -> None:
        self.paused.append(session)

    def take_sent(self) -> list[int]:
        return []

    def rewind(self, session: str, next_target_seq: int) -> None:
        return None


@dataclass
class FakeState:
    orders: dict[str, Order] = field(default_factory=dict)
    by_request: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class FakeVenue:
    up: bool = True

    def is_logged_on(self, venue: str) -> bool:
        return self.up


@dataclass
class FakeContext:
    venue: FakeVenue = field(default_factory=FakeVenue)


class FakeHandlers:
    def __init__(self) -> None:
        self.state = FakeState()
        self.ctx = FakeContext()
        self.cancels: list[tuple[str, str, str | None]] = []

    def cancel_order(self, batch: Batch, order: Order, cl_ord_id: str, cause: dict[str, Any],
                     text: str | None = None) -> None:
        self.cancels.append((order.order_id, cl_ord_id, text))


PROFILES = [
    ClientProfile("CLIENT1", FixVersion.FIX44, frozenset({"CLIENT1"})),
    ClientProfile("CLIENT42", FixVersion.FIX42, frozenset({"CLIENT2"})),
    ClientProfile("DROP", FixVersion.FIX42, frozenset({"CLIENT1", "DEMO2"}), drop_copy=True),
    ClientProfile("COD", FixVersion.FIX44, frozenset({"CLIENT3"}), cancel_on_disconnect=True,
                  grace=timedelta(seconds=5), cancel_on_logout=False),
]


def order(order_id: str, account: str, origin: str) -> Order:
    return Order.create(order_id, SubmitOrder(
        cl_ord_id=f"C-{order_id}", account=account, symbol="ZVZZT", side=Side.BUY,
        ord_type=OrdType.LIMIT, quantity=Decimal("10"), price=Decimal("10"), origin=origin),
        "SIM")


def accept(handlers: FakeHandlers, batch: Batch, o: Order) -> None:
    handlers.state.orders[o.order_id] = o
    for e in o.apply(OrderAccepted(), NOW).events:
        batch.outbox.append(event_rows(e, {}, NOW)[1])


def rows(batch: Batch) -> list[tuple[str, str, str | None]]:
    return [(r["session_id"], r["msg_type"], r["order_id"]) for r in batch.client_outbox]


@pytest.fixture
def handlers() -> FakeHandlers:
    return FakeHandlers()


@pytest.fixture
def sessions() -> ClientSessions:
    return ClientSessions(PROFILES, FakePort(), FixClientReports())


def test_the_owner_and_the_drop_copy_of_its_account_get_each_report(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    batch = Batch(now=NOW)
    accept(handlers, batch, order("O1", "CLIENT1", "fix:CLIENT1"))
    sessions.owed(handlers, batch, None, 0)  # type: ignore[arg-type]
    assert rows(batch) == [("CLIENT1", "8", "O1"), ("DROP", "8", "O1")]
    assert batch.client_outbox[0]["fields"]["150"] == "A"
    assert batch.client_outbox[1]["fields"]["20"] == "0"  # the drop copy speaks FIX 4.2


def test_a_strategy_order_goes_only_to_the_drop_copy_of_its_account(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    batch = Batch(now=NOW)
    accept(handlers, batch, order("O2", "DEMO2", "amqp:DEMO2"))
    accept(handlers, batch, order("O3", "DEMO1", "amqp:DEMO1"))
    sessions.owed(handlers, batch, None, 0)  # type: ignore[arg-type]
    assert rows(batch) == [("DROP", "8", "O2")]


def test_an_orderless_reject_goes_to_the_session_that_asked_and_is_not_copied(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    request = CancelRequest(origin="fix:CLIENT1", user="fix:CLIENT1", cl_ord_id="X-1",
                            orig_cl_ord_id="nope", account="CLIENT1")
    item = ClientFixRequest("CLIENT1", request, 5, side="1", symbol="ZVZZT")
    batch = Batch(now=NOW)
    _, outbox = orderless_body_rows(request, exec_type=ExecType.CANCEL_REJECTED,
                                    source=RejectSource.VALIDATION,
                                    text="unknown orig_cl_ord_id 'nope'", now=NOW)
    batch.outbox.append(outbox)
    sessions.owed(handlers, batch, item, 0)  # type: ignore[arg-type]
    assert rows(batch) == [("CLIENT1", "9", None)]
    assert batch.client_outbox[0]["fields"]["102"] == "1"


def test_rows_are_handed_to_the_sender_after_commit_with_their_ids(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    port = FakePort()
    sessions = ClientSessions(PROFILES, port, FixClientReports())
    batch = Batch(now=NOW)
    accept(handlers, batch, order("O4", "CLIENT1", "fix:CLIENT1"))
    sessions.owed(handlers, batch, None, 0)  # type: ignore[arg-type]
    sessions.end(handlers, batch)  # type: ignore[arg-type]
    for row_id, row in enumerate(batch.client_outbox, start=100):
        row["id"] = row_id  # what the insert returns
    for effect in batch.after_commit:
        effect()
    assert [(m.row_id, m.session, m.fields[150]) for m in port.delivered] == [
        (100, "CLIENT1", "A"), (101, "DROP", "A")]


def test_a_logon_resumes_sending_and_records_the_inbound_watermark(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    port = FakePort()
    sessions = ClientSessions(PROFILES, port, FixClientReports())
    batch = Batch(now=NOW)
    sessions.dispatch(handlers, batch,  # type: ignore[arg-type]
                      ClientSessionChanged("CLIENT1", True, next_target_seq=8))
    assert port.resumed == ["CLIENT1"] and batch.watermarks == {"client:CLIENT1": 7}


def test_a_sequence_reset_is_recorded_before_the_logon_proceeds(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    recorded = threading.Event()
    batch = Batch(now=NOW)
    sessions.dispatch(handlers, batch,  # type: ignore[arg-type]
                      ClientSequenceReset("CLIENT1", recorded))
    assert batch.watermarks == {"client:CLIENT1": 0} and not recorded.is_set()
    for effect in batch.after_commit:
        effect()
    assert recorded.is_set()


def cod_order(handlers: FakeHandlers, order_id: str) -> Order:
    o = order(order_id, "CLIENT3", "fix:COD")
    o.apply(OrderAccepted(), NOW)
    handlers.state.orders[order_id] = o
    return o


def test_a_drop_cancels_the_open_orders_once_the_grace_period_has_passed(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    cod_order(handlers, "O5")
    sessions.dispatch(handlers, Batch(now=NOW),  # type: ignore[arg-type]
                      ClientSessionChanged("COD", False, clean_logout=False))
    sessions.end(handlers, Batch(now=NOW + timedelta(seconds=4)))  # type: ignore[arg-type]
    assert handlers.cancels == []
    sessions.end(handlers, Batch(now=NOW + timedelta(seconds=5)))  # type: ignore[arg-type]
    assert [(o, text) for o, _, text in handlers.cancels] == [
        ("O5", "cancel on disconnect of session COD")]
    sessions.end(handlers, Batch(now=NOW + timedelta(seconds=6)))  # type: ignore[arg-type]
    assert len(handlers.cancels) == 1


def test_a_logon_within_the_grace_period_keeps_the_orders(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    cod_order(handlers, "O6")
    sessions.dispatch(handlers, Batch(now=NOW),  # type: ignore[arg-type]
                      ClientSessionChanged("COD", False))
    sessions.dispatch(handlers, Batch(now=NOW),  # type: ignore[arg-type]
                      ClientSessionChanged("COD", True, next_target_seq=2))
    sessions.end(handlers, Batch(now=NOW + timedelta(seconds=10)))  # type: ignore[arg-type]
    assert handlers.cancels == []


def test_a_clean_logout_keeps_the_orders_when_so_configured(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    cod_order(handlers, "O7")
    sessions.dispatch(handlers, Batch(now=NOW),  # type: ignore[arg-type]
                      ClientSessionChanged("COD", False, clean_logout=True))
    sessions.end(handlers, Batch(now=NOW + timedelta(seconds=10)))  # type: ignore[arg-type]
    assert handlers.cancels == []


def test_orders_on_a_venue_that_is_down_are_cancelled_when_it_is_back(
    sessions: ClientSessions, handlers: FakeHandlers
) -> None:
    cod_order(handlers, "O8")
    handlers.ctx.venue.up = False
    sessions.dispatch(handlers, Batch(now=NOW),  # type: ignore[arg-type]
                      ClientSessionChanged("COD", False))
    sessions.end(handlers, Batch(now=NOW + timedelta(seconds=6)))  # type: ignore[arg-type]
    assert handlers.cancels == []
    handlers.ctx.venue.up = True
    sessions.end(handlers, Batch(now=NOW + timedelta(seconds=7)))  # type: ignore[arg-type]
    assert [o for o, _, _ in handlers.cancels] == ["O8"]


@pytest.mark.parametrize(("committed_next", "expected", "wanted"), [
    (None, 10, None),      # never committed anything: nothing to rewind to
    (10, 10, None),        # everything quickfix took was committed
    (7, 10, 7),            # 7, 8, 9 taken but not committed: asked for again
    (12, 3, 1),            # the client reset its sequence after the last commit
])
def test_the_start_up_rewind(committed_next: int | None, expected: int,
                             wanted: int | None) -> None:
    assert rewind_to(committed_next, expected) == wanted


def spec(password_required: bool, password: str | None) -> ClientSessionSpec:
    return ClientSessionSpec(SessionProfile("S", ("A",)), password_required=password_required,
                             password=password)


@pytest.mark.parametrize(("required", "configured", "given", "problem"), [
    (False, None, None, None),
    (False, None, "anything", None),
    (True, "s3cret", "s3cret", None),
    (True, "s3cret", "S3cret", "invalid password"),
    (True, "s3cret", None, "a password (554) is required"),
    (True, None, "s3cret", "no logon password is configured for this session on the gateway"),
])
def test_the_logon_password_check(required: bool, configured: str | None, given: str | None,
                                  problem: str | None) -> None:
    assert logon_problem(spec(required, configured), given) == problem



def test_a_session_may_send_its_message_rate_in_any_one_second_window() -> None:
    rate = MessageRate(3)
    assert [rate.allow(t) for t in (10.0, 10.2, 10.4, 10.6)] == [True, True, True, False]
    assert rate.allow(11.0) is True  # the first message left the window
    assert rate.allow(11.1) is False


def test_a_cancel_past_the_session_message_rate_is_taken_and_counted() -> None:
    rate = MessageRate(2)
    assert [rate.allow(t) for t in (10.0, 10.1)] == [True, True]
    assert rate.allow(10.2, always=True) is True  # a cancel: never refused for the rate
    assert rate.allow(10.3) is False
    assert rate.allow(11.05) is False  # the cancel still counts in its window
    assert rate.allow(11.25) is True
