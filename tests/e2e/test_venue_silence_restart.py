"""A restart keeps the watch over unanswered venue requests: they are rebuilt from
``venue_requests``, asked about after the logon, and settled by the venue's answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from oms.admin.queries.tables import ORDERS, VENUE_REQUESTS
from oms.settings import Settings
from tests.support.events import cid, is_
from tests.support.isolation import TestVhost
from tests.support.scripted_venue import Answer, ScriptedVenue
from tests.support.stack import Strategy, test_settings
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e



def _settings(database_url: str, amqp_url: str, data_dir: Path, timeout: str,
              port: int | None = None) -> Settings:
    def edit(raw: dict[str, Any]) -> None:
        raw["venues"][0]["request_timeout_s"] = timeout
        if port is not None:
            raw["venues"][0]["port"] = port

    return test_settings(database_url=database_url, amqp_url=amqp_url, data_dir=data_dir,
                         edit=edit)


@contextmanager
def gateway_running(settings: Settings, prefix: str) -> Iterator[Any]:
    from oms.gateway import Gateway

    gateway = Gateway(settings, redis_prefix=prefix)
    try:
        gateway.start()
        assert gateway.wait_until_ready(30), "the gateway did not log on to the scripted venue"
        yield gateway
    finally:
        gateway.stop()


def _states(db: Engine, order_id: str) -> list[tuple[str, str]]:
    with db.connect() as conn:
        rows = conn.execute(select(VENUE_REQUESTS.c.kind, VENUE_REQUESTS.c.state)
                            .where(VENUE_REQUESTS.c.order_id == order_id)
                            .order_by(VENUE_REQUESTS.c.created_at)).all()
    return [(r.kind.value, r.state.value) for r in rows]


def _in_doubt(db: Engine, order_id: str) -> bool:
    with db.connect() as conn:
        return bool(conn.execute(select(ORDERS.c.in_doubt)
                                 .where(ORDERS.c.order_id == order_id)).scalar_one())


def test_a_cancel_left_unanswered_across_a_restart_is_settled_after_the_logon(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path, db_engine: Engine
) -> None:
    patient = _settings(database_url, amqp_vhost.url, tmp_path, "600")
    port = patient.file.venues[0].port
    prefix = f"oms_test_{run_id}_silent_restart:"
    with ScriptedVenue(port) as venue, ExitStack() as stack:
        with gateway_running(patient, prefix):
            trader = stack.enter_context(Strategy(amqp_vhost.url))  # once the exchange exists
            order = cid("keep")
            trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
            order_id = trader.wait_for(is_(order, "new"))["order_id"]
            venue.answer(F=Answer.SILENCE)
            request = cid("cxl")
            trader.send("DEMO1", {"type": "cancel", "cl_ord_id": request,
                                  "orig_cl_ord_id": order, "account": "DEMO1"})
            trader.wait_for(is_(request, "pending_cancel"))
            eventually(lambda: _states(db_engine, order_id)[-1] == ("cancel", "sent"))
        # stopped with the cancel unanswered; the next gateway times requests out quickly
        brisk = _settings(database_url, amqp_vhost.url, tmp_path, "0.5", port)
        with gateway_running(brisk, prefix):
            answer = trader.wait_for(is_(request, "cancel_rejected"), timeout=30)
        assert answer["text"] == (
            "no answer from the venue to the cancel request within 0.5s; its order status"
            " response shows the order new: the cancel was not taken up")
        assert answer["ord_status"] == "new"
        assert _states(db_engine, order_id) == [("new", "answered"), ("cancel", "answered")]
        assert venue.errors == []


def test_an_order_in_doubt_stays_in_doubt_across_a_restart_until_the_venue_answers(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path: Path, db_engine: Engine
) -> None:
    settings = _settings(database_url, amqp_vhost.url, tmp_path, "0.5")
    prefix = f"oms_test_{run_id}_doubt_restart:"
    with ScriptedVenue(settings.file.venues[0].port) as venue, ExitStack() as stack:
        venue.answer(D=Answer.SILENCE, H=Answer.SILENCE)
        with gateway_running(settings, prefix):
            trader = stack.enter_context(Strategy(amqp_vhost.url))
            order = cid("doubt")
            trader.new_order("DEMO1", order, "ZVZZT", "buy", "100", "9.50")
            order_id = trader.wait_for(is_(order, "pending_new"))["order_id"]
            eventually(lambda: _in_doubt(db_engine, order_id))
        assert _states(db_engine, order_id) == [("new", "in_doubt")]
        venue.answer(H=Answer.ACK)  # after the restart, the venue answers the status request
        with gateway_running(settings, prefix):
            acknowledged = trader.wait_for(is_(order, "new"), timeout=30)
            eventually(lambda: not _in_doubt(db_engine, order_id))
        assert acknowledged["text"] == "acknowledged by an order status response"
        assert _states(db_engine, order_id) == [("new", "answered")]
        assert venue.errors == []
