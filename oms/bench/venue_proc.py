"""The venue simulator of the full path, run as its own process (``python -m
oms.bench.venue_proc CONFIG DATA_DIR``), with timestamps at its FIX boundary.

It records (time.monotonic_ns, a clock shared by every process of the machine) when each
message from the gateway arrives (by the OMS's venue ClOrdID) and when each fill leaves. Prints
``ready``; on the line ``dump PATH`` writes what it recorded since the last dump to PATH (one
``kind ClOrdID ns`` per line) and answers ``dumped``; stops when its standard input closes."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from fix_gateway.venue_sim import VenueSimulator
from fix_gateway.venue_sim.application import VenueApplication
from oms.bench.isolation import VENUE
from oms.settings import load_settings


class RecordingApplication(VenueApplication):
    """The simulator's application, stamping what crosses its FIX boundary."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.received: list[tuple[str, int]] = []
        self.filled: list[tuple[str, int]] = []

    def fromApp(self, message: Any, sessionID: Any) -> None:  # noqa: N802, N803
        self.received.append((message.getField(11), time.monotonic_ns()))
        super().fromApp(message, sessionID)

    def toApp(self, message: Any, sessionID: Any) -> None:  # noqa: N802, N803
        if message.isSetField(150) and message.getField(150) == "F":
            self.filled.append((message.getField(11), time.monotonic_ns()))

    def dump(self, path: Path) -> None:
        received, self.received = self.received, []
        filled, self.filled = self.filled, []
        lines = [f"in {c} {t}" for c, t in received] + [f"fill {c} {t}" for c, t in filled]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    settings = load_settings({"OMS_CONFIG": argv[1]})
    simulator = VenueSimulator(settings, VENUE, data_dir=Path(argv[2]), message_log=False)
    exchange = simulator.exchange
    app = RecordingApplication(exchange.handle, simulator.behaviours, exchange.call_in_order)
    simulator.application = app
    simulator.start()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "dump":
                app.dump(Path(arg))
                print("dumped", flush=True)
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
