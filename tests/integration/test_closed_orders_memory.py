"""The core holds the open orders only, and answers about a closed order as the database does.

When an order closes, every entry the core kept for it (its client ClOrdIDs, its venue
requests, the venue ClOrdID the venue knows it by, when it was created) is dropped once its
batch has committed; a later message about the order finds it in the database. What the OMS
answers must not depend on where the order was found. So each scenario below is played three
times, on three orders alike:

- ``memory``: the message comes in the very batch that closed the order (still in memory);
- ``dropped``: it comes after the order was dropped from memory;
- ``restarted``: it comes after a restart (memory reloaded from the database).

The real core runs on the real database, with a venue port of the test's: what would go to
the venue is kept, and the test plays the venue's execution reports. The core's clock can hold
it between two batches, so that inputs put meanwhile are taken as one batch. What a FIX client
is told is read from ``client_outbox``, what happened to orders from ``order_events``.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from fix_gateway.client_reports import FixClientReports
from fix_gateway.translate_codes import FixVersion
from oms.domain.requests import CancelRequest, NewOrderRequest, ReplaceRequest
from oms.domain.values import OrdType, Side, TimeInForce
from oms.engine.client_sessions import ClientProfile, ClientSessions
from oms.engine.core import Core
from oms.engine.handlers import Context, Handlers
from oms.engine.inputs import (
    ClientFixRequest,
    ClientStatusRequest,
    OperatorCommandReceived,
    Stop,
    VenueMessage,
)
from oms.engine.state import CoreState
from oms.metrics import GatewayMetrics
from tests.integration.conftest import WAIT_S, wait_until
from tests.support.core_desk import LoggedOnClients, PlayedVenue, core_context

pytestmark = pytest.mark.integration

SESSION = "MEMDESK"
ORIGIN = f"fix:{SESSION}"
ACCOUNT = "CLIENT1"
MODES = ("memory", "dropped", "restarted")


# -- the desk: the real core, a venue played by the test, a clock that can hold the core ------


class HoldingClock:
    """The core's clock, read at the start of every batch. ``one_batch`` holds the core there
    (an idle core starts a timer batch twice a second) while the test puts its inputs; once
    let go, the core takes them all as its next batch."""

    def __init__(self) -> None:
        self._go = threading.Event()
        self._go.set()
        self._waiting = threading.Event()

    def __call__(self) -> datetime:
        if not self._go.is_set():
            self._waiting.set()
            self._go.wait(WAIT_S)
        return datetime.now(UTC)

    @contextmanager
    def one_batch(self) -> Iterator[None]:
        self._waiting.clear()
        self._go.clear()
        try:
            assert self._waiting.wait(WAIT_S), "the core did not start a batch"
            yield
        finally:
            self._go.set()


def _context(engine: Engine, venue: PlayedVenue) -> Context:
    return core_context(engine, venue, lambda: datetime.now(UTC),
                        request_timeout_s={"SIM": 3600.0})


@dataclass
class Desk:
    engine: Engine
    clock: HoldingClock = field(default_factory=HoldingClock)
    venue: PlayedVenue = field(default_factory=PlayedVenue)
    handlers: Handlers | None = None
    _core: Core | None = None
    _thread: threading.Thread | None = None
    _client_seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _venue_seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def start(self) -> None:
        ctx = _context(self.engine, self.venue)

        def handlers(state: CoreState) -> Handlers:
            self.handlers = Handlers(ctx, state)
            return self.handlers

        profiles = [ClientProfile(SESSION, FixVersion.FIX44, frozenset({ACCOUNT}))]
        self._core = Core(engine=self.engine, handlers_factory=handlers, capacity=1000,
                          batch_max=100, metrics=GatewayMetrics(), clock=self.clock,
                          clients=ClientSessions(profiles, LoggedOnClients(),
                                                 FixClientReports()))
        self._thread = threading.Thread(target=self._core.run, args=(threading.Event(),),
                                        daemon=True)
        self._thread.start()
        assert self._core.ready.wait(WAIT_S)

    def stop(self) -> None:
        assert self._core is not None and self._thread is not None
        self._core.put(Stop("test"))
        self._thread.join(WAIT_S)
        assert not self._thread.is_alive()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def state(self) -> CoreState:
        assert self.handlers is not None
        return self.handlers.state

    # -- a FIX client's requests ------------------------------------------------------------

    def _put(self, item: object) -> None:
        assert self._core is not None
        self._core.put(item)

    def new_order(self, cl_ord_id: str) -> None:
        self._put(ClientFixRequest(SESSION, NewOrderRequest(
            origin=ORIGIN, user=ORIGIN, cl_ord_id=cl_ord_id, account=ACCOUNT, symbol="AAPL",
            side=Side.BUY, ord_type=OrdType.LIMIT, quantity=Decimal(10),
            price=Decimal("190.00"), time_in_force=TimeInForce.GTC), next(self._client_seq)))

    def cancel(self, cl_ord_id: str, orig_cl_ord_id: str) -> None:
        self._put(ClientFixRequest(SESSION, CancelRequest(
            origin=ORIGIN, user=ORIGIN, cl_ord_id=cl_ord_id, orig_cl_ord_id=orig_cl_ord_id,
            account=ACCOUNT), next(self._client_seq)))

    def replace(self, cl_ord_id: str, orig_cl_ord_id: str, price: str) -> None:
        self._put(ClientFixRequest(SESSION, ReplaceRequest(
            origin=ORIGIN, user=ORIGIN, cl_ord_id=cl_ord_id, orig_cl_ord_id=orig_cl_ord_id,
            account=ACCOUNT, price=Decimal(price)), next(self._client_seq)))

    def status(self, cl_ord_id: str) -> None:
        self._put(ClientStatusRequest(SESSION, cl_ord_id, next(self._client_seq)))

    def operator_cancel(self, order_id: str, reason: str) -> None:
        self._put(OperatorCommandReceived(next(self._client_seq), "cancel_order",
                                          {"order_id": order_id}, "ops1", reason))

    # -- the venue's reports ----------------------------------------------------------------

    def report(self, venue_cl_ord_id: str, exec_type: str, ord_status: str, exec_id: str, *,
               cum: str = "0", last: str | None = None, price: str = "190",
               orig: str | None = None, ref_exec_id: str | None = None) -> str:
        """An ExecutionReport of the venue (FIX 4.4) for a 10-lot buy of AAPL; returns its
        MsgSeqNum, which the events and exceptions it causes carry."""
        seq = str(next(self._venue_seq) + 1_000_000)
        fields = {35: "8", 34: seq, 11: venue_cl_ord_id, 37: f"X-{venue_cl_ord_id}",
                  17: exec_id, 150: exec_type, 39: ord_status, 54: "1", 55: "AAPL", 38: "10",
                  44: price, 14: cum, 151: str(10 - int(cum)) if ord_status in "01" else "0",
                  6: price if cum != "0" else "0"}
        if last is not None:
            fields |= {32: last, 31: price}
        if orig is not None:
            fields[41] = orig
        if ref_exec_id is not None:
            fields[19] = ref_exec_id
        self._put(VenueMessage("SIM", "8", fields, int(seq), 0))
        return seq

    # -- what the database says -------------------------------------------------------------

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def venue_id(self, request_cl_ord_id: str) -> str:
        """The venue ClOrdID the request went to the venue under (waiting for its commit)."""
        sql = "SELECT venue_cl_ord_id FROM venue_requests WHERE request_cl_ord_id = :c"
        wait_until(lambda: bool(self._rows(sql, c=request_cl_ord_id)),
                   what=f"the venue request of {request_cl_ord_id}")
        return str(self._rows(sql, c=request_cl_ord_id)[0][0])

    def venue_request_of(self, order_id: str, kind: str) -> str:
        rows = self._rows("SELECT venue_cl_ord_id FROM venue_requests WHERE order_id = :o"
                          " AND kind = CAST(:k AS venue_request_kind)", o=order_id, k=kind)
        return str(rows[0][0])

    def events_of(self, order_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(r.exec_type, r.body) for r in self._rows(
            "SELECT exec_type::text, body FROM order_events WHERE order_id = :o ORDER BY seq",
            o=order_id)]

    def order_id(self, cl_ord_id: str) -> str:
        rows = self._rows("SELECT order_id FROM orders WHERE origin = :o AND cl_ord_id = :c",
                          o=ORIGIN, c=cl_ord_id)
        return str(rows[0][0])

    def wait_status(self, order_id: str, status: str) -> None:
        sql = "SELECT status::text FROM orders WHERE order_id = :o"
        wait_until(lambda: self._rows(sql, o=order_id) == [(status,)],
                   what=f"order {order_id} {status}")

    def wait_dropped(self, order_id: str, *cl_ord_ids: str) -> None:
        """Until nothing of the (closed) order is left in the core's memory."""
        def dropped() -> bool:
            state = self.state
            return (order_id not in state.orders and order_id not in state.live_venue_id
                    and order_id not in state.created
                    and all((ORIGIN, c) not in state.by_request for c in cl_ord_ids))
        wait_until(dropped, what=f"order {order_id} dropped from memory")

    def told(self, cl_ord_id: str, count: int,
             exec_type: str | None = None) -> list[dict[str, str]]:
        """The first ``count`` FIX messages owed to the client about ``cl_ord_id`` (11), of
        ExecType ``exec_type`` (150) if given, waiting for them."""
        sql = ("SELECT msg_type, fields FROM client_outbox WHERE session_id = :s"
               " AND fields->>'11' = :c AND (CAST(:e AS text) IS NULL OR fields->>'150' = :e)"
               " ORDER BY id")
        wait_until(lambda: len(self._rows(sql, s=SESSION, c=cl_ord_id, e=exec_type)) >= count,
                   what=f"{count} message(s) to the client about {cl_ord_id}")
        return [{"35": r.msg_type, **r.fields}
                for r in self._rows(sql, s=SESSION, c=cl_ord_id, e=exec_type)[:count]]

    def caused_by(self, seq: str) -> dict[str, list[Any]]:
        """What the venue report of MsgSeqNum ``seq`` made (once its batch committed): order
        events, executions, exceptions (unmatched reports)."""
        events = self._rows("SELECT exec_type::text, body FROM order_events"
                            " WHERE cause->>'seq' = :s ORDER BY seq", s=seq)
        unmatched = self._rows("SELECT reason FROM unmatched_reports WHERE fields->>'34' = :s",
                               s=seq)
        return {"events": [(e.exec_type, e.body) for e in events],
                "unmatched": [u.reason for u in unmatched]}

    def settled(self, seq: str) -> None:
        """Until the venue report of MsgSeqNum ``seq`` is committed (its watermark)."""
        sql = ("SELECT last_inbound_seq FROM fix_session_watermarks"
               " WHERE session_id = 'venue:SIM'")
        wait_until(lambda: any(r[0] >= int(seq) for r in self._rows(sql)),
                   what=f"venue report {seq} committed")


