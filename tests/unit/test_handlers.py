"""The core's handlers on their own: a real ``Handlers`` with the real reference data of the
default settings file, and fakes of the ports (``tests/support/fake_ports.py``) instead of the
database, the venue sessions and the broker.

Each step is one batch: ``Desk.take`` starts it (``Handlers.begin``) and hands it its inputs,
leaving it uncommitted; ``Desk.commit`` does what the core does once the transaction commits
(the store keeps the rows, the after-commit effects run, deliveries are acknowledged, closed
orders leave memory). The tests read the batch's rows and what the venue and the broker saw.
"""

from __future__ import annotations

import itertools
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from oms.domain.order_inputs import VenueExecutionReport
from oms.domain.requests import CancelRequest, ClientRequest, NewOrderRequest, amqp_origin
from oms.domain.values import ExecType, OrdStatus, OrdType, RejectSource, Side, TimeInForce
from oms.engine.batch import Batch, PositionDelta
from oms.engine.handlers import Context, Handlers
from oms.engine.ids import IdAllocator
from oms.engine.inputs import OperatorCommandReceived, StrategyCommand, VenueMessage
from oms.engine.replays import Recorded
from oms.engine.risk_setup import account_limits, instruments
from oms.engine.state import CoreState
from oms.settings import SettingsFile
from tests.support.fake_ports import FakeEnvelope, FakeOrderStore, FakeVenue, ScriptedReports
from tests.support.stack import DEFAULT_CONFIG

SETTINGS = SettingsFile.model_validate(tomllib.loads(DEFAULT_CONFIG.read_text()))
OPENING = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
USER = "guest"  # may trade DEMO1 and DEMO2 (the default settings' AMQP user)


class Desk:
    """The handlers, their fakes, and a clock that moves one second per batch."""

    def __init__(self) -> None:
        self.venue = FakeVenue(logged_on={"SIM"})
        self.store = FakeOrderStore()
        self.reports = ScriptedReports()
        self.mirrored: list[int] = []
        """How many kill switches each mirroring after a commit showed."""
        self.now = OPENING
        self._venue_seq = itertools.count(1)
        reference = instruments(SETTINGS)
        defaults, per_account = account_limits(SETTINGS)
        ctx = Context(
            store=self.store, instruments=reference, file_default_limits=defaults,
            file_account_limits=per_account, user_accounts=SETTINGS.accounts_of_amqp_user,
            default_user=SETTINGS.engine.default_amqp_user,
            known_accounts=frozenset(a.name for a in SETTINGS.accounts),
            venue_begin_strings={"SIM": "FIX.4.4"}, venue=self.venue,
            reference_price=lambda symbol: self._reference(reference[symbol].reference_price),
            translate=self.reports.translate,
            order_ids=IdAllocator("O", self.store.reserve_order_ids),
            venue_ids=IdAllocator("V", self.store.reserve_venue_ids),
            mirror_kill_switches=lambda entries: self.mirrored.append(len(entries)),
        )
        self.handlers = Handlers(ctx, CoreState())

    def _reference(self, price: Decimal | None) -> tuple[Decimal, datetime] | None:
        return None if price is None else (price, self.now)

    # -- one batch ------------------------------------------------------------------------

    def take(self, *items: object) -> Batch:
        """A batch that took ``items``, not committed yet."""
        self.now += timedelta(seconds=1)
        batch = Batch(now=self.now)
        h = self.handlers
        h.begin(batch, items)
        for item in items:
            if isinstance(item, StrategyCommand):
                assert item.command is not None
                h.client_request(batch, item.command, item.envelope)
            elif isinstance(item, VenueMessage):
                h.venue_message(batch, item)
            elif isinstance(item, OperatorCommandReceived):
                h.operator_command(batch, item)
            else:
                raise TypeError(f"no handler for {item!r}")
        return batch

    def commit(self, batch: Batch) -> Batch:
        """What follows the batch's commit, in the core's order."""
        self.store.commit(batch)
        for effect in batch.after_commit:
            effect()
        for delivery in batch.deliveries:
            delivery.ack()
        self.handlers.state.forget_closed([*batch.new_orders, *batch.changed_orders])
        return batch

    def step(self, *items: object) -> Batch:
        return self.commit(self.take(*items))

    # -- inputs ---------------------------------------------------------------------------

    def new_order(self, cl_ord_id: str, account: str = "DEMO1", symbol: str = "AAPL",
                  quantity: str = "100", price: str = "190.00",
                  envelope: FakeEnvelope | None = None) -> StrategyCommand:
        """A strategy's limit buy, good till canceled."""
        return strategy(NewOrderRequest(
            origin=amqp_origin(account), user=USER, cl_ord_id=cl_ord_id, account=account,
            symbol=symbol, side=Side.BUY, ord_type=OrdType.LIMIT, quantity=Decimal(quantity),
            price=Decimal(price), time_in_force=TimeInForce.GTC), envelope)

    def cancel(self, cl_ord_id: str, orig_cl_ord_id: str,
               account: str = "DEMO1") -> StrategyCommand:
        return strategy(CancelRequest(
            origin=amqp_origin(account), user=USER, cl_ord_id=cl_ord_id,
            orig_cl_ord_id=orig_cl_ord_id, account=account))

    def venue_says(self, **report: Any) -> VenueMessage:
        """An ExecutionReport of SIM (the venue ClOrdID as ``cl_ord_id``)."""
        return self.reports.message("SIM", VenueExecutionReport(**report),
                                    next(self._venue_seq))

    def resting_order(self, cl_ord_id: str, account: str = "DEMO1") -> str:
        """A 100-lot buy the venue acknowledged; returns the venue ClOrdID it was sent under."""
        [request] = self.step(self.new_order(cl_ord_id, account)).venue_requests
        venue_id: str = request["venue_cl_ord_id"]
        self.step(self.venue_says(
            exec_type=ExecType.NEW, exec_id=f"ack-{venue_id}", ord_status=OrdStatus.NEW,
            cl_ord_id=venue_id, venue_order_id=f"X-{venue_id}", cum_qty=Decimal(0),
            leaves_qty=Decimal(100), avg_px=Decimal(0)))
        return venue_id


