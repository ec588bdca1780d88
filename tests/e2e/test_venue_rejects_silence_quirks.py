"""Venues that reject, stay silent or confirm oddly, on FIX 4.2 and FIX 4.4: no order is ever
left pending.

The venue is ``ScriptedVenue`` (simplefix over a socket, not quickfix), told per test how to
answer each NewOrderSingle, cancel, replace and status request. The gateway is the real one,
with ``request_timeout_s = 0.5``. Each test checks what the strategy receives (exec_type, text,
reject_source) and what the database says (order status, in_doubt, venue request states).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from oms.admin.queries.exceptions import in_doubt_orders, unmatched_reports
from oms.admin.queries.tables import ORDERS, UNMATCHED, VENUE_REQUESTS
from tests.support.events import cid, is_
from tests.support.isolation import TestVhost
from tests.support.scripted_desk import Desk, scripted_desk
from tests.support.scripted_venue import Answer, ScriptedVenue
from tests.support.stack import Strategy
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e

TIMEOUT = "0.5"


@pytest.fixture(scope="module", params=["4.2", "4.4"], ids=["fix42", "fix44"])
def desk(request: pytest.FixtureRequest, database_url: str, amqp_vhost: TestVhost,
         run_id: str, tmp_path_factory: pytest.TempPathFactory,
         db_engine: Engine) -> Iterator[Desk]:
    version: str = request.param
    with scripted_desk(version=version, database_url=database_url, amqp_url=amqp_vhost.url,
                       data_dir=tmp_path_factory.mktemp(f"scripted{version}"),
                       redis_prefix=f"oms_test_{run_id}_scripted{version}:", db=db_engine,
                       request_timeout_s=TIMEOUT) as desk:
        yield desk


@pytest.fixture
def venue(desk: Desk) -> ScriptedVenue:
    desk.venue.answer(D=Answer.ACK, F=Answer.ACK, G=Answer.ACK, H=Answer.ACK)
    return desk.venue


@pytest.fixture
def trader(desk: Desk) -> Iterator[Strategy]:
    with Strategy(desk.amqp_url) as strategy:
        yield strategy


# -- helpers -------------------------------------------------------------------------------


def order_row(db: Engine, order_id: str) -> Any:
    with db.connect() as conn:
        return conn.execute(select(ORDERS).where(ORDERS.c.order_id == order_id)).one()


def requests_of(db: Engine, order_id: str) -> list[tuple[str, str, str | None]]:
    """(kind, state, note) of the order's venue requests, oldest first."""
    with db.connect() as conn:
        rows = conn.execute(
            select(VENUE_REQUESTS.c.kind, VENUE_REQUESTS.c.state, VENUE_REQUESTS.c.note)
            .where(VENUE_REQUESTS.c.order_id == order_id)
            .order_by(VENUE_REQUESTS.c.created_at, VENUE_REQUESTS.c.venue_cl_ord_id)).all()
    return [(r.kind.value, r.state.value, r.note) for r in rows]


def unmatched_with(db: Engine, token: str) -> Any:
    """The unresolved unmatched row whose fields carry ``token`` (as Text, 58), if any."""
    with db.connect() as conn:
        return conn.execute(select(UNMATCHED).where(
            UNMATCHED.c.fields["58"].astext.contains(token),
            UNMATCHED.c.resolved_at.is_(None))).first()


def new_acknowledged(trader: Strategy, label: str) -> tuple[str, str]:
    order = cid(label)
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    return order, trader.wait_for(is_(order, "new"))["order_id"]


def cancel(trader: Strategy, order: str, label: str = "cxl") -> str:
    request = cid(label)
    trader.send("DEMO1", {"type": "cancel", "cl_ord_id": request, "orig_cl_ord_id": order,
                          "account": "DEMO1"})
    return request


def replace(trader: Strategy, order: str, quantity: str = "150", price: str = "9.60") -> str:
    request = cid("rpl")
    trader.send("DEMO1", {"type": "replace", "cl_ord_id": request, "orig_cl_ord_id": order,
                          "account": "DEMO1", "quantity": quantity, "price": price})
    return request


def venue_id(db: Engine, order_id: str, kind: str) -> str:
    """Our ClOrdID at the venue for the order's (newest) request of ``kind``."""
    with db.connect() as conn:
        return str(conn.execute(
            select(VENUE_REQUESTS.c.venue_cl_ord_id)
            .where(VENUE_REQUESTS.c.order_id == order_id, VENUE_REQUESTS.c.kind == kind)
            .order_by(VENUE_REQUESTS.c.created_at.desc())).scalars().first())


