"""A FIX client built on quickfix (an initiator), for tests of the gateway's client sessions.

It validates everything it receives against quickfix's data dictionary: a message it would
reject shows up in ``session_rejects`` (a session Reject it sent), checked after each test.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import quickfix as fix

from fix_gateway.session_settings import data_dictionary
from fix_gateway.wire import parse_raw
from tests.support.raw_fix import now_text

Fields = dict[int, str]


class QuickfixClient(fix.Application):  # type: ignore[misc]
    def __init__(self, password: str | None = None) -> None:
        super().__init__()
        self.password = password
        self.inbox: queue.Queue[Fields] = queue.Queue()
        self.logged_on = threading.Event()
        self.session_rejects: list[Fields] = []
        self.session_id: Any = None

    def onCreate(self, sessionID: Any) -> None:  # noqa: N803
        self.session_id = sessionID

    def onLogon(self, sessionID: Any) -> None:  # noqa: N803
        self.logged_on.set()

    def onLogout(self, sessionID: Any) -> None:  # noqa: N803
        self.logged_on.clear()

    def toAdmin(self, message: Any, sessionID: Any) -> None:  # noqa: N803
        fields = parse_raw(message.toString())
        if fields.get(35) == "A" and self.password is not None:
            message.setField(554, self.password)
        if fields.get(35) == "3":  # we rejected something the gateway sent
            self.session_rejects.append(fields)

    def fromAdmin(self, message: Any, sessionID: Any) -> None:  # noqa: N803
        return None

    def toApp(self, message: Any, sessionID: Any) -> None:  # noqa: N803
        return None

    def fromApp(self, message: Any, sessionID: Any) -> None:  # noqa: N803
        self.inbox.put(parse_raw(message.toString()))

    def send(self, msg_type: str, fields: dict[int, str]) -> None:
        message = fix.Message()
        message.getHeader().setField(35, msg_type)
        for tag, value in fields.items():
            message.setField(tag, value)
        if msg_type in ("D", "F", "G") and 60 not in fields:
            message.setField(60, now_text())
        assert fix.Session.sendToTarget(message, self.session_id)

    def wait_for(self, predicate: Callable[[Fields], bool], timeout: float = 15.0) -> Fields:
        deadline = time.monotonic() + timeout
        seen: list[Fields] = []
        while time.monotonic() < deadline:
            try:
                message = self.inbox.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if predicate(message):
                return message
            seen.append(message)
        raise AssertionError(f"no matching message within {timeout}s; saw {seen}")

    def reports_for(self, cl_ord_id: str, count: int) -> list[Fields]:
        return [self.wait_for(lambda m: m.get(11) == cl_ord_id) for _ in range(count)]


class QuickfixInitiator:
    """Logs on as ``sender`` to the gateway's client port (sequence numbers reset at logon)."""

    def __init__(self, begin_string: str, sender: str, port: int, path: Path, *,
                 password: str | None = None) -> None:
        self.client = QuickfixClient(password)
        settings = fix.SessionSettings()
        defaults = fix.Dictionary()
        for key, value in {
            "ConnectionType": "initiator", "SocketConnectHost": "127.0.0.1",
            "SocketConnectPort": str(port), "HeartBtInt": "30", "ReconnectInterval": "1",
            "StartTime": "00:00:00", "EndTime": "00:00:00", "ResetOnLogon": "Y",
            "FileStorePath": str(path / "store"), "UseDataDictionary": "Y",
            "DataDictionary": data_dictionary(begin_string),
        }.items():
            defaults.setString(key, value)
        settings.set(defaults)
        settings.set(fix.SessionID(begin_string, sender, "OMS"), fix.Dictionary())
        store = fix.FileStoreFactory(settings)
        self._keep: tuple[Any, ...] = (settings, store)
        self._initiator: Any = fix.SocketInitiator(self.client, store, settings)
        self._initiator.start()
        assert self.client.logged_on.wait(15), f"{sender} did not log on"

    def stop(self) -> None:
        # Destroy the quickfix objects now: their sessions stay registered process-wide until
        # then, and would shadow a later test's session of the same SessionID.
        if self._initiator is not None:
            self._initiator.stop(True)
        self._initiator = None
        self._keep = ()