def strategy(request: ClientRequest, envelope: FakeEnvelope | None = None) -> StrategyCommand:
    return StrategyCommand(envelope or FakeEnvelope(), request)


def exec_types(batch: Batch) -> list[str]:
    return [row["exec_type"] for row in batch.events]


def said(batch: Batch) -> list[tuple[str, str | None, str | None]]:
    """(exec_type, reject_source, text) of each event of the batch."""
    return [(row["exec_type"], row["body"]["reject_source"], row["body"]["text"])
            for row in batch.events]


# -- new orders -----------------------------------------------------------------------------


def test_a_new_order_passing_risk_is_recorded_and_sent_to_the_venue_after_the_commit() -> None:
    desk = Desk()
    envelope = FakeEnvelope()
    batch = desk.take(desk.new_order("B1", envelope=envelope))

    [order] = batch.new_orders.values()
    assert (order["cl_ord_id"], order["account"], order["symbol"], order["status"]) == (
        "B1", "DEMO1", "AAPL", "pending_new")
    assert exec_types(batch) == ["pending_new"]
    assert [e["routing_key"] for e in batch.outbox] == ["DEMO1.AAPL.pending_new"]
    [request] = batch.client_requests
    assert (request["kind"], request["order_id"]) == ("new", order["order_id"])
    [venue_request] = batch.venue_requests
    assert (venue_request["kind"], venue_request["state"]) == ("new", "pending_send")
    assert desk.venue.sent == [] and envelope.settled == []  # nothing leaves uncommitted

    desk.commit(batch)
    [sent] = desk.venue.submitted
    assert (sent.venue_cl_ord_id, sent.account, sent.symbol, sent.side, sent.quantity,
            sent.price) == (venue_request["venue_cl_ord_id"], "DEMO1", "AAPL", Side.BUY,
                            Decimal(100), Decimal("190.00"))
    assert envelope.settled == ["ack"]
    # the next batch marks the request sent: the venue's session took it
    key = ("SIM", sent.venue_cl_ord_id)
    assert desk.take().venue_request_states == {key: "sent"}


def test_a_new_order_for_an_unknown_symbol_is_rejected_and_nothing_is_sent() -> None:
    desk = Desk()
    batch = desk.step(desk.new_order("B1", symbol="NOPE"))

    assert said(batch) == [("rejected", "validation", "unknown symbol 'NOPE'")]
    assert [o["status"] for o in batch.new_orders.values()] == ["rejected"]
    assert batch.venue_requests == [] and desk.venue.sent == []


def test_a_new_order_for_an_account_the_user_may_not_trade_is_rejected_unsent() -> None:
    desk = Desk()
    batch = desk.step(desk.new_order("B1", account="CLIENT1"))

    assert said(batch) == [("rejected", "entitlement",
                            "user 'guest' may not trade account 'CLIENT1'")]
    assert batch.new_orders == {}  # refused before any order exists
    assert [(r["cl_ord_id"], r["order_id"]) for r in batch.client_requests] == [("B1", None)]
    assert desk.venue.sent == []