@pytest.fixture(scope="module")
def desk(db_engine: Engine) -> Iterator[Desk]:
    desk = Desk(db_engine)
    desk.start()
    yield desk
    desk.stop()


def alike(value: Any, names: dict[str, str]) -> Any:
    """``value`` with the identifiers of one play replaced by what they stand for, and the
    fields that differ by nature (times, event and execution ids) left out."""
    drop = {"60", "17", "event_id", "transact_time"}
    if isinstance(value, dict):
        return {k: alike(v, names) for k, v in value.items() if str(k) not in drop}
    if isinstance(value, list | tuple):
        return [alike(v, names) for v in value]
    if isinstance(value, str):
        for real in sorted(names, key=len, reverse=True):  # "V2B" must not spoil "V2BR"
            value = value.replace(real, names[real])
    return value


@dataclass
class Play:
    """One order of a scenario, played in ``mode``; ``names`` maps its identifiers (order id,
    venue ClOrdIDs, the ClOrdIDs of this play) to stand-ins shared by the three plays."""

    mode: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    names: dict[str, str] = field(default_factory=dict)

    def cl(self, label: str) -> str:
        value = f"{label}-{self.mode}-{self.token}"
        self.names[value] = f"<{label}>"
        return value

    def name(self, real: str, stand_in: str) -> str:
        self.names[real] = stand_in
        return real


