"""Cancels always get through: no message-rate limit refuses a cancel, a venue's outbound rate
limit queues cancels ahead of new orders, and one venue held by its rate limit holds no other.

The real gateway with four venues of our own (``ScriptedVenue``, simplefix over a socket):
- SIM, the default venue, and KILL, at 3 messages/s, held at most 100 ms;
- SLOW, at 1 message/s, held up to 10 s (a long hold);
- FAST, at 2000 messages/s.
Account DEMO2 may send 5 messages/s. What the strategy receives is read from RabbitMQ, and what
each venue received, in order, from the venue's own list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from oms.store.operator_channel import issue_command
from tests.support.events import cid, is_
from tests.support.isolation import TestVhost
from tests.support.scripted_venue import ScriptedVenue
from tests.support.stack import Strategy, free_port, test_settings

pytestmark = pytest.mark.e2e

SIM_RATE = "outbound rate limit of venue SIM reached (3 msg/s, held at most 100 ms)"


@dataclass
class Desk:
    gateway: Any
    venues: dict[str, ScriptedVenue]
    amqp_url: str


def _four_venues(raw: dict[str, Any]) -> None:
    sim = raw["venues"][0]
    sim["max_messages_per_s"], sim["rate_limit_hold_ms"] = 3, 100
    for name, rate, hold_ms in (("KILL", 3, 100), ("SLOW", 1, 10_000), ("FAST", 2000, 100)):
        raw["venues"].append({
            **{k: v for k, v in sim.items() if k in ("fix_version", "host", "hours")},
            "name": name, "port": free_port(), "sender_comp_id": "OMS", "target_comp_id": name,
            "max_messages_per_s": rate, "rate_limit_hold_ms": hold_ms,
        })
        raw["instruments"].append({"symbol": f"{name}X", "venue": name, "currency": "USD",
                                   "tick_size": "0.01", "lot_size": "1", "multiplier": "1",
                                   "reference_price": "10.00"})
    for account in raw["accounts"]:
        if account["name"] == "DEMO2":
            account["limits"] = {"max_messages_per_s": 5}


@pytest.fixture(scope="module")
def desk(database_url: str, amqp_vhost: TestVhost, run_id: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    from oms.gateway import Gateway

    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=tmp_path_factory.mktemp("cancels"), edit=_four_venues)
    venues = {v.name: ScriptedVenue(v.port, sender=v.target_comp_id)
              for v in settings.file.venues}
    for venue in venues.values():
        venue.start()
    gateway = Gateway(settings, redis_prefix=f"oms_test_{run_id}_cancels:")
    try:
        gateway.start()
        assert gateway.wait_until_ready(30), "the gateway did not log on to its four venues"
        yield Desk(gateway, venues, amqp_vhost.url)
    finally:
        gateway.stop()
        for venue in venues.values():
            venue.stop()
    for venue in venues.values():
        assert venue.errors == [], venue.errors


@pytest.fixture
def trader(desk: Desk) -> Iterator[Strategy]:
    with Strategy(desk.amqp_url) as strategy:
        yield strategy


def cancel(trader: Strategy, account: str, order: str) -> str:
    request = cid(f"x{order[:6]}")
    trader.send(account, {"type": "cancel", "cl_ord_id": request, "orig_cl_ord_id": order,
                          "account": account})
    return request


def answer_to(trader: Strategy, request: str, *exec_types: str) -> dict[str, Any]:
    return trader.wait_for(lambda e: e["cl_ord_id"] == request and e["exec_type"] in exec_types,
                           timeout=30)


def operator(db_engine: Engine, kind: str, payload: dict[str, Any], reason: str) -> int:
    with db_engine.begin() as conn:
        return issue_command(conn, kind=kind, payload=payload, issued_by="alice", reason=reason,
                             at=datetime.now(UTC), target=str(payload))


def new_orders_received(venue: ScriptedVenue) -> list[str]:
    """The ClOrdIDs of the NewOrderSingles the venue received, in order."""
    return [m[11] for m in list(venue.received) if m.get(35) == "D"]


# -- account message rate --------------------------------------------------------------------


def test_cancels_past_the_account_message_rate_are_all_canceled(trader: Strategy) -> None:
    """5 messages/s for DEMO2: five new orders fill the second; the five cancels sent in the
    same second all go (the issue saw each cancel_rejected: "account message rate would be
    6"). They are counted: a new order right after them is refused for the rate."""
    orders = [cid(f"acct{i}") for i in range(5)]
    for order in orders:
        trader.new_order("DEMO2", order, "FASTX", "buy", "1", "9.50")
    cancels = [cancel(trader, "DEMO2", order) for order in orders]
    late = cid("acct-late")
    trader.new_order("DEMO2", late, "FASTX", "buy", "1", "9.50")
    for request in cancels:
        answered = answer_to(trader, request, "canceled", "cancel_rejected")
        assert answered["exec_type"] == "canceled", answered
        assert answered["ord_status"] == "canceled"
    refused = answer_to(trader, late, "new", "rejected")
    assert refused["exec_type"] == "rejected" and refused["reject_source"] == "risk"
    assert refused["text"].startswith("account message rate would be "), refused["text"]


# -- a venue's outbound rate limit -----------------------------------------------------------


def test_a_burst_past_the_venue_rate_never_rejects_a_cancel(trader: Strategy) -> None:
    """SIM takes 3 messages/s, held at most 100 ms. Of six new orders sent at once, those the
    hold cannot cover are rejected with the limit; every cancel of the others waits its turn
    and ends canceled (the issue saw each one cancel_rejected: "outbound rate limit")."""
    orders = [cid(f"vr{i}") for i in range(6)]
    for order in orders:
        trader.new_order("DEMO1", order, "ZVZZT", "buy", "1", "9.00")
    cancels = {order: cancel(trader, "DEMO1", order) for order in orders}
    firsts = {o: answer_to(trader, o, "new", "rejected") for o in orders}
    rejected = [o for o, e in firsts.items() if e["exec_type"] == "rejected"]
    assert rejected, "six new orders at once at 3 msg/s, held 100 ms: some must be refused"
    for order in rejected:
        assert firsts[order]["text"] == SIM_RATE and firsts[order]["reject_source"] == "venue"
    for order, request in cancels.items():
        answered = answer_to(trader, request, "canceled", "cancel_rejected")
        texts = [e.get("text") or "" for e in trader.events_of(request)]
        assert not any("rate limit" in text for text in texts), texts
        if order in rejected:  # nothing to cancel: refused by the order, not by the rate
            assert answered["exec_type"] == "cancel_rejected"
        else:
            assert answered["exec_type"] == "canceled", answered


def test_a_kill_switch_past_the_venue_rate_cancels_every_order(
    trader: Strategy, db_engine: Engine,
) -> None:
    """Three orders take KILL's three tokens (3 msg/s, held at most 100 ms); a venue kill
    switch then cancels all three at once (a mass cancel): none is rejected for the rate (the
    second and third were), each waits its turn and ends canceled."""
    orders = [cid(f"ks{i}") for i in range(3)]
    for order in orders:
        trader.new_order("DEMO1", order, "KILLX", "buy", "1", "9.00")
    ids = {trader.wait_for(is_(order, "new"))["order_id"] for order in orders}
    operator(db_engine, "kill_switch_trip", {"scope": "venue", "key": "KILL"}, "venue fault")
    try:
        for order_id in ids:
            answered = trader.wait_for(lambda e, i=order_id: e["order_id"] == i and e[
                "exec_type"] in ("canceled", "cancel_rejected"), timeout=30)
            assert answered["exec_type"] == "canceled", answered
            assert "venue fault" in answered["text"]
    finally:
        operator(db_engine, "kill_switch_clear", {"scope": "venue", "key": "KILL"}, "fixed")


def test_a_cancel_goes_to_a_held_venue_ahead_of_the_new_orders_queued_before_it(
    desk: Desk, trader: Strategy,
) -> None:
    """SLOW takes 1 message/s: of six new orders sent at once, the last waits 5 s in SLOW's
    queue. A cancel committed after all six reaches SLOW before that last new order."""
    slow = desk.venues["SLOW"]
    before = len(new_orders_received(slow))
    orders = [cid(f"slow{i}") for i in range(6)]
    for order in orders:
        trader.new_order("DEMO1", order, "SLOWX", "buy", "1", "9.00")
    request = cancel(trader, "DEMO1", orders[0])
    assert answer_to(trader, request, "canceled", "cancel_rejected")["exec_type"] == "canceled"
    for order in orders[1:]:  # held, never refused: within the 10 s hold
        assert answer_to(trader, order, "new", "rejected")["exec_type"] == "new"
    wire = [m.get(35) for m in list(slow.received) if m.get(35) in ("D", "F")]
    last_new = len(wire) - 1 - wire[::-1].index("D")
    assert "F" in wire[:last_new], f"the cancel went after every queued new order: {wire}"
    assert len(new_orders_received(slow)) == before + 6


def test_a_venue_held_by_its_rate_limit_does_not_hold_another_venue(
    desk: Desk, trader: Strategy,
) -> None:
    """While SLOW's queue holds new orders for seconds, an order for FAST is acknowledged: FAST
    acknowledges it before SLOW has even received the last of SLOW's orders sent before it
    (one venue's hold held every venue's sends: they ran on the commit thread)."""
    slow = desk.venues["SLOW"]
    before = len(new_orders_received(slow))
    held = [cid(f"held{i}") for i in range(6)]
    for order in held:
        trader.new_order("DEMO1", order, "SLOWX", "buy", "1", "9.00")
    fast = cid("fast")
    trader.new_order("DEMO1", fast, "FASTX", "buy", "1", "9.00")
    assert trader.wait_for(is_(fast, "new"), timeout=30)["ord_status"] == "new"
    received = new_orders_received(slow)[before:]
    assert len(received) < len(held), f"SLOW already had all its orders: {received}"
    for order in held:  # they still go, at SLOW's pace
        assert answer_to(trader, order, "new", "rejected")["exec_type"] == "new"


# -- what a refused cancel or replace says ---------------------------------------------------


def test_a_replace_refused_by_risk_carries_the_orders_identity_and_status(
    trader: Strategy,
) -> None:
    """A replace over the max order quantity is replace_rejected, and its event names the
    order and its real status (new), not a status of rejected for an order that is working."""
    order, replace = cid("big"), cid("bigr")
    trader.new_order("DEMO1", order, "FASTX", "buy", "10", "9.50")
    working = trader.wait_for(is_(order, "new"))
    trader.send("DEMO1", {"type": "replace", "cl_ord_id": replace, "orig_cl_ord_id": order,
                          "account": "DEMO1", "quantity": "20000"})
    refused = trader.wait_for(is_(replace, "replace_rejected"))
    assert refused["reject_source"] == "risk" and "exceeds max 10000" in refused["text"]
    assert refused["ord_status"] == "new" and refused["order_id"] == working["order_id"]
    assert refused["orig_cl_ord_id"] == order