def test_a_new_order_while_the_venue_is_down_is_rejected_as_not_connected() -> None:
    desk = Desk()
    desk.venue.logged_on.clear()
    batch = desk.step(desk.new_order("B1"))

    assert said(batch) == [("rejected", "venue", "venue SIM is not connected")]
    assert batch.venue_requests == [] and desk.venue.sent == []


def test_a_cl_ord_id_the_store_has_recorded_is_rejected_as_a_duplicate() -> None:
    desk = Desk()
    desk.store.recorded[("amqp:DEMO1", "B1")] = Recorded(OPENING.date(), "O-EARLIER")
    envelope = FakeEnvelope()
    batch = desk.step(desk.new_order("B1", envelope=envelope))

    assert said(batch) == [("rejected", "validation", "duplicate cl_ord_id 'B1': already used")]
    assert batch.new_orders == {} and batch.client_requests == []
    assert desk.venue.sent == [] and envelope.settled == ["ack"]


def test_a_redelivered_command_already_recorded_is_acknowledged_with_no_new_event() -> None:
    desk = Desk()
    desk.store.recorded[("amqp:DEMO1", "B1")] = Recorded(OPENING.date(), "O-EARLIER")
    envelope = FakeEnvelope(redelivered=True)
    batch = desk.step(desk.new_order("B1", envelope=envelope))

    assert batch.events == [] and batch.client_requests == [] and batch.new_orders == {}
    assert desk.venue.sent == [] and envelope.settled == ["ack"]


# -- venue reports --------------------------------------------------------------------------


def test_a_fill_from_the_venue_records_the_execution_the_position_and_a_fill_event() -> None:
    desk = Desk()
    venue_id = desk.resting_order("B1")
    batch = desk.step(desk.venue_says(
        exec_type=ExecType.PARTIAL_FILL, exec_id="F1", ord_status=OrdStatus.PARTIALLY_FILLED,
        cl_ord_id=venue_id, venue_order_id=f"X-{venue_id}", last_qty=Decimal(40),
        last_px=Decimal("189.90"), cum_qty=Decimal(40), leaves_qty=Decimal(60),
        avg_px=Decimal("189.90")))

    [execution] = batch.executions
    assert (execution["exec_id"], execution["account"], execution["symbol"],
            execution["exec_type"], execution["last_qty"], execution["last_px"]) == (
        "F1", "DEMO1", "AAPL", "partial_fill", Decimal(40), Decimal("189.90"))
    assert batch.positions == {("DEMO1", "AAPL"): PositionDelta(
        bought_qty=Decimal(40), bought_notional=Decimal("7596.00"))}
    [event] = batch.events
    assert (event["exec_type"], event["body"]["cl_ord_id"], event["body"]["last_qty"],
            event["body"]["leaves_qty"]) == ("partial_fill", "B1", "40", "60")
    assert [o["status"] for o in batch.changed_orders.values()] == ["partially_filled"]
    assert batch.watermarks == {"venue:SIM": 2}  # the ack was 1


def test_the_same_exec_id_reported_again_changes_nothing() -> None:
    desk = Desk()
    venue_id = desk.resting_order("B1")
    fill = {"exec_type": ExecType.PARTIAL_FILL, "exec_id": "F1",
            "ord_status": OrdStatus.PARTIALLY_FILLED, "cl_ord_id": venue_id,
            "last_qty": Decimal(40), "last_px": Decimal("189.90"), "cum_qty": Decimal(40),
            "leaves_qty": Decimal(60), "avg_px": Decimal("189.90")}
    desk.step(desk.venue_says(**fill))
    again = desk.step(desk.venue_says(**fill))

    assert again.events == [] and again.executions == [] and again.positions == {}
    assert again.changed_orders == {} and again.unmatched == []
    assert again.watermarks == {"venue:SIM": 3}  # read, so never asked for again


def test_a_report_for_a_cl_ord_id_never_sent_is_kept_as_unmatched() -> None:
    desk = Desk()
    batch = desk.step(desk.venue_says(
        exec_type=ExecType.NEW, exec_id="E9", ord_status=OrdStatus.NEW, cl_ord_id="V-NEVER"))

    [row] = batch.unmatched
    assert (row["venue"], row["venue_cl_ord_id"], row["exec_id"], row["reason"]) == (
        "SIM", "V-NEVER", "E9", "no order for this ClOrdID")
    assert batch.events == [] and batch.new_orders == batch.changed_orders == {}


# -- cancels --------------------------------------------------------------------------------