def played_three_ways(desk: Desk, prepare: Callable[[Play], None],
                      close: Callable[[Play], None], probe: Callable[[Play], Any],
                      order_of: Callable[[Play], tuple[str, tuple[str, ...]]]) -> list[Any]:
    """What ``probe`` is answered about an order ``close`` just closed, in each mode: in the
    batch that closed it, after it was dropped from memory, after a restart."""
    answers = []
    for mode in MODES:
        play = Play(mode)
        prepare(play)
        if mode == "memory":
            with desk.clock.one_batch():
                close(play)
                answer = probe(play)
        else:
            close(play)
            order_id, cl_ord_ids = order_of(play)
            desk.wait_dropped(order_id, *cl_ord_ids)
            if mode == "restarted":
                desk.restart()
            answer = probe(play)
        answers.append(alike(answer() if callable(answer) else answer, play.names))
    return answers


def acknowledged_order(desk: Desk, play: Play, label: str = "order") -> tuple[str, str]:
    """A new order of the client, acknowledged by the venue: (order id, venue ClOrdID)."""
    cl_ord_id = play.cl(label)
    desk.new_order(cl_ord_id)
    venue_id = play.name(desk.venue_id(cl_ord_id), f"<venue {label}>")
    order_id = play.name(desk.order_id(cl_ord_id), "<order>")
    desk.report(venue_id, "0", "0", play.name(f"ack-{venue_id}", "<ack>"))
    desk.wait_status(order_id, "new")
    return order_id, venue_id


