"""The venue simulator end to end: quickfix initiators on loopback talk FIX 4.4 and 4.2 to it.

Each test gets a free port and temporary store directories. The initiators validate what they
receive against quickfix's data dictionaries, so a malformed report shows up as a session
Reject recorded by the client (checked after every test).
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

fix = pytest.importorskip("quickfix")

from fix_gateway.venue_sim import Behaviours, SessionSpec, VenueSimulator, run_venue_sim  # noqa: E402
from fix_gateway.venue_sim.session_config import data_dictionary  # noqa: E402
from oms.settings import Settings, load_settings  # noqa: E402
from tests.support.stack import free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 10.0
Fields = dict[int, str]


def fields_of(message: Any) -> Fields:
    out: Fields = {}
    for part in message.toString().split("\x01"):
        if part:
            tag, _, value = part.partition("=")
            out[int(tag)] = value
    return out


class FixClient(fix.Application):  # type: ignore[misc]
    """A FIX initiator that records what it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.inbox: queue.Queue[Fields] = queue.Queue()
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.logons = 0
        self.logouts = 0
        self.session_rejects: list[Fields] = []
        self.session_id: Any = None

    def onCreate(self, sessionID: Any) -> None:  # noqa: N803
        self.session_id = sessionID

    def onLogon(self, sessionID: Any) -> None:  # noqa: N803
        self.logons += 1
        self.logged_out.clear()
        self.logged_on.set()

    def onLogout(self, sessionID: Any) -> None:  # noqa: N803
        self.logouts += 1
        self.logged_on.clear()
        self.logged_out.set()

    def toAdmin(self, message: Any, sessionID: Any) -> None:  # noqa: N803
        fields = fields_of(message)
        if fields.get(35) == "3":  # we rejected something the venue sent
            self.session_rejects.append(fields)

    def fromAdmin(self, message: Any, sessionID: Any) -> None:  # noqa: N803
        fields = fields_of(message)
        if fields.get(35) in ("3", "j"):
            self.session_rejects.append(fields)

    def toApp(self, message: Any, sessionID: Any) -> None:  # noqa: N803
        pass

    def fromApp(self, message: Any, sessionID: Any) -> None:  # noqa: N803
        self.inbox.put(fields_of(message))

    # -- helpers for the tests -------------------------------------------------------------

    def send(self, msg_type: str, fields: dict[int, str]) -> None:
        msg = fix.Message()
        msg.getHeader().setField(35, msg_type)
        for tag, value in fields.items():
            msg.setField(tag, value)
        if msg_type in ("D", "F", "G"):
            msg.setField(60, datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.000"))
        assert fix.Session.sendToTarget(msg, self.session_id)

    def next(self, timeout: float = TIMEOUT_S) -> Fields:
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message within {timeout}s") from None

    def take(self, count: int) -> list[Fields]:
        return [self.next() for _ in range(count)]

    def wait_for(self, predicate: Callable[[Fields], bool]) -> Fields:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            message = self.next(max(deadline - time.monotonic(), 0.01))
            if predicate(message):
                return message

    def assert_quiet(self, seconds: float = 0.3) -> None:
        time.sleep(seconds)
        assert self.inbox.empty(), self.inbox.get_nowait()


class Initiator:
    def __init__(self, begin_string: str, sender: str, target: str, port: int, path: Path) -> None:
        self.client = FixClient()
        settings = fix.SessionSettings()
        defaults = fix.Dictionary()
        for key, value in {
            "ConnectionType": "initiator",
            "SocketConnectHost": "127.0.0.1",
            "SocketConnectPort": str(port),
            "HeartBtInt": "30",
            "ReconnectInterval": "1",
            "StartTime": "00:00:00",
            "EndTime": "00:00:00",
            "FileStorePath": str(path / "store"),
            "UseDataDictionary": "Y",
            "DataDictionary": str(data_dictionary(begin_string)),
        }.items():
            defaults.setString(key, value)
        settings.set(defaults)
        settings.set(fix.SessionID(begin_string, sender, target), fix.Dictionary())
        store = fix.FileStoreFactory(settings)
        self._keep: tuple[Any, ...] = (settings, store)
        self._initiator: Any = fix.SocketInitiator(self.client, store, settings)
        self._initiator.start()
        assert self.client.logged_on.wait(TIMEOUT_S), f"{sender} did not log on"

    def stop(self) -> None:
        # Destroy the quickfix objects now: their sessions stay registered process-wide
        # until then, and would shadow the next test's sessions of the same SessionID.
        if self._initiator is not None:
            self._initiator.stop(True)
        self._initiator = None
        self._keep = ()


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings({"OMS_CONFIG": str(REPO / "config" / "oms.toml")})


@pytest.fixture
def port() -> int:
    return free_port()


def extra_sessions(port: int) -> list[SessionSpec]:
    return [
        SessionSpec("FIX.4.4", "SIM", "OMS2", port),
        SessionSpec("FIX.4.2", "SIM", "OMS42", port),
    ]


@pytest.fixture
def make_sim(
    settings: Settings, port: int, tmp_path: Path
) -> Iterator[Callable[..., VenueSimulator]]:
    started: list[VenueSimulator] = []

    def make(**kwargs: Any) -> VenueSimulator:
        sim = VenueSimulator(
            settings,
            "SIM",
            port=port,
            data_dir=tmp_path / "venue-sim",
            extra_sessions=extra_sessions(port),
            id_prefix="T-",
            **kwargs,
        )
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., VenueSimulator]) -> VenueSimulator:
    return make_sim()


