"""Rows the gateway would have written, for the admin pages to show: a resting order, a filled
one with its fills and FIX messages, a risk reject, an order in doubt, an unmatched report, a
tripped account kill switch and a halted account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from oms.admin.queries.tables import (
    BREAKERS,
    CLIENT_REQUESTS,
    EXECUTIONS,
    FIX_MESSAGES,
    KILL_SWITCHES,
    ORDER_EVENTS,
    ORDERS,
    POSITIONS,
    UNMATCHED,
    VENUE_REQUESTS,
)
from tests.support.order_snapshots import submitted_snapshot

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
RESTING = "O9000001"
FILLED = "O9000002"
REJECTED = "O9000003"
IN_DOUBT = "O9000004"
RESTING_CL = "strat-rest-1"
FILLED_CL = "strat-fill-1"
FILLED_VENUE_CL = "V90000021"
KILL_TEXT = "kill switch (account DEMO2) tripped by alice: runaway strategy"


def _order(order_id: str, cl_ord_id: str, account: str, status: str, *, qty: str = "100",
           cum: str = "0", price: str = "10.00", side: str = "buy", at: datetime = T0,
           in_doubt: bool = False, symbol: str = "ZVZZT") -> dict[str, Any]:
    leaves = Decimal(0) if status in ("filled", "rejected", "canceled") else (
        Decimal(qty) - Decimal(cum))
    row: dict[str, Any] = {
        "order_id": order_id, "origin": f"amqp:{account}", "cl_ord_id": cl_ord_id,
        "orig_cl_ord_id": None, "account": account, "symbol": symbol, "side": side,
        "ord_type": "limit", "time_in_force": "day", "quantity": Decimal(qty),
        "price": Decimal(price), "stop_price": None, "expire_time": None, "venue": "SIM",
        "status": status, "cum_qty": Decimal(cum), "leaves_qty": leaves,
        "avg_px": Decimal(price) if Decimal(cum) else None, "venue_order_id": None,
        "in_doubt": in_doubt, "seq": 2, "state": {}, "version": 1, "created_at": at,
        "updated_at": at,
    }
    row["state"] = submitted_snapshot(row)
    return row


def _event(order_id: str, seq: int, exec_type: str, status: str, account: str, at: datetime,
           *, text: str | None = None, source: str | None = None,
           cause: dict[str, Any] | None = None, last: tuple[str, str] | None = None,
           ) -> dict[str, Any]:
    event_id = uuid.uuid4()
    body = {"event_id": str(event_id), "order_id": order_id, "seq": seq, "exec_type": exec_type,
            "ord_status": status, "account": account, "text": text, "reject_source": source,
            "cl_ord_id": order_id.lower(), "last_qty": last[0] if last else None,
            "last_px": last[1] if last else None}
    return {"event_id": event_id, "order_id": order_id, "seq": seq, "account": account,
            "exec_type": exec_type, "ord_status": status, "body": body,
            "cause": cause or {"input": "strategy command"}, "created_at": at}


def reference_data(conn: Connection) -> None:
    conn.execute(ORDERS.insert(), [
        _order(RESTING, RESTING_CL, "DEMO1", "new", price="9.50"),
        _order(FILLED, FILLED_CL, "DEMO1", "filled", cum="100", at=T0 + timedelta(seconds=1)),
        _order(REJECTED, "strat-big-1", "DEMO1", "rejected", qty="20000",
               at=T0 + timedelta(seconds=2)),
        _order(IN_DOUBT, "strat-doubt-1", "DEMO2", "pending_new", in_doubt=True,
               side="sell", at=T0 + timedelta(seconds=3)),
    ])
    conn.execute(CLIENT_REQUESTS.insert(), [
        {"origin": "amqp:DEMO1", "cl_ord_id": FILLED_CL, "kind": "new", "order_id": FILLED,
         "received_at": T0, "trading_day": T0.date()},
    ])
    conn.execute(ORDER_EVENTS.insert(), [
        _event(RESTING, 1, "pending_new", "pending_new", "DEMO1", T0),
        _event(RESTING, 2, "new", "new", "DEMO1", T0 + timedelta(milliseconds=3),
               cause={"input": "venue report", "venue": "SIM"}),
        _event(FILLED, 1, "pending_new", "pending_new", "DEMO1", T0),
        _event(FILLED, 2, "fill", "filled", "DEMO1", T0 + timedelta(milliseconds=5),
               cause={"input": "venue report", "exec_id": "SIM-E1"}, last=("100", "10")),
        _event(REJECTED, 1, "rejected", "rejected", "DEMO1", T0, source="risk",
               text="quantity 20000 exceeds max order quantity 10000"),
    ])
    conn.execute(EXECUTIONS.insert(), [{
        "venue": "SIM", "exec_id": "SIM-E1", "order_id": FILLED, "account": "DEMO1",
        "symbol": "ZVZZT", "side": "buy", "exec_type": "fill", "last_qty": Decimal(100),
        "last_px": Decimal(10), "ref_exec_id": None, "transact_time": T0, "recorded_at": T0,
    }])
    conn.execute(POSITIONS.insert(), [{
        "account": "DEMO1", "symbol": "ZVZZT", "net_qty": Decimal(100),
        "bought_qty": Decimal(100), "sold_qty": Decimal(0),
        "bought_notional": Decimal(1000), "sold_notional": Decimal(0), "updated_at": T0,
    }])
    conn.execute(VENUE_REQUESTS.insert(), [
        {"venue": "SIM", "venue_cl_ord_id": FILLED_VENUE_CL, "order_id": FILLED,
         "request_cl_ord_id": FILLED_CL, "kind": "new", "state": "answered", "created_at": T0,
         "sent_at": T0},
        {"venue": "SIM", "venue_cl_ord_id": "V90000041", "order_id": IN_DOUBT,
         "request_cl_ord_id": "strat-doubt-1", "kind": "new", "state": "in_doubt",
         "created_at": T0, "sent_at": None},
    ])
    conn.execute(FIX_MESSAGES.insert(), [
        {"order_id": FILLED, "session_id": "venue:SIM", "direction": "out", "msg_type": "D",
         "raw": "8=FIX.4.4\x0135=D\x0111=V90000021\x0155=ZVZZT\x01", "at": T0},
        {"order_id": FILLED, "session_id": "venue:SIM", "direction": "in", "msg_type": "8",
         "raw": "8=FIX.4.4\x0135=8\x0111=V90000021\x01150=F\x01", "at": T0},
    ])
    conn.execute(UNMATCHED.insert(), [{
        "venue": "SIM", "venue_cl_ord_id": "V00000000", "exec_id": "SIM-GHOST-1",
        "reason": "no order for venue ClOrdID V00000000", "fields": {"150": "F", "32": "5"},
        "received_at": T0,
    }])
    conn.execute(KILL_SWITCHES.insert(), [{
        "scope": "account", "key": "DEMO2", "active": True, "reason": "runaway strategy",
        "tripped_by": "alice", "tripped_at": T0, "cleared_by": None, "cleared_at": None,
    }])
    conn.execute(BREAKERS.insert(), [{
        "account": "DEMO2", "tripped": True, "reason": "25 executions in 1s exceeds max 20 per 1s",
        "tripped_at": T0, "reenabled_by": None, "reenabled_at": None,
    }])