def fill(desk: Desk, play: Play, venue_id: str) -> str:
    exec_id = play.name(f"fill-{venue_id}", "<fill>")
    return desk.report(venue_id, "F", "2", exec_id, cum="10", last="10")


# -- scenarios ----------------------------------------------------------------------------


def test_a_cancel_of_a_filled_order_by_its_cl_ord_id_is_too_late_wherever_the_order_is(
    desk: Desk,
) -> None:
    orders: dict[str, tuple[str, str]] = {}

    def prepare(play: Play) -> None:
        orders[play.mode] = acknowledged_order(desk, play)

    def close(play: Play) -> None:
        fill(desk, play, orders[play.mode][1])

    def probe(play: Play) -> Callable[[], Any]:
        cancel = play.cl("cancel")
        desk.cancel(cancel, play.cl("order"))
        return lambda: desk.told(cancel, 1)

    answers = played_three_ways(desk, prepare, close, probe,
                                lambda play: (orders[play.mode][0], (play.cl("order"),)))
    assert answers[0] == answers[1] == answers[2], answers
    [reject] = answers[0]
    # OrderCancelReject, the order filled: too late to cancel (not "unknown order")
    assert (reject["35"], reject["39"], reject["434"], reject["41"]) == ("9", "2", "1", "<order>")
    assert reject["37"] == "<order>"