def exec_types(trader: Strategy, cl_ord_id: str) -> list[str]:
    """Every event the strategy got for ``cl_ord_id``: all of them, as an order sent after
    them is acknowledged first (events come in commit order)."""
    barrier = cid("barrier")
    trader.new_order("DEMO2", barrier, "ZVZZT", "sell", "1", "99.00")
    trader.wait_for(lambda e: e["cl_ord_id"] == barrier
                    and e["exec_type"] in ("new", "rejected"))
    return [e["exec_type"] for e in trader.events_of(cl_ord_id)]


def sample(desk: Desk, name: str, **labels: str) -> float:
    value = desk.gateway.metrics.registry.get_sample_value(name, labels)
    return float(value or 0.0)


# -- 35=3 and 35=j of a request ------------------------------------------------------------


def test_a_new_order_the_venue_refuses_with_a_session_reject_is_rejected_with_its_reason(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    venue.answer(D=Answer.SESSION_REJECT)
    before = sample(desk, "oms_venue_rejects_total", venue="SIM", kind="session_reject")
    order = cid("s3new")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    rejected = trader.wait_for(is_(order, "rejected"))
    assert (rejected["ord_status"], rejected["reject_source"]) == ("rejected", "venue")
    assert rejected["text"] == (
        "venue SIM refused the NewOrderSingle: Unsupported OrdType [session Reject 35=3,"
        " SessionRejectReason 5: value is incorrect (out of range) for this tag, RefTagID 40]")
    assert exec_types(trader, order) == ["pending_new", "rejected"]
    row = order_row(desk.db, rejected["order_id"])
    assert (row.status.value, row.in_doubt, row.leaves_qty) == ("rejected", False, 0)
    assert requests_of(desk.db, rejected["order_id"]) == [("new", "answered", None)]
    assert sample(desk, "oms_venue_rejects_total", venue="SIM",
                  kind="session_reject") == before + 1


@pytest.mark.parametrize("answer", [Answer.BUSINESS_REJECT, Answer.BUSINESS_REJECT_BY_SEQ],
                         ids=["by_clordid", "by_refseqnum"])
def test_a_new_order_the_venue_refuses_with_a_business_reject_is_rejected_with_its_reason(
    desk: Desk, venue: ScriptedVenue, trader: Strategy, answer: Answer
) -> None:
    venue.answer(D=answer)
    order = cid("sjnew")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    rejected = trader.wait_for(is_(order, "rejected"))
    assert rejected["reject_source"] == "venue"
    assert rejected["text"] == (
        "venue SIM refused the NewOrderSingle: Unknown security [BusinessMessageReject 35=j,"
        " BusinessRejectReason 2: unknown security]")
    assert order_row(desk.db, rejected["order_id"]).status.value == "rejected"
    assert requests_of(desk.db, rejected["order_id"]) == [("new", "answered", None)]


def test_a_cancel_the_venue_refuses_is_cancel_rejected_and_the_order_works_on(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    order, order_id = new_acknowledged(trader, "s3cxl")
    venue.answer(F=Answer.SESSION_REJECT)
    refused = cancel(trader, order)
    answer = trader.wait_for(is_(refused, "cancel_rejected"))
    assert (answer["orig_cl_ord_id"], answer["ord_status"], answer["reject_source"]) == (
        order, "new", "venue")
    assert answer["text"] == (
        "venue SIM refused the OrderCancelRequest: OrigClOrdID not accepted [session Reject"
        " 35=3, SessionRejectReason 5: value is incorrect (out of range) for this tag,"
        " RefTagID 41]")
    assert exec_types(trader, refused) == ["pending_cancel", "cancel_rejected"]
    assert order_row(desk.db, order_id).status.value == "new"
    assert requests_of(desk.db, order_id) == [("new", "answered", None),
                                              ("cancel", "answered", None)]
    venue.answer(F=Answer.ACK)
    again = cancel(trader, order, "cxl2")
    assert trader.wait_for(is_(again, "canceled"))["ord_status"] == "canceled"


def test_a_replace_the_venue_does_not_support_is_replace_rejected_and_keeps_its_terms(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    order, order_id = new_acknowledged(trader, "sjrpl")
    venue.answer(G=Answer.BUSINESS_REJECT)
    refused = replace(trader, order)
    answer = trader.wait_for(is_(refused, "replace_rejected"))
    assert (answer["ord_status"], answer["reject_source"]) == ("new", "venue")
    assert answer["text"] == (
        "venue SIM refused the OrderCancelReplaceRequest: OrderCancelReplaceRequest not"
        " supported [BusinessMessageReject 35=j, BusinessRejectReason 3: unsupported message"
        " type]")
    assert (Decimal(answer["quantity"]), Decimal(answer["price"])) == (100, Decimal("9.5"))
    assert exec_types(trader, refused) == ["pending_replace", "replace_rejected"]
    row = order_row(desk.db, order_id)
    assert (row.status.value, row.quantity, row.price) == ("new", 100, Decimal("9.5"))
    assert requests_of(desk.db, order_id)[-1] == ("replace", "answered", None)


# -- silence: status request, then in doubt ------------------------------------------------


def test_a_new_order_the_venue_never_answers_is_asked_about_then_raised_in_doubt(
    desk: Desk, venue: ScriptedVenue, trader: Strategy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="oms.engine.venue_silence")
    venue.answer(D=Answer.SILENCE, H=Answer.SILENCE)
    before = sample(desk, "oms_venue_request_timeouts_total", venue="SIM", stage="in_doubt")
    order = cid("mute")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    order_id = trader.wait_for(is_(order, "pending_new"))["order_id"]
    new_id = venue_id(desk.db, order_id, "new")
    asked = venue.wait_for(lambda m: m[35] == "H" and m[11] == new_id)
    assert (asked[54], asked[55]) == ("1", "ZVZZT")
    row = eventually(lambda: (r := order_row(desk.db, order_id)).in_doubt and r)
    assert row.status.value == "pending_new"
    ((kind, state, note),) = requests_of(desk.db, order_id)
    assert (kind, state) == ("new", "in_doubt")
    note = eventually(lambda: requests_of(desk.db, order_id)[0][2])
    assert note.startswith(f"no answer from venue SIM to the new request {new_id}, nor to"
                           " the OrderStatusRequest sent at ")
    assert note.endswith(f", each within {TIMEOUT}s")
    with desk.db.connect() as conn:
        page = {r.order_id: r for r in in_doubt_orders(conn)}
    assert page[order_id].in_doubt and page[order_id].notes == note
    assert page[order_id].requests == f"{new_id} (new, in_doubt)"
    assert sample(desk, "oms_venue_request_timeouts_total", venue="SIM",
                  stage="in_doubt") >= before + 1
    assert sample(desk, "oms_orders_in_doubt") >= 1
    assert f"order {order_id} in doubt: {note}" in caplog.text
    assert exec_types(trader, order) == ["pending_new"]  # nothing is guessed

    venue.report_new(new_id)  # the venue answers at last
    assert trader.wait_for(is_(order, "new"))["ord_status"] == "new"
    eventually(lambda: not order_row(desk.db, order_id).in_doubt)
    assert requests_of(desk.db, order_id)[0][:2] == ("new", "answered")


def test_a_new_order_answered_only_through_the_status_request_is_acknowledged(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    venue.answer(D=Answer.SILENCE)
    order = cid("quiet")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    acknowledged = trader.wait_for(is_(order, "new"))
    assert acknowledged["text"] == "acknowledged by an order status response"
    row = order_row(desk.db, acknowledged["order_id"])
    assert (row.status.value, row.in_doubt) == ("new", False)
    assert requests_of(desk.db, acknowledged["order_id"]) == [("new", "answered", None)]


def test_a_new_order_the_venue_never_got_is_rejected_after_the_status_request(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    venue.answer(D=Answer.LOSE)
    order = cid("lost")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    rejected = trader.wait_for(is_(order, "rejected"))
    assert (rejected["reject_source"], rejected["text"]) == ("venue", "unknown order")
    assert order_row(desk.db, rejected["order_id"]).status.value == "rejected"


def test_a_refused_status_request_puts_the_order_in_doubt_at_once(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    venue.answer(D=Answer.SILENCE, H=Answer.SESSION_REJECT)
    order = cid("norq")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    order_id = trader.wait_for(is_(order, "pending_new"))["order_id"]
    note = eventually(lambda: requests_of(desk.db, order_id)[0][2])
    assert requests_of(desk.db, order_id)[0][:2] == ("new", "in_doubt")
    assert note.endswith(
        "and it refused the OrderStatusRequest: venue SIM refused the OrderStatusRequest:"
        " Status requests need an OrderID [session Reject 35=3, SessionRejectReason 1:"
        " required tag missing, RefTagID 11]")
    assert order_row(desk.db, order_id).in_doubt


def test_a_cancel_the_venue_ignores_is_cancel_rejected_once_the_status_shows_it_working(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    order, order_id = new_acknowledged(trader, "icxl")
    venue.answer(F=Answer.SILENCE)
    ignored = cancel(trader, order)
    answer = trader.wait_for(is_(ignored, "cancel_rejected"))
    assert (answer["ord_status"], answer["reject_source"]) == ("new", "venue")
    assert answer["text"] == (
        f"no answer from the venue to the cancel request within {TIMEOUT}s; its order status"
        " response shows the order new: the cancel was not taken up")
    assert exec_types(trader, ignored) == ["pending_cancel", "cancel_rejected"]
    assert order_row(desk.db, order_id).status.value == "new"
    assert requests_of(desk.db, order_id)[-1] == ("cancel", "answered", None)


def test_a_cancel_done_in_silence_is_canceled_once_the_status_shows_it(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    order, order_id = new_acknowledged(trader, "scxl")
    venue.answer(F=Answer.SILENT_DONE)
    done = cancel(trader, order)
    canceled = trader.wait_for(is_(done, "canceled"))
    assert (canceled["orig_cl_ord_id"], canceled["ord_status"], canceled["text"]) == (
        order, "canceled", "canceled, as the venue's order status response shows")
    assert exec_types(trader, done) == ["pending_cancel", "canceled"]
    assert order_row(desk.db, order_id).status.value == "canceled"
    assert requests_of(desk.db, order_id)[-1] == ("cancel", "answered", None)


def test_a_replace_the_venue_ignores_is_replace_rejected_once_the_status_shows_it_unchanged(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    order, order_id = new_acknowledged(trader, "irpl")
    venue.answer(G=Answer.SILENCE)
    ignored = replace(trader, order)
    answer = trader.wait_for(is_(ignored, "replace_rejected"))
    assert answer["text"] == (
        f"no answer from the venue to the replace request within {TIMEOUT}s; its order"
        " status response shows the order new: the replace was not taken up")
    row = order_row(desk.db, order_id)
    assert (row.status.value, row.quantity) == ("new", 100)


def test_a_replace_done_in_silence_is_replaced_once_the_status_names_it(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    order, order_id = new_acknowledged(trader, "srpl")
    venue.answer(G=Answer.SILENT_DONE)
    done = replace(trader, order)
    replaced = trader.wait_for(is_(done, "replaced"))
    assert (replaced["orig_cl_ord_id"], Decimal(replaced["quantity"])) == (order, 150)
    assert replaced["text"] == "replaced, as the venue's order status response shows"
    row = order_row(desk.db, order_id)
    assert (row.status.value, row.quantity, row.price) == ("new", 150, Decimal("9.6"))


# -- confirmations without 41 --------------------------------------------------------------


@pytest.mark.parametrize("answer", [Answer.CONFIRM_NAMING_ORIGINAL, Answer.CONFIRM_WITHOUT_41],
                         ids=["11_original_no_41", "no_41"])
def test_a_cancel_confirmed_without_41_is_canceled_for_the_strategy(
    desk: Desk, venue: ScriptedVenue, trader: Strategy, answer: Answer
) -> None:
    order, order_id = new_acknowledged(trader, "q41c")
    venue.answer(F=answer)
    request = cancel(trader, order)
    canceled = trader.wait_for(is_(request, "canceled"))
    assert (canceled["orig_cl_ord_id"], canceled["ord_status"]) == (order, "canceled")
    assert exec_types(trader, request) == ["pending_cancel", "canceled"]  # no cancel_rejected
    assert "canceled" not in exec_types(trader, order)
    assert order_row(desk.db, order_id).status.value == "canceled"
    assert requests_of(desk.db, order_id) == [("new", "answered", None),
                                              ("cancel", "answered", None)]


@pytest.mark.parametrize("answer", [Answer.CONFIRM_NAMING_ORIGINAL, Answer.CONFIRM_WITHOUT_41],
                         ids=["11_original_no_41", "no_41"])
def test_a_replace_confirmed_without_41_is_replaced_and_the_order_trades_on(
    desk: Desk, venue: ScriptedVenue, trader: Strategy, answer: Answer
) -> None:
    order, order_id = new_acknowledged(trader, "q41r")
    venue.answer(G=answer)
    request = replace(trader, order)
    replaced = trader.wait_for(is_(request, "replaced"))
    assert (replaced["orig_cl_ord_id"], replaced["ord_status"]) == (order, "new")
    assert (Decimal(replaced["quantity"]), Decimal(replaced["price"])) == (150, Decimal("9.6"))
    assert exec_types(trader, request) == ["pending_replace", "replaced"]
    assert requests_of(desk.db, order_id)[-1] == ("replace", "answered", None)
    venue.answer(F=Answer.ACK)  # the order trades on under the replace's ClOrdID
    last = cancel(trader, request)
    assert trader.wait_for(is_(last, "canceled"))["orig_cl_ord_id"] == request
    replace_id, cancel_id = venue_id(desk.db, order_id, "replace"), venue_id(
        desk.db, order_id, "cancel")
    assert venue.wait_for(lambda m: m[35] == "F" and m[11] == cancel_id)[41] == replace_id


# -- what cannot be matched goes to the Exceptions page -----------------------------------


def test_a_session_reject_of_our_logon_is_shown_unmatched(
    desk: Desk, venue: ScriptedVenue
) -> None:
    token = f"odd-{uuid.uuid4().hex[:8]}"
    venue.send("3", [(45, "1"), (372, "A"), (373, "1"), (58, token)])
    row = eventually(lambda: unmatched_with(desk.db, token))
    assert row.reason == (f"session Reject 35=3, SessionRejectReason 1: required tag missing"
                          f" ({token}) of our Logon (35=A), MsgSeqNum 1: not an order request")
    assert (row.venue, row.venue_cl_ord_id, row.fields["45"]) == ("SIM", None, "1")
    with desk.db.connect() as conn:
        assert row.id in {r.id for r in unmatched_reports(conn, resolved=False)}


def test_a_business_reject_naming_an_unknown_clordid_is_shown_unmatched(
    desk: Desk, venue: ScriptedVenue
) -> None:
    token = f"who-{uuid.uuid4().hex[:8]}"
    venue.send("j", [(45, "999999"), (372, "D"), (379, token), (380, "1"), (58, token)])
    row = eventually(lambda: unmatched_with(desk.db, token))
    assert row.reason == (f"BusinessMessageReject 35=j, BusinessRejectReason 1: unknown ID"
                          f" ({token}) names ClOrdID {token!r}, which is no request of ours")
    assert row.venue_cl_ord_id == token


def test_a_venue_report_our_session_rejects_is_shown_as_a_possibly_lost_message(
    desk: Desk, venue: ScriptedVenue, trader: Strategy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("ERROR", logger="oms.engine.venue_reject_handling")
    before = sample(desk, "oms_venue_rejects_total", venue="SIM", kind="rejected_by_us")
    venue.answer(D=Answer.ACK_WITH_UNDEFINED_TAG)
    order = cid("badack")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    # the acknowledgement never reaches the order path; the status request settles the order
    acknowledged = trader.wait_for(is_(order, "new"))
    assert acknowledged["text"] == "acknowledged by an order status response"
    assert sample(desk, "oms_venue_rejects_total", venue="SIM",
                  kind="rejected_by_us") == before + 1
    with desk.db.connect() as conn:
        rows = [r for r in unmatched_reports(conn, resolved=False)
                if r.reason.startswith("our session rejected the venue's ExecutionReport")]
    reason = rows[-1].reason
    assert "[session Reject 35=3, SessionRejectReason 0: invalid tag number, RefTagID 9999]" \
        in reason
    assert reason.endswith("It never reached the order path: if it was an execution, that"
                           " fill is missing here. Ask the venue; the message is in the venue"
                           " session's FIX log")
    assert reason in caplog.text


def test_a_venue_report_with_group_fields_out_of_order_is_rejected_with_reason_15(
    desk: Desk, venue: ScriptedVenue, trader: Strategy
) -> None:
    venue.answer(D=Answer.ACK_WITH_GROUP_OUT_OF_ORDER)
    order = cid("badgroup")
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    # the acknowledgement never reaches the order path; the status request settles the order
    acknowledged = trader.wait_for(is_(order, "new"))
    assert acknowledged["text"] == "acknowledged by an order status response"
    reject = venue.wait_for(lambda m: m.get(35) == "3"
                            and m.get(58) == "Repeating group fields out of order")
    assert (reject[371], reject[372]) == ("337", "8")
    # FIX 4.2 has SessionRejectReasons 0 to 11 only: the reason is then in the text alone
    assert reject.get(373) == (None if desk.version == "4.2" else "15")
    with desk.db.connect() as conn:
        rows = [r for r in unmatched_reports(conn, resolved=False)
                if r.reason.startswith("our session rejected the venue's ExecutionReport")
                and "Repeating group fields out of order" in r.reason]
    assert rows, "our reject of the venue's report is not shown to operators"