@pytest.fixture
def connect(port: int, tmp_path: Path) -> Iterator[Callable[[str, str], FixClient]]:
    initiators: list[Initiator] = []

    def open_session(begin_string: str = "FIX.4.4", sender: str = "OMS") -> FixClient:
        path = tmp_path / f"client-{sender}"
        initiator = Initiator(begin_string, sender, "SIM", port, path)
        initiators.append(initiator)
        return initiator.client

    yield open_session
    for initiator in initiators:
        initiator.stop()
    for initiator in initiators:
        assert initiator.client.session_rejects == [], "venue sent something the client rejected"


def new_order(
    cl_ord_id: str,
    side: str,
    qty: str,
    price: str | None,
    *,
    symbol: str = "ZVZZT",
    extra: dict[int, str] | None = None,
) -> dict[int, str]:
    fields = {11: cl_ord_id, 21: "1", 55: symbol, 54: side, 38: qty, 40: "2" if price else "1"}
    if price:
        fields[44] = price
    fields.update(extra or {})
    return fields


# -- tests ---------------------------------------------------------------------------------


def test_two_sessions_cross_on_zvzzt_at_the_same_price_and_both_receive_fills(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    buyer = connect("FIX.4.4", "OMS")
    seller = connect("FIX.4.4", "OMS2")

    buyer.send("D", new_order("B-1", "1", "100", "10.00", extra={1: "DEMO1"}))
    ack = buyer.next()
    assert (ack[35], ack[150], ack[39], ack[11], ack[1]) == ("8", "0", "0", "B-1", "DEMO1")
    assert (ack[151], ack[14], ack[6]) == ("100", "0", "0")

    seller.send("D", new_order("S-1", "2", "100", "10.00"))
    seller_ack, seller_fill = seller.take(2)
    assert (seller_ack[150], seller_ack[39]) == ("0", "0")
    buyer_fill = buyer.next()
    for fill, cl_ord_id in ((buyer_fill, "B-1"), (seller_fill, "S-1")):
        assert fill[35] == "8" and fill[11] == cl_ord_id
        assert (fill[150], fill[39]) == ("F", "2")
        assert (fill[32], fill[31], fill[14], fill[151], fill[6]) == ("100", "10", "100", "0", "10")
        assert fill[55] == "ZVZZT" and 60 in fill and 37 in fill
    assert buyer_fill[17] != seller_fill[17]
    assert buyer_fill[37] != seller_fill[37]


def test_partial_fills_over_fix(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    a = connect("FIX.4.4", "OMS")
    b = connect("FIX.4.4", "OMS2")
    a.send("D", new_order("A-1", "2", "100", "10.05"))
    a.next()
    b.send("D", new_order("B-1", "1", "30", "10.05"))
    b.take(2)
    partial = a.next()
    assert (partial[150], partial[39], partial[32], partial[14], partial[151]) == (
        "F", "1", "30", "30", "70",
    )  # fmt: skip


def test_fix42_session_gets_fix42_reports(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    old = connect("FIX.4.2", "OMS42")
    new = connect("FIX.4.4", "OMS")
    old.send("D", new_order("O-1", "1", "100", "10.00"))
    ack = old.next()
    assert (ack[20], ack[150], ack[39]) == ("0", "0", "0")
    new.send("D", new_order("N-1", "2", "40", "10.00"))
    new.take(2)
    partial = old.next()
    assert (partial[20], partial[150], partial[39], partial[32], partial[31]) == (
        "0", "1", "1", "40", "10",
    )  # fmt: skip
    new.send("D", new_order("N-2", "2", "60", "10.00"))
    new.take(2)
    fill = old.next()
    assert (fill[20], fill[150], fill[39], fill[14], fill[151]) == ("0", "2", "2", "100", "0")

    old.send("H", {11: "O-1", 55: "ZVZZT", 54: "1"})
    status = old.next()
    assert (status[20], status[150], status[39], status[14]) == ("3", "2", "2", "100")
    old.send("H", {11: "NOPE", 55: "ZVZZT", 54: "1"})
    unknown = old.next()
    assert (unknown[20], unknown[150], unknown[39], unknown[58]) == ("3", "8", "8", "unknown order")


def test_cancel_and_cancel_reject(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    c = connect("FIX.4.4", "OMS")
    c.send("D", new_order("C-1", "1", "100", "9.50"))
    c.next()
    c.send("F", {11: "C-2", 41: "C-1", 55: "ZVZZT", 54: "1", 38: "100"})
    canceled = c.next()
    assert (canceled[35], canceled[150], canceled[39], canceled[11], canceled[41]) == (
        "8", "4", "4", "C-2", "C-1",
    )  # fmt: skip
    assert canceled[151] == "0"

    c.send("F", {11: "C-3", 41: "C-1", 55: "ZVZZT", 54: "1", 38: "100"})
    too_late = c.next()
    assert (too_late[35], too_late[434], too_late[102], too_late[39]) == ("9", "1", "0", "4")

    c.send("F", {11: "C-4", 41: "NOPE", 55: "ZVZZT", 54: "1", 38: "100"})
    unknown = c.next()
    assert (unknown[35], unknown[434], unknown[102], unknown[37]) == ("9", "1", "1", "NONE")


def test_replace_and_replace_reject(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    c = connect("FIX.4.4", "OMS")
    c.send("D", new_order("R-1", "1", "100", "9.50"))
    c.next()
    c.send(
        "G", {11: "R-2", 41: "R-1", 21: "1", 55: "ZVZZT", 54: "1", 38: "150", 40: "2", 44: "9.60"}
    )
    replaced = c.next()
    assert (replaced[150], replaced[39], replaced[11], replaced[41]) == ("5", "0", "R-2", "R-1")
    assert (replaced[38], replaced[44], replaced[151]) == ("150", "9.6", "150")
    assert sim.engine.book("ZVZZT").bids.best_price() == Decimal("9.60")

    c.send(
        "G", {11: "R-3", 41: "GONE", 21: "1", 55: "ZVZZT", 54: "1", 38: "150", 40: "2", 44: "9.6"}
    )
    rej = c.next()
    assert (rej[35], rej[434], rej[102]) == ("9", "2", "1")


def test_status_request_for_unknown_and_known_orders(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    c = connect("FIX.4.4", "OMS")
    c.send("H", {11: "NEVER-SEEN", 55: "ZVZZT", 54: "1"})
    unknown = c.next()
    assert (unknown[35], unknown[150], unknown[39], unknown[58]) == ("8", "I", "8", "unknown order")
    assert unknown[11] == "NEVER-SEEN"

    c.send("D", new_order("K-1", "1", "100", "9.00"))
    c.next()
    c.send("H", {11: "K-1", 55: "ZVZZT", 54: "1"})
    known = c.next()
    assert (known[150], known[39], known[151], known[11]) == ("I", "0", "100", "K-1")


def test_unknown_symbol_is_rejected(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    c = connect("FIX.4.4", "OMS")
    c.send("D", new_order("U-1", "1", "100", "10.00", symbol="NOPE"))
    rej = c.next()
    assert (rej[150], rej[39], rej[103], rej[58]) == ("8", "8", "1", "unknown symbol NOPE")


def test_market_order_trades_with_simulated_liquidity(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    c = connect("FIX.4.4", "OMS")
    c.send("D", new_order("M-1", "1", "50", None, symbol="AAPL"))
    ack, fill = c.take(2)
    assert ack[150] == "0"
    assert (fill[150], fill[39], fill[31], fill[32]) == ("F", "2", "190.01", "50")
    c.assert_quiet()  # the market maker's side is not reported to anyone


def test_day_orders_expire_on_demand(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    c = connect("FIX.4.4", "OMS")
    c.send("D", new_order("E-1", "1", "100", "9.00"))
    c.send("D", new_order("E-2", "1", "100", "9.00", extra={59: "1"}))
    c.take(2)
    assert sim.expire_day_orders() == 1
    expired = c.next()
    assert (expired[11], expired[150], expired[39]) == ("E-1", "C", "C")
    c.assert_quiet()


def test_unsupported_message_type_gets_a_business_reject(
    sim: VenueSimulator, connect: Callable[[str, str], FixClient]
) -> None:
    c = connect("FIX.4.4", "OMS")
    c.send("c", {320: "SD-1", 321: "0"})  # SecurityDefinitionRequest: not offered
    reject = c.next()
    assert (reject[35], reject[380]) == ("j", "3")
    c.send("D", new_order("ok", "1", "1", "1.00"))
    assert c.next()[11] == "ok"


def test_duplicate_reports_behaviour(
    make_sim: Callable[..., VenueSimulator], connect: Callable[[str, str], FixClient]
) -> None:
    make_sim(behaviours=Behaviours(duplicate_reports=True))
    c = connect("FIX.4.4", "OMS")
    c.send("D", new_order("D-1", "1", "100", "9.00"))
    first, second = c.take(2)
    assert first[17] == second[17] and first[34] != second[34]


def test_reject_rate_and_ack_latency_behaviours(
    make_sim: Callable[..., VenueSimulator], connect: Callable[[str, str], FixClient]
) -> None:
    make_sim(behaviours=Behaviours(reject_rate=1.0, ack_latency_ms=200))
    c = connect("FIX.4.4", "OMS")
    sent = time.monotonic()
    c.send("D", new_order("L-1", "1", "100", "9.00"))
    rej = c.next()
    assert time.monotonic() - sent >= 0.2
    assert (rej[150], rej[39]) == ("8", "8") and "injected" in rej[58]


def test_unsolicited_cancel_behaviour(
    make_sim: Callable[..., VenueSimulator], connect: Callable[[str, str], FixClient]
) -> None:
    make_sim(behaviours=Behaviours(unsolicited_cancel_rate=1.0, unsolicited_cancel_after_ms=100))
    c = connect("FIX.4.4", "OMS")
    c.send("D", new_order("UC-1", "1", "100", "9.00"))
    ack, canceled = c.take(2)
    assert ack[150] == "0"
    assert (canceled[11], canceled[150], canceled[39]) == ("UC-1", "4", "4")
    assert "unsolicited" in canceled[58]


def test_disconnect_after_messages_behaviour(
    make_sim: Callable[..., VenueSimulator], connect: Callable[[str, str], FixClient]
) -> None:
    sim = make_sim(behaviours=Behaviours(disconnect_after_messages=2))
    c = connect("FIX.4.4", "OMS")
    c.send("D", new_order("X-1", "1", "1", "9.00"))
    c.send("D", new_order("X-2", "1", "1", "9.00"))
    assert [m[11] for m in c.take(2)] == ["X-1", "X-2"]  # answered before the logout
    deadline = time.monotonic() + TIMEOUT_S
    # Logged out, then back in: the venue lets the session return (the initiator reconnects).
    while not (c.logouts >= 1 and c.logons >= 2 and c.logged_on.is_set()):
        assert time.monotonic() < deadline, (c.logouts, c.logons)
        time.sleep(0.05)
    c.send("H", {11: "X-1", 55: "ZVZZT", 54: "1"})
    assert c.next()[11] == "X-1"
    assert "FIX.4.4:SIM->OMS" in sim.logged_on()


def test_run_venue_sim_blocks_until_stopped(
    settings: Settings, port: int, tmp_path: Path, connect: Callable[[str, str], FixClient]
) -> None:
    venue = settings.file.venue("SIM").model_copy(update={"port": port})
    engine = settings.file.engine.model_copy(update={"data_dir": str(tmp_path / "var")})
    file = settings.file.model_copy(update={"venues": (venue,), "engine": engine})
    stop = threading.Event()
    runner = threading.Thread(
        target=run_venue_sim,
        args=(dataclasses.replace(settings, file=file),),
        kwargs={"stop": stop, "seed": 5},
    )
    runner.start()
    try:
        c = connect("FIX.4.4", "OMS")
        c.send("D", new_order("RV-1", "2", "10", None, symbol="MSFT"))
        ack, fill = c.take(2)
        assert ack[150] == "0"
        assert (fill[150], fill[31]) == ("F", "419.99")
        assert (tmp_path / "var" / "venue-sim" / "SIM" / "store").is_dir()
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()
