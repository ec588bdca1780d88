"""The real gateway against ``ScriptedVenue`` (simplefix, not quickfix), on this run's own
database, vhost and Redis prefix: what the venue fault tests stand on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from oms.admin.queries.tables import UNMATCHED, VENUE_REQUESTS
from tests.support.events import cid, is_
from tests.support.scripted_venue import ScriptedVenue
from tests.support.stack import Strategy, test_settings


@dataclass
class Desk:
    gateway: Any
    venue: ScriptedVenue
    db: Engine
    amqp_url: str
    version: str


@contextmanager
def scripted_desk(*, version: str, database_url: str, amqp_url: str, data_dir: Path,
                  redis_prefix: str, db: Engine, request_timeout_s: str = "10") -> Iterator[Desk]:
    """A started gateway logged on to a started scripted venue speaking FIX ``version``."""
    from oms.gateway import Gateway

    def scripted(raw: dict[str, Any]) -> None:
        raw["venues"][0]["fix_version"] = version
        raw["venues"][0]["request_timeout_s"] = request_timeout_s

    settings = test_settings(database_url=database_url, amqp_url=amqp_url, data_dir=data_dir,
                             edit=scripted)
    venue = ScriptedVenue(settings.file.venues[0].port, begin_string=f"FIX.{version}")
    venue.start()
    gateway = Gateway(settings, redis_prefix=redis_prefix)
    try:
        gateway.start()
        assert gateway.wait_until_ready(30), "the gateway did not log on to the scripted venue"
        yield Desk(gateway, venue, db, amqp_url, version)
    finally:
        gateway.stop()
        venue.stop()
    assert venue.errors == [], venue.errors  # every message the gateway sent was well formed


def resting_buy(desk: Desk, trader: Strategy, label: str) -> tuple[str, str, str]:
    """A buy of 100 ZVZZT at 9.50 acknowledged by the scripted venue, where it rests: its
    cl_ord_id, its order id, and our ClOrdID at the venue."""
    order = cid(label)
    trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
    order_id = trader.wait_for(is_(order, "new"))["order_id"]
    with desk.db.connect() as conn:
        venue_id = conn.execute(select(VENUE_REQUESTS.c.venue_cl_ord_id).where(
            VENUE_REQUESTS.c.order_id == order_id)).scalar_one()
    return order, order_id, venue_id


def unmatched_report(db: Engine, exec_id: str) -> Any:
    """The unmatched report (Exceptions page) kept for ``exec_id``, or None."""
    with db.connect() as conn:
        return conn.execute(select(UNMATCHED).where(UNMATCHED.c.exec_id == exec_id)).first()
