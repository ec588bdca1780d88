"""The acceptor of the bare loop, run as its own process (``python -m oms.bench.bare_acceptor
PORT DATA_DIR``): fills every NewOrderSingle at once from quickfix's callback thread. Prints
``ready`` when listening and stops when its standard input closes."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import quickfix as fix

from oms.bench.fix_session import fill_report, session_settings


class FillEverything(fix.Application):  # type: ignore[misc]  # quickfix has no stubs
    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    def onCreate(self, session_id: Any) -> None:  # noqa: N802 - quickfix's names
        return None

    def onLogon(self, session_id: Any) -> None:  # noqa: N802
        return None

    def onLogout(self, session_id: Any) -> None:  # noqa: N802
        return None

    def toAdmin(self, message: Any, session_id: Any) -> None:  # noqa: N802
        return None

    def fromAdmin(self, message: Any, session_id: Any) -> None:  # noqa: N802
        return None

    def toApp(self, message: Any, session_id: Any) -> None:  # noqa: N802
        return None

    def fromApp(self, message: Any, session_id: Any) -> None:  # noqa: N802
        if message.getHeader().getField(35) == "D":
            fix.Session.sendToTarget(fill_report(message, f"E{next(self._ids)}"), session_id)


def main(argv: list[str]) -> int:
    port, data_dir = int(argv[1]), Path(argv[2])
    data_dir.mkdir(parents=True, exist_ok=True)
    app = FillEverything()
    settings = session_settings(initiator=False, port=port, data_dir=data_dir)
    store = fix.FileStoreFactory(settings)
    acceptor = fix.ThreadedSocketAcceptor(app, store, settings)
    acceptor.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    finally:
        acceptor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
