"""The venue simulator process (`oms venue-sim`): the composition root.

Builds the matching engine from the settings file's instruments for one venue, adds the
seeded market maker where ``simulated_liquidity`` is set, and accepts FIX sessions with
quickfix. Day orders expire at each close of the venue's trading hours.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import quickfix as fix

from fix_gateway.venue_sim.application import ReportSender, VenueApplication
from fix_gateway.venue_sim.behaviours import Behaviours
from fix_gateway.venue_sim.exchange import Exchange
from fix_gateway.venue_sim.market_maker import LiquidityProfile, MarketMaker
from fix_gateway.venue_sim.matching import Clock, MatchingEngine
from fix_gateway.venue_sim.model import InstrumentRules
from fix_gateway.venue_sim.session_config import (
    SessionSpec,
    build_session_settings,
    venue_sessions,
)
from fix_gateway.venue_sim.timers import Timers
from fix_gateway.venue_sim.trading_hours import next_close
from oms.settings import Settings

log = logging.getLogger(__name__)

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def run_prefix(now_ms: int | None = None) -> str:
    """A prefix for OrderIDs and ExecIDs that differs from run to run (the time the simulator
    started, in base 36), so that IDs stay unique across restarts as the OMS requires."""
    value = int(time.time() * 1000) if now_ms is None else now_ms
    digits = ""
    while value:
        value, rest = divmod(value, 36)
        digits = _BASE36[rest] + digits
    return (digits or "0") + "-"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class VenueSimulator:
    """A FIX exchange for one venue of the settings file, started and stopped in-process.

    ``port`` overrides the venue's port and ``extra_sessions`` adds acceptor sessions beside
    the venue's own (tests use them for a second OMS CompID or a FIX 4.2 peer).
    """

    def __init__(
        self,
        settings: Settings,
        venue: str = "SIM",
        *,
        seed: int = 1,
        behaviours: Behaviours | None = None,
        data_dir: Path | None = None,
        port: int | None = None,
        extra_sessions: Sequence[SessionSpec] = (),
        liquidity: LiquidityProfile | None = None,
        clock: Clock = _utc_now,
        id_prefix: str | None = None,
        message_log: bool = True,
    ) -> None:
        self.venue = settings.file.venue(venue)
        self.data_dir = data_dir or Path(settings.file.engine.data_dir) / "venue-sim" / venue
        self.sessions: tuple[SessionSpec, ...] = (
            *venue_sessions(self.venue, port),
            *extra_sessions,
        )
        self.behaviours = behaviours or Behaviours()
        self._clock = clock
        self._message_log = message_log
        instruments = [i for i in settings.file.instruments if i.venue == venue]
        self.engine = MatchingEngine(
            [InstrumentRules(i.symbol, i.tick_size, i.lot_size) for i in instruments],
            clock,
            id_prefix=run_prefix() if id_prefix is None else id_prefix,
        )
        for inst in instruments:
            if inst.simulated_liquidity and inst.reference_price is not None:
                maker = MarketMaker(
                    inst.symbol,
                    inst.reference_price,
                    inst.tick_size,
                    inst.lot_size,
                    seed,
                    liquidity,
                )
                self.engine.add_market_maker(maker)
        self.timers = Timers()
        self.exchange = Exchange(
            self.engine,
            ReportSender(self.sessions),
            behaviours=self.behaviours,
            seed=seed,
            timers=self.timers,
        )
        self.application = VenueApplication(
            self.exchange.handle, self.behaviours, self.exchange.call_in_order
        )
        # quickfix objects must outlive the acceptor: keep Python references to all of them.
        self._quickfix: tuple[Any, ...] = ()
        self._acceptor: Any = None

    @property
    def port(self) -> int:
        return self.sessions[0].port

    def start(self) -> None:
        if self._acceptor is not None:
            raise RuntimeError("venue simulator already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = build_session_settings(
            self.sessions, self.data_dir, self.venue.hours, now=self._clock()
        )
        store = fix.FileStoreFactory(settings)
        logs = fix.FileLogFactory(settings) if self._message_log else None
        acceptor = fix.ThreadedSocketAcceptor(self.application, store, settings, logs)
        self._quickfix = (settings, store, logs)
        self.timers.start()
        self.exchange.start()
        self._schedule_close()
        acceptor.start()
        self._acceptor = acceptor
        log.info(
            "venue simulator %s accepting %s on port %d; symbols %s",
            self.venue.name,
            ", ".join(s.key for s in self.sessions),
            self.port,
            ", ".join(sorted(self.engine.symbols)),
        )

    def stop(self) -> None:
        """Stop accepting and drop every quickfix object: quickfix keeps sessions in a
        process-wide registry until the acceptor is destroyed, and a stale session with the
        same SessionID would shadow the sessions of a simulator started later."""
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            acceptor.stop(True)
        # The engine thread may still be sending: stop it before the sessions are destroyed.
        self.timers.stop()
        self.exchange.stop()
        del acceptor
        self._quickfix = ()

    def __enter__(self) -> VenueSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def expire_day_orders(self) -> int:
        """End the trading day now: expire resting DAY orders and report it to their owners."""
        return self.exchange.expire_day_orders()

    def logged_on(self) -> frozenset[str]:
        """Session keys (``FIX.4.4:SIM->OMS``) that are logged on now."""
        return self.application.logged_on()

    def _schedule_close(self, after: datetime | None = None) -> None:
        now = self._clock()
        close = next_close(self.venue.hours, max(now, after) if after else now)
        log.info("day orders expire at the next close, %s", close.isoformat())
        self.timers.call_later((close - now).total_seconds(), lambda: self._at_close(close))

    def _at_close(self, close: datetime) -> None:
        self.exchange.expire_day_orders(wait_s=None)
        self._schedule_close(after=close)


def run_venue_sim(
    settings: Settings,
    venue: str = "SIM",
    seed: int = 1,
    behaviours: Behaviours | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the simulator until ``stop`` is set or the process gets SIGTERM or SIGINT."""
    stop = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("signal %d: stopping the venue simulator", signum)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
    simulator = VenueSimulator(settings, venue, seed=seed, behaviours=behaviours)
    try:
        simulator.start()
        while not stop.wait(0.5):
            pass
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