def test_a_status_request_for_a_filled_order_answers_the_same_wherever_the_order_is(
    desk: Desk,
) -> None:
    orders: dict[str, tuple[str, str]] = {}

    def prepare(play: Play) -> None:
        orders[play.mode] = acknowledged_order(desk, play)

    def close(play: Play) -> None:
        fill(desk, play, orders[play.mode][1])

    def probe(play: Play) -> Callable[[], Any]:
        desk.status(play.cl("order"))
        return lambda: desk.told(play.cl("order"), 1, exec_type="I")

    answers = played_three_ways(desk, prepare, close, probe,
                                lambda play: (orders[play.mode][0], (play.cl("order"),)))
    assert answers[0] == answers[1] == answers[2], answers
    [status] = answers[0]
    assert (status["150"], status["39"], status["14"], status["37"]) == ("I", "2", "10",
                                                                         "<order>")


def test_late_reports_for_a_canceled_order_are_handled_alike_wherever_the_order_is(
    desk: Desk,
) -> None:
    """After the venue confirmed a cancel: the same confirmation again (a duplicate) and a
    fill the venue reports later still (a fill after the order closed)."""
    orders: dict[str, tuple[str, str, str]] = {}

    def prepare(play: Play) -> None:
        order_id, venue_id = acknowledged_order(desk, play)
        cancel = play.cl("cancel")
        desk.cancel(cancel, play.cl("order"))
        cancel_venue_id = play.name(desk.venue_id(cancel), "<venue cancel>")
        desk.wait_status(order_id, "pending_cancel")
        orders[play.mode] = (order_id, venue_id, cancel_venue_id)

    def canceled(play: Play) -> str:
        _, venue_id, cancel_venue_id = orders[play.mode]
        return desk.report(cancel_venue_id, "4", "4", play.name(f"cxl-{venue_id}", "<cxl>"),
                           orig=venue_id)

    def probe(play: Play) -> Callable[[], Any]:
        _, venue_id, _ = orders[play.mode]
        again = canceled(play)
        late = desk.report(venue_id, "F", "2", play.name(f"late-{venue_id}", "<late fill>"),
                           cum="10", last="10")

        def answer() -> Any:
            desk.settled(late)
            return [desk.caused_by(again), desk.caused_by(late)]
        return answer

    answers = played_three_ways(
        desk, prepare, canceled, probe,
        lambda play: (orders[play.mode][0], (play.cl("order"), play.cl("cancel"))))
    assert answers[0] == answers[1] == answers[2], answers
    duplicate, late_fill = answers[0]
    assert duplicate == {"events": [], "unmatched": []}  # the same report again: dropped
    assert [e for e, _ in late_fill["events"]] == ["fill"]  # reported, never lost
    assert late_fill["events"][0][1]["order_id"] == "<order>"


def test_a_replace_chain_is_known_by_each_of_its_cl_ord_ids_wherever_the_order_is(
    desk: Desk,
) -> None:
    """new A, replaced by B (confirmed by the venue), then filled: a cancel naming A or B is
    too late, a status request for A answers the order, a repeat of the venue's replaced
    report is a duplicate."""
    orders: dict[str, tuple[str, str, str]] = {}

    def prepare(play: Play) -> None:
        order_id, venue_id = acknowledged_order(desk, play)
        desk.replace(play.cl("replace"), play.cl("order"), "189.50")
        replace_venue_id = play.name(desk.venue_id(play.cl("replace")), "<venue replace>")
        desk.wait_status(order_id, "pending_replace")
        replaced = desk.report(replace_venue_id, "5", "0", play.name(f"rpl-{venue_id}", "<rpl>"),
                               orig=venue_id, price="189.50")
        desk.settled(replaced)
        orders[play.mode] = (order_id, venue_id, replace_venue_id)

    def close(play: Play) -> None:
        _, _, replace_venue_id = orders[play.mode]
        desk.report(replace_venue_id, "F", "2", play.name(f"fill-{replace_venue_id}", "<fill>"),
                    cum="10", last="10", price="189.50")

    def probe(play: Play) -> Callable[[], Any]:
        _, venue_id, replace_venue_id = orders[play.mode]
        desk.cancel(play.cl("cancel-first"), play.cl("order"))
        desk.cancel(play.cl("cancel-last"), play.cl("replace"))
        desk.status(play.cl("order"))
        again = desk.report(replace_venue_id, "5", "0", play.name(f"rpl-{venue_id}", "<rpl>"),
                            orig=venue_id, price="189.50")

        def answer() -> Any:
            desk.settled(again)
            return [desk.told(play.cl("cancel-first"), 1), desk.told(play.cl("cancel-last"), 1),
                    desk.told(play.cl("order"), 1, exec_type="I"), desk.caused_by(again)]
        return answer

    answers = played_three_ways(
        desk, prepare, close, probe,
        lambda play: (orders[play.mode][0], (play.cl("order"), play.cl("replace"))))
    assert answers[0] == answers[1] == answers[2], answers
    [first], [last], [status], duplicate = answers[0]
    # both too late, each naming the order by its current ClOrdID
    assert (first["35"], first["39"], first["41"]) == ("9", "2", "<replace>")
    assert (last["35"], last["39"], last["41"]) == ("9", "2", "<replace>")
    assert (status["150"], status["39"], status["44"]) == ("I", "2", "189.50")
    assert duplicate == {"events": [], "unmatched": []}


