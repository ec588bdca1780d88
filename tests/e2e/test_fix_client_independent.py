"""A FIX counterparty that does not use quickfix (simplefix over a raw socket) trades through the
gateway: logon checks, orders, cancels, replaces, risk and entitlement rejects, a fill against a
strategy's AMQP order, status requests, rejects of unsupported and malformed messages, drop copy.

Every message the gateway sends is checked byte by byte by the client (``tests.support.raw_fix``)
and, after each test, no wire error may have been recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from oms.settings import Settings
from tests.support.client_stack import (
    PASSWORD,
    client_settings,
    gateway_running,
    port_of,
    venue_running,
)
from tests.support.isolation import TestVhost
from tests.support.raw_fix import Fields, RawFixClient, now_text
from tests.support.stack import Strategy

pytestmark = pytest.mark.e2e


def cid(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def settings(database_url: str, amqp_vhost: TestVhost,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("fix-clients")
    return client_settings(database_url, amqp_vhost.url, data_dir)


@pytest.fixture(scope="module")
def gateway(settings: Settings, run_id: str) -> Iterator[Any]:
    with venue_running(settings, Path(settings.file.engine.data_dir)), \
            gateway_running(settings, f"oms_test_{run_id}_fixc:") as gw:
        yield gw


@pytest.fixture
def connect(gateway: Any, settings: Settings) -> Iterator[Callable[..., RawFixClient]]:
    clients: list[RawFixClient] = []

    def make(session: str = "CLIENT1", *, source: str = "127.0.0.1",
             begin_string: str = "FIX.4.4") -> RawFixClient:
        client = RawFixClient(port_of(settings, session), sender=session, source=source,
                              begin_string=begin_string)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.drop()
    for client in clients:
        assert client.errors == [], client.errors


@pytest.fixture
def client1(connect: Callable[..., RawFixClient]) -> RawFixClient:
    client = connect("CLIENT1")
    answer = client.logon(reset=True)
    assert answer[35] == "A", answer
    return client


@pytest.fixture
def strategy(gateway: Any, amqp_vhost: TestVhost) -> Iterator[Strategy]:
    s = Strategy(amqp_vhost.url)
    try:
        yield s
    finally:
        s.close()


def new_order(cl_ord_id: str, side: str, qty: str, price: str | None, *,
              symbol: str = "ZVZZT") -> list[tuple[int, str]]:
    fields = [(11, cl_ord_id), (55, symbol), (54, side), (60, now_text()), (38, qty),
              (40, "2" if price else "1")]
    if price:
        fields.append((44, price))
    return fields


def cancel(cl_ord_id: str, orig: str, side: str = "1") -> list[tuple[int, str]]:
    return [(11, cl_ord_id), (41, orig), (55, "ZVZZT"), (54, side), (60, now_text())]


def exec_types(reports: list[Fields]) -> list[str]:
    return [r[150] for r in reports]


# -- logon ---------------------------------------------------------------------------------


def test_client1_logs_on_and_its_limit_order_is_acknowledged(client1: RawFixClient) -> None:
    order = cid("ack")
    client1.send("D", new_order(order, "1", "100", "9.01"))
    pending, new = client1.reports_for(order, 2)
    assert exec_types([pending, new]) == ["A", "0"]
    assert (new[35], new[39], new[54], new[55], new[1]) == ("8", "0", "1", "ZVZZT", "CLIENT1")
    assert (Decimal(new[38]), Decimal(new[44])) == (100, Decimal("9.01"))
    assert (new[14], new[151], new[6]) == ("0", "100", "0")
    assert new[37] == pending[37] and new[17] != pending[17] and new[60]


def test_an_unknown_comp_id_is_refused_without_a_logon(
    connect: Callable[..., RawFixClient], settings: Settings
) -> None:
    stranger = RawFixClient(port_of(settings, "CLIENT1"), sender="NOBODY")
    stranger.connect()
    stranger.send("A", [(98, "0"), (108, "30")])
    assert stranger.wait_closed(), "the connection of an unknown CompID stayed open"
    assert stranger.admin.empty(), "an unknown CompID got an answer"


def test_a_wrong_password_is_refused_with_the_reason(connect: Callable[..., RawFixClient]) -> None:
    answer = connect("SECURE").logon(password="guess", reset=True)
    assert answer[35] == "5" and "invalid password" in answer[58]


def test_a_missing_password_is_refused(connect: Callable[..., RawFixClient]) -> None:
    answer = connect("SECURE").logon(reset=True)
    assert answer[35] == "5" and "password" in answer[58]


def test_the_right_password_logs_on(connect: Callable[..., RawFixClient]) -> None:
    assert connect("SECURE").logon(password=PASSWORD, reset=True)[35] == "A"


def test_a_source_address_outside_the_allow_list_is_refused(
    connect: Callable[..., RawFixClient],
) -> None:
    outsider = connect("FENCED", source="127.0.0.1")
    outsider.connect()
    outsider.send("A", [(98, "0"), (108, "30"), (141, "Y")])
    assert outsider.wait_closed(), "a connection from an address not allowed stayed open"
    assert outsider.admin.empty(), "a connection from an address not allowed got an answer"
    assert connect("FENCED", source="127.0.0.2").logon(reset=True)[35] == "A"


# -- orders ----------------------------------------------------------------------------------


def test_the_client_cancels_its_resting_order(client1: RawFixClient) -> None:
    order, cxl = cid("rest"), cid("cxl")
    client1.send("D", new_order(order, "1", "100", "9.02"))
    client1.reports_for(order, 2)
    client1.send("F", cancel(cxl, order))
    pending, canceled = client1.reports_for(cxl, 2)
    assert exec_types([pending, canceled]) == ["6", "4"]
    assert (canceled[39], canceled[41], canceled[151]) == ("4", order, "0")


def test_the_client_replaces_its_resting_order(client1: RawFixClient) -> None:
    order, repl = cid("rest"), cid("repl")
    client1.send("D", new_order(order, "1", "100", "9.03"))
    client1.reports_for(order, 2)
    client1.send("G", [(11, repl), (41, order), (55, "ZVZZT"), (54, "1"), (60, now_text()),
                       (38, "150"), (40, "2"), (44, "9.04")])
    pending, replaced = client1.reports_for(repl, 2)
    assert exec_types([pending, replaced]) == ["E", "5"]
    assert (replaced[39], replaced[41]) == ("0", order)
    assert (Decimal(replaced[38]), Decimal(replaced[44])) == (150, Decimal("9.04"))


def test_an_order_over_the_quantity_limit_is_rejected_by_risk_with_the_reason(
    client1: RawFixClient,
) -> None:
    big = cid("big")
    client1.send("D", new_order(big, "1", "10001", "10.00"))
    rejected = client1.wait_for(lambda m: m.get(11) == big)
    assert (rejected[150], rejected[39]) == ("8", "8")
    assert "10001" in rejected[58]


def test_an_account_the_session_may_not_trade_is_rejected_for_entitlement(
    client1: RawFixClient,
) -> None:
    other = cid("acct")
    client1.send("D", [*new_order(other, "1", "10", "10.00"), (1, "DEMO1")])
    rejected = client1.wait_for(lambda m: m.get(11) == other)
    assert (rejected[150], rejected[39], rejected[37]) == ("8", "8", "NONE")
    assert "DEMO1" in rejected[58] and rejected[54] == "1"


def test_a_repeated_cl_ord_id_is_rejected_and_the_order_stays_single(
    client1: RawFixClient,
) -> None:
    dup = cid("dup")
    client1.send("D", new_order(dup, "1", "10", "9.05"))
    first = client1.reports_for(dup, 2)
    client1.send("D", new_order(dup, "1", "10", "9.05"))
    again = client1.wait_for(lambda m: m.get(11) == dup)
    assert (again[150], again[37]) == ("8", "NONE") and "duplicate" in again[58]
    assert first[1][150] == "0"


def test_a_resent_order_already_received_is_answered_with_its_status(
    client1: RawFixClient,
) -> None:
    order = cid("d31")
    client1.send("D", new_order(order, "1", "10", "9.06"))
    _pending, new = client1.reports_for(order, 2)
    client1.send("D", new_order(order, "1", "10", "9.06"), poss_resend=True)
    status = client1.wait_for(lambda m: m.get(11) == order)
    assert (status[150], status[39], status[37]) == ("I", "0", new[37])


def test_a_cancel_for_an_unknown_order_gets_an_order_cancel_reject(
    client1: RawFixClient,
) -> None:
    cxl = cid("nocxl")
    client1.send("F", cancel(cxl, "never-sent"))
    reject = client1.wait_for(lambda m: m.get(11) == cxl)
    assert (reject[35], reject[434], reject[102], reject[41]) == ("9", "1", "1", "never-sent")


def test_the_client_is_filled_against_a_strategy_order_on_zvzzt(
    client1: RawFixClient, strategy: Strategy,
) -> None:
    buy, sell = cid("fixbuy"), cid("amqpsell")
    client1.send("D", new_order(buy, "1", "100", "10.05"))
    client1.reports_for(buy, 2)
    strategy.new_order("DEMO2", sell, "ZVZZT", "sell", "100", "10.05")
    fill = client1.wait_for(lambda m: m.get(11) == buy and m[150] == "F")
    assert (fill[39], fill[32], fill[14], fill[151]) == ("2", "100", "100", "0")
    assert Decimal(fill[31]) == Decimal("10.05") and Decimal(fill[6]) == Decimal("10.05")
    assert fill[17].startswith("SIM-")
    sold = strategy.wait_for(lambda e: e["cl_ord_id"] == sell and e["exec_type"] == "fill")
    assert sold["ord_status"] == "filled" and Decimal(sold["last_px"]) == Decimal("10.05")
    bought = strategy.wait_for(lambda e: e["cl_ord_id"] == buy and e["exec_type"] == "fill")
    assert bought["account"] == "CLIENT1" and bought["_routing_key"] == "CLIENT1.ZVZZT.fill"


def test_a_status_request_for_a_live_order_answers_with_its_state(
    client1: RawFixClient,
) -> None:
    order = cid("d26")
    client1.send("D", new_order(order, "2", "30", "10.90"))
    client1.reports_for(order, 2)
    client1.send("H", [(11, order), (55, "ZVZZT"), (54, "2"), (790, "Q1")])
    status = client1.wait_for(lambda m: m.get(11) == order)
    assert (status[150], status[39], status[151], status[790]) == ("I", "0", "30", "Q1")


def test_a_status_request_for_an_unknown_order_is_answered_unknown(
    client1: RawFixClient,
) -> None:
    client1.send("H", [(11, "no-such-order"), (55, "ZVZZT"), (54, "1")])
    status = client1.wait_for(lambda m: m.get(11) == "no-such-order")
    assert (status[150], status[39], status[37], status[58]) == ("I", "8", "NONE",
                                                                  "unknown order")


# -- what the gateway does not take ----------------------------------------------------------


def test_an_unsupported_message_type_gets_a_business_message_reject(
    client1: RawFixClient,
) -> None:
    seq = client1.send("q", [(11, cid("mass")), (530, "7"), (60, now_text())])
    reject = client1.wait_for(lambda m: m[35] == "j")
    assert (reject[372], reject[380], reject[45]) == ("q", "3", str(seq))


def test_a_malformed_order_gets_a_session_reject_naming_the_tag(client1: RawFixClient) -> None:
    seq = client1.send("D", new_order(cid("bad"), "1", "10", "abc"))
    reject = client1.wait_admin(lambda m: m[35] == "3")
    assert (reject[45], reject[371], reject[373]) == (str(seq), "44", "6")


def test_an_order_missing_its_quantity_is_rejected_with_the_reason(
    client1: RawFixClient,
) -> None:
    order = cid("noqty")
    client1.send("D", [(11, order), (55, "ZVZZT"), (54, "1"), (60, now_text()), (40, "1")])
    rejected = client1.wait_for(lambda m: m.get(11) == order)
    assert (rejected[150], rejected[39]) == ("8", "8") and "OrderQty" in rejected[58]


# -- drop copy -------------------------------------------------------------------------------


def test_a_drop_copy_session_receives_the_reports_of_its_accounts(
    client1: RawFixClient, connect: Callable[..., RawFixClient],
) -> None:
    copy = connect("DROPCOPY")
    assert copy.logon(reset=True)[35] == "A"
    order = cid("copied")
    client1.send("D", new_order(order, "1", "10", "9.07"))
    owner = client1.reports_for(order, 2)
    copied = copy.reports_for(order, 2)
    assert exec_types(copied) == ["A", "0"]
    assert [m[17] for m in copied] == [m[17] for m in owner]
    assert copied[1][1] == "CLIENT1"


def test_an_order_sent_on_a_drop_copy_session_is_rejected(
    connect: Callable[..., RawFixClient],
) -> None:
    copy = connect("DROPCOPY")
    assert copy.logon(reset=True)[35] == "A"
    order = cid("ro")
    copy.send("D", [*new_order(order, "1", "10", "9.00"), (1, "CLIENT1")])
    reject = copy.wait_for(lambda m: m[35] == "j")
    assert (reject[380], reject[379], reject[372]) == ("6", order, "D")
    assert "drop copy" in reject[58]
