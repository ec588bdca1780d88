"""quickfix settings and messages of the bare loop: FIX 4.4, FileStore, data dictionary
validation on both sides (as the gateway and the venue simulator use), no message log, fields
set and read by tag number."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import quickfix as fix

BEGIN_STRING = "FIX.4.4"
INITIATOR_COMP_ID = "BENCH"
ACCEPTOR_COMP_ID = "BAREVENUE"


def data_dictionary() -> str:
    return str(Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml")


def session_id(initiator: bool) -> Any:
    ours, theirs = ((INITIATOR_COMP_ID, ACCEPTOR_COMP_ID) if initiator
                    else (ACCEPTOR_COMP_ID, INITIATOR_COMP_ID))
    return fix.SessionID(BEGIN_STRING, ours, theirs)


def session_settings(*, initiator: bool, port: int, data_dir: Path) -> Any:
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    values = {
        "ConnectionType": "initiator" if initiator else "acceptor",
        "FileStorePath": str(data_dir / ("initiator" if initiator else "acceptor")),
        "NonStopSession": "Y",
        "UseDataDictionary": "Y",
        "DataDictionary": data_dictionary(),
        "ValidateUserDefinedFields": "N",
        "PersistMessages": "Y",
        "ResetOnLogon": "Y",
        "SocketNodelay": "Y",
        "HeartBtInt": "30",
    }
    if initiator:
        values |= {"SocketConnectHost": "127.0.0.1", "SocketConnectPort": str(port),
                   "ReconnectInterval": "1"}
    else:
        values |= {"SocketAcceptPort": str(port), "SocketReuseAddress": "Y"}
    for key, value in values.items():
        defaults.setString(key, value)
    settings.set(defaults)
    settings.set(session_id(initiator), fix.Dictionary())
    return settings


def fix_time() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y%m%d-%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


def new_order_single(cl_ord_id: str, side: str) -> Any:
    message = fix.Message()
    header = message.getHeader()
    header.setField(8, BEGIN_STRING)
    header.setField(35, "D")
    for tag, value in ((11, cl_ord_id), (1, "BENCH1"), (21, "1"), (55, "AAPL"), (54, side),
                       (60, fix_time()), (38, "100"), (40, "2"), (44, "190.01"), (59, "0")):
        message.setField(tag, value)
    return message


def fill_report(order: Any, exec_id: str) -> Any:
    """A full fill of ``order`` (a NewOrderSingle) at its limit price."""
    get = order.getField
    quantity, price = get(38), get(44)
    message = fix.Message()
    header = message.getHeader()
    header.setField(8, BEGIN_STRING)
    header.setField(35, "8")
    for tag, value in ((37, exec_id), (11, get(11)), (17, exec_id), (150, "F"), (39, "2"),
                       (55, get(55)), (54, get(54)), (38, quantity), (32, quantity),
                       (31, price), (151, "0"), (14, quantity), (6, price),
                       (60, fix_time())):
        message.setField(tag, value)
    return message