def test_a_filled_order_reopened_by_a_bust_is_canceled_under_the_venue_id_of_its_replace(
    desk: Desk,
) -> None:
    """The venue knows a replaced order by the replace's ClOrdID: a cancel after the fill was
    busted (reopening the order) names that one as OrigClOrdID, however the order was found."""
    orders: dict[str, tuple[str, str, str]] = {}

    def prepare(play: Play) -> None:
        order_id, venue_id = acknowledged_order(desk, play)
        desk.replace(play.cl("replace"), play.cl("order"), "189.50")
        replace_venue_id = play.name(desk.venue_id(play.cl("replace")), "<venue replace>")
        desk.wait_status(order_id, "pending_replace")
        desk.settled(desk.report(replace_venue_id, "5", "0",
                                 play.name(f"rpl-{venue_id}", "<rpl>"), orig=venue_id,
                                 price="189.50"))
        orders[play.mode] = (order_id, venue_id, replace_venue_id)

    def close(play: Play) -> None:
        _, _, replace_venue_id = orders[play.mode]
        desk.report(replace_venue_id, "F", "2", play.name(f"fill-{replace_venue_id}", "<fill>"),
                    cum="10", last="10", price="189.50")

    def probe(play: Play) -> Callable[[], Any]:
        order_id, _, replace_venue_id = orders[play.mode]
        desk.report(replace_venue_id, "H", "0", play.name(f"bust-{replace_venue_id}", "<bust>"),
                    ref_exec_id=f"fill-{replace_venue_id}", price="189.50")
        desk.cancel(play.cl("cancel"), play.cl("replace"))

        def answer() -> Any:
            cancel_venue_id = play.name(desk.venue_id(play.cl("cancel")), "<venue cancel>")
            desk.wait_status(order_id, "pending_cancel")
            wait_until(lambda: any(sent.venue_cl_ord_id == cancel_venue_id
                                   for _, sent in list(desk.venue.sent)),
                       what="the cancel sent to the venue")
            [sent] = [sent for _, sent in list(desk.venue.sent)
                      if sent.venue_cl_ord_id == cancel_venue_id]
            asked = {field.name: getattr(sent, field.name) for field in dataclasses.fields(sent)
                     if field.name != "now"}
            return [sent.kind, asked, desk.told(play.cl("cancel"), 1)]
        return answer

    answers = played_three_ways(
        desk, prepare, close, probe,
        lambda play: (orders[play.mode][0], (play.cl("order"), play.cl("replace"))))
    assert answers[0] == answers[1] == answers[2], answers
    kind, asked, [pending] = answers[0]
    assert (kind, asked["orig_venue_cl_ord_id"], asked["venue_order_id"]) == (
        "cancel", "<venue replace>", "X-<venue replace>")
    assert (pending["150"], pending["41"]) == ("6", "<replace>")


