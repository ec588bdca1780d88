"""A FIX client's ClOrdIDs on the wire, across its trading day boundary (simplefix over a raw
socket, no quickfix on the client side).

The gateway's core runs on a clock the test moves forward three hours; the sessions' time zone
is chosen so that its local midnight falls inside those three hours, whatever the real time.
A day-scoped session may then use a ClOrdID again, a forever-scoped one may not; on one
trading day, neither may.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from oms.settings import Settings
from tests.support.client_stack import venue_running
from tests.support.isolation import TestVhost
from tests.support.raw_fix import Fields, RawFixClient, now_text
from tests.support.stack import free_port, test_settings

pytestmark = pytest.mark.e2e

DAILY, KEEPER = "DAILY", "KEEPER"
SHIFT = timedelta(hours=3)


def zone_at_nine_pm(now: datetime) -> str:
    """A fixed-offset zone whose local time is now between 21:00 and 22:00, so ``now + SHIFT``
    is already the next local day (Etc/GMT-N is UTC+N)."""
    offset = (21 - now.hour) % 24
    if offset > 14:
        offset -= 24
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


@dataclass
class ShiftedClock:
    shift: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


def add_sessions(zone: str) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        for name, scope in ((DAILY, "day"), (KEEPER, "forever")):
            raw["fix_clients"].append({
                "sender_comp_id": name, "port": free_port(), "accounts": ["CLIENT1"],
                "cl_ord_id_scope": scope, "hours": {"timezone": zone}})
    return edit


@contextmanager
def gateway_on(settings: Settings, clock: ShiftedClock, prefix: str) -> Iterator[Any]:
    from oms.gateway import Gateway

    gateway = Gateway(settings, redis_prefix=prefix, clock=clock)
    try:
        gateway.start()
        assert gateway.wait_until_ready(30), "gateway not ready"
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture(scope="module")
def settings(database_url: str, amqp_vhost: TestVhost,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("cl-ord-id-days")
    return test_settings(database_url=database_url, amqp_url=amqp_vhost.url, data_dir=data_dir,
                         edit=add_sessions(zone_at_nine_pm(datetime.now(UTC))))


@pytest.fixture(scope="module")
def stale_request(db_engine: Engine) -> str:
    """A request of a trading day long past, recorded before the gateway starts."""
    cl_ord_id = f"stale-{uuid.uuid4().hex[:8]}"
    with db_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO client_requests (origin, cl_ord_id, trading_day, kind, received_at)"
            " VALUES ('fix:GONE', :c, DATE '2000-01-03', 'new', now())"), {"c": cl_ord_id})
    return cl_ord_id


@pytest.fixture(scope="module")
def gateway(settings: Settings, clock: ShiftedClock, run_id: str, stale_request: str
            ) -> Iterator[Any]:
    with venue_running(settings, Path(settings.file.engine.data_dir)), \
            gateway_on(settings, clock, f"oms_test_{run_id}_days:") as gw:
        yield gw


@pytest.fixture
def connect(gateway: Any, settings: Settings, clock: ShiftedClock
            ) -> Iterator[Callable[[str], RawFixClient]]:
    clock.shift = timedelta(0)  # each test starts on the sessions' first day
    clients: list[RawFixClient] = []
    ports = {c.sender_comp_id: c.port for c in settings.file.fix_clients}

    def make(session: str) -> RawFixClient:
        client = RawFixClient(ports[session], sender=session)
        clients.append(client)
        assert client.logon(reset=True)[35] == "A"
        return client

    yield make
    for client in clients:
        client.drop()
    for client in clients:
        assert client.errors == [], client.errors


def gtc_limit(cl_ord_id: str) -> list[tuple[int, str]]:
    # ZVZZT has no simulated liquidity: the order rests, open, at the venue
    return [(11, cl_ord_id), (55, "ZVZZT"), (54, "1"), (60, now_text()), (38, "10"),
            (40, "2"), (44, "9.01"), (59, "1")]


def accepted(client: RawFixClient, cl_ord_id: str) -> Fields:
    pending, new = client.reports_for(cl_ord_id, 2)
    assert (pending[150], new[150], new[39]) == ("A", "0", "0"), (pending, new)
    return new


def refused_as_duplicate(client: RawFixClient, cl_ord_id: str) -> None:
    [reject] = client.reports_for(cl_ord_id, 1)
    assert (reject[35], reject[150], reject[39], reject[37]) == ("8", "8", "8", "NONE")
    assert f"duplicate cl_ord_id {cl_ord_id!r}" in reject[58]


def test_a_day_scoped_client_uses_a_cl_ord_id_again_after_its_local_midnight(
    connect: Callable[[str], RawFixClient], clock: ShiftedClock
) -> None:
    client = connect(DAILY)
    order = f"day-{uuid.uuid4().hex[:8]}"
    client.send("D", gtc_limit(order))
    first = accepted(client, order)
    client.send("D", gtc_limit(order))
    refused_as_duplicate(client, order)

    clock.shift = SHIFT  # past the session's midnight
    client.send("D", gtc_limit(order))
    second = accepted(client, order)
    assert second[37] != first[37]
    client.send("D", gtc_limit(order))
    refused_as_duplicate(client, order)

    cancel = f"cxl-{uuid.uuid4().hex[:8]}"
    client.send("F", [(11, cancel), (41, order), (55, "ZVZZT"), (54, "1"), (60, now_text())])
    pending, canceled = client.reports_for(cancel, 2)
    assert (pending[150], canceled[150], canceled[41]) == ("6", "4", order)
    assert canceled[37] == second[37]  # the newest order of that ClOrdID


def test_a_forever_scoped_client_is_refused_a_cl_ord_id_of_its_previous_day(
    connect: Callable[[str], RawFixClient], clock: ShiftedClock
) -> None:
    client = connect(KEEPER)
    order = f"keep-{uuid.uuid4().hex[:8]}"
    client.send("D", gtc_limit(order))
    accepted(client, order)
    clock.shift = SHIFT
    client.send("D", gtc_limit(order))
    refused_as_duplicate(client, order)


def test_the_gateway_purges_requests_older_than_the_retention_once_started(
    gateway: Any, db_engine: Engine, stale_request: str
) -> None:
    def gone() -> bool:
        with db_engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM client_requests WHERE cl_ord_id = :c"),
                                {"c": stale_request}).scalar_one() == 0

    deadline = time.monotonic() + 30
    while not gone():
        assert time.monotonic() < deadline, "the gateway did not purge within 30s of its start"
        time.sleep(0.1)


def test_the_sessions_zone_puts_midnight_inside_the_shift() -> None:
    for hour in range(24):
        now = datetime(2026, 6, 1, hour, 30, tzinfo=UTC)
        zone = ZoneInfo(zone_at_nine_pm(now))
        assert now.astimezone(zone).hour == 21
        assert (now + SHIFT).astimezone(zone).date() > now.astimezone(zone).date()