def test_a_cancel_of_a_resting_order_is_pending_cancel_and_sent_after_the_commit() -> None:
    desk = Desk()
    venue_id = desk.resting_order("B1")
    batch = desk.take(desk.cancel("C1", "B1"))

    assert said(batch) == [("pending_cancel", None, None)]
    assert batch.events[0]["body"]["cl_ord_id"] == "C1"
    assert [(r["kind"], r["request_cl_ord_id"]) for r in batch.venue_requests] == [
        ("cancel", "C1")]
    assert desk.venue.canceled == []

    desk.commit(batch)
    [sent] = desk.venue.canceled
    assert (sent.venue_cl_ord_id, sent.orig_venue_cl_ord_id, sent.venue_order_id) == (
        batch.venue_requests[0]["venue_cl_ord_id"], venue_id, f"X-{venue_id}")


def test_a_cancel_naming_an_unknown_order_is_cancel_rejected() -> None:
    desk = Desk()
    batch = desk.step(desk.cancel("C1", "NOPE"))

    assert said(batch) == [("cancel_rejected", "validation", "unknown orig_cl_ord_id 'NOPE'")]
    assert batch.changed_orders == {} and desk.venue.sent == []


def test_a_cancel_of_an_order_filled_and_gone_from_memory_is_answered_from_the_store() -> None:
    desk = Desk()
    venue_id = desk.resting_order("B1")
    filled = desk.step(desk.venue_says(
        exec_type=ExecType.FILL, exec_id="F1", ord_status=OrdStatus.FILLED, cl_ord_id=venue_id,
        last_qty=Decimal(100), last_px=Decimal(190), cum_qty=Decimal(100),
        leaves_qty=Decimal(0), avg_px=Decimal(190)))
    [order_id] = filled.changed_orders
    assert order_id not in desk.handlers.state.orders  # closed: only the store has it

    batch = desk.step(desk.cancel("C1", "B1"))
    [(exec_type, source, _)] = said(batch)
    assert (exec_type, source, batch.events[0]["order_id"]) == (
        "cancel_rejected", "validation", order_id)
    assert batch.events[0]["body"]["ord_status"] == "filled"
    assert desk.venue.canceled == []


# -- operators ------------------------------------------------------------------------------


def test_a_kill_switch_on_an_account_cancels_its_open_orders_and_stops_its_new_ones() -> None:
    desk = Desk()
    halted_venue_id = desk.resting_order("B1", account="DEMO1")
    desk.resting_order("B2", account="DEMO2")
    trip = OperatorCommandReceived(7, "kill_switch_trip", {"scope": "account", "key": "DEMO1"},
                                   "ops1", "runaway algo")
    batch = desk.step(trip)

    [switch] = batch.kill_switches
    assert (switch["scope"], switch["key"], switch["active"], switch["tripped_by"],
            switch["reason"]) == ("account", "DEMO1", True, "ops1", "runaway algo")
    assert [(e["account"], e["exec_type"]) for e in batch.events] == [
        ("DEMO1", "pending_cancel")]
    [(command_id, result)] = batch.operator_results
    assert command_id == 7 and result.endswith("; 1 open order(s) canceled")
    assert [c.orig_venue_cl_ord_id for c in desk.venue.canceled] == [halted_venue_id]
    assert desk.mirrored == [1]

    refused = desk.step(desk.new_order("B3", account="DEMO1"))
    [(exec_type, source, text)] = said(refused)
    assert (exec_type, source) == ("rejected", "risk")
    assert text is not None and "kill switch (account DEMO1) tripped by ops1" in text
    assert exec_types(desk.step(desk.new_order("B4", account="DEMO2"))) == ["pending_new"]


# -- the core's answers to failed inputs ----------------------------------------------------


def test_reject_request_writes_a_rejected_event_and_changes_no_order() -> None:
    desk = Desk()
    batch = desk.take()
    request = desk.new_order("B1").command
    assert request is not None
    desk.handlers.reject_request(batch, request, RejectSource.VALIDATION,
                                 "internal error: the input failed")

    assert said(batch) == [("rejected", "validation", "internal error: the input failed")]
    [event], [outbox] = batch.events, batch.outbox
    assert event["order_id"] is None and event["body"]["cl_ord_id"] == "B1"
    assert outbox["body"] == event["body"]
    assert batch.new_orders == {} and batch.client_requests == []


def test_unmatched_keeps_the_venue_message_with_the_reason() -> None:
    desk = Desk()
    batch = desk.take()
    message = desk.venue_says(exec_type=ExecType.NEW, exec_id="E1", cl_ord_id="V-1")
    desk.handlers.unmatched(batch, message, "internal error: the input failed")

    [row] = batch.unmatched
    assert (row["venue"], row["venue_cl_ord_id"], row["exec_id"], row["reason"]) == (
        "SIM", "V-1", "E1", "internal error: the input failed")
    assert row["fields"]["11"] == "V-1" and row["received_at"] == batch.now
    assert batch.events == []