@pytest.mark.parametrize("restarted", [False, True], ids=["in memory", "after a restart"])
def test_the_venue_confirming_an_operators_cancel_is_told_with_the_operators_reason(
    desk: Desk, restarted: bool,
) -> None:
    """The venue's answer has no text of its own: the reason the OMS asked is carried onto it,
    also when the gateway restarted while the cancel was at the venue."""
    play = Play("restarted" if restarted else "memory")
    order_id, venue_id = acknowledged_order(desk, play)
    desk.operator_cancel(order_id, "fat finger")
    desk.wait_status(order_id, "pending_cancel")
    cancel_venue_id = desk.venue_request_of(order_id, "cancel")
    if restarted:
        desk.restart()
    desk.settled(desk.report(cancel_venue_id, "4", "4", f"cxl-{venue_id}", orig=venue_id))
    [canceled] = [b for e, b in desk.events_of(order_id) if e == "canceled"]
    assert canceled["text"] == "canceled by operator ops1: fat finger"


# -- memory does not grow -----------------------------------------------------------------


def test_after_orders_have_closed_every_index_of_the_core_is_back_to_its_size(
    desk: Desk,
) -> None:
    """Orders of every kind of life (filled; canceled; replaced then filled; rejected by the
    venue; asked a too-late cancel and their status after the fill): once all are closed and
    committed, no index of the core holds more entries than before."""
    wait_until(lambda: desk.state.read_back_ids == set(), what="nothing read back held")
    before = desk.state.index_sizes()
    token = uuid.uuid4().hex[:8]
    closing: list[str] = []
    for n in range(40):
        order = f"grow-{n}-{token}"
        desk.new_order(order)
        venue_id = desk.venue_id(order)
        kind = n % 4
        if kind == 3:  # rejected by the venue
            closing.append(desk.report(venue_id, "8", "8", f"rej-{venue_id}"))
            continue
        desk.report(venue_id, "0", "0", f"ack-{venue_id}")
        if kind == 0:  # filled (reported twice), then a too-late cancel and a status request
            desk.report(venue_id, "F", "2", f"fill-{venue_id}", cum="10", last="10")
            closing.append(desk.report(venue_id, "F", "2", f"fill-{venue_id}", cum="10",
                                       last="10"))
            desk.cancel(f"late-{order}", order)
            desk.status(order)
        elif kind == 1:  # canceled
            desk.cancel(f"cxl-{order}", order)
            cancel_venue_id = desk.venue_id(f"cxl-{order}")
            closing.append(desk.report(cancel_venue_id, "4", "4", f"cxl-{venue_id}",
                                       orig=venue_id))
        else:  # replaced, then filled
            desk.replace(f"rpl-{order}", order, "189.50")
            replace_venue_id = desk.venue_id(f"rpl-{order}")
            desk.report(replace_venue_id, "5", "0", f"rpl-{venue_id}", orig=venue_id,
                        price="189.50")
            closing.append(desk.report(replace_venue_id, "F", "2", f"fill-{replace_venue_id}",
                                       cum="10", last="10", price="189.50"))
    for seq in closing:
        desk.settled(seq)
    sql = ("SELECT count(*) FROM orders WHERE cl_ord_id LIKE :t"
           " AND status::text NOT IN ('filled', 'canceled', 'rejected')")
    wait_until(lambda: desk._rows(sql, t=f"%-{token}")[0][0] == 0, what="every order closed")

    def back_to_size() -> bool:  # an order of an earlier test may close meanwhile: <=, not ==
        now = desk.state.index_sizes()
        return all(now[name] <= size for name, size in before.items())

    wait_until(back_to_size, what=f"indexes back to {before} (now {desk.state.index_sizes()})")
    watched = desk.state.watch.sizes()  # the deadline heap keeps stale entries, within bounds
    assert watched["deadlines"] <= 2 * watched["requests"] + 64
