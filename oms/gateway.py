"""The composition root of ``oms gateway``: builds every adapter, wires them to the core, runs.

Nothing here connects at import. Order of start: database (advisory lock) -> Redis (reference
prices seeded) -> core state loaded -> outbox relay -> venue sessions -> FIX client acceptor ->
operator channel -> AMQP intake (last, so no command arrives before the core can take it). Stop
is the reverse, except that clients stop being accepted right after the AMQP intake stops.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

import quickfix as fix

from fix_gateway.client_acceptor import FixClientGateway
from fix_gateway.client_reports import FixClientReports
from fix_gateway.inbound_log import CheckingLogFactory, inbound_checks
from fix_gateway.session_control import SessionControl
from fix_gateway.session_settings import venue_initiator_settings, venue_session_key
from fix_gateway.venue_application import (
    VenueApplication,
    VenueSender,
    venue_report_from_fields,
)
from oms.bus.intake_consumer import IntakeConsumer, ack_all, to_core
from oms.bus.outbox_relay import OutboxRelay
from oms.bus.topology import DEFAULT_ROUTE, IntakeRoute, declare_topology_at
from oms.cache import CacheUnavailable, RedisCache, status_component
from oms.domain.risk import KillSwitchEntry
from oms.engine.core import Clock, Core, utc_now
from oms.engine.handlers import Context, Handlers
from oms.engine.ids import IdAllocator
from oms.engine.recorded_keys import RecordedKeys
from oms.engine.risk_setup import account_limits, instruments
from oms.engine.state import CoreState
from oms.engine.trading_days import ClOrdIdScopes
from oms.engine.venue_outbound import OutboundSenders
from oms.engine.venue_throttle import OutboundThrottle
from oms.metrics import ClOrdIdFilterCollector, GatewayMetrics, HealthServer
from oms.settings import Settings
from oms.store.db import make_engine
from oms.store.gateway_lock import GatewayAlreadyRunningError, GatewayLock
from oms.store.models import FixSessionWatermark
from oms.store.operator_channel import OperatorCommandListener
from oms.store.order_store import DatabaseOrderStore
from oms.store.purge import RetentionPurge
from oms.supervision import ThreadSupervisor

log = logging.getLogger(__name__)


class ReferencePrices:
    """Reference prices read from Redis once a second into memory: the order path does a dict
    lookup, never a network round trip. If Redis is unreachable the last prices are kept with
    their as-of times, so the risk check's staleness limit fails closed as they age."""

    def __init__(self, cache: RedisCache) -> None:
        self._cache = cache
        self.prices: dict[str, tuple[Decimal, datetime]] = {}
        self.available = False

    def refresh(self) -> None:
        try:
            self.prices = self._cache.reference_prices()
            self.available = True
        except CacheUnavailable as exc:
            if self.available:
                log.error("Redis unavailable, reference prices frozen: %s", exc)
            self.available = False

    def get(self, symbol: str) -> tuple[Decimal, datetime] | None:
        return self.prices.get(symbol)


CORE_SLOW_S = 10.0
"""A core that has not turned for this long is reported not alive and not ready."""
CORE_STALL_LIMIT_S = 120.0
"""A core stuck this long (a database call that never returns: PostgreSQL's host is up but the
server says nothing, so no TCP timeout fires) ends the gateway, exit status 1. Far above
``statement_timeout`` (30 s) and the TCP timeouts, below which a stuck call fails by itself."""


class Gateway:
    def __init__(self, settings: Settings, *, redis_prefix: str | None = None,
                 name: str | None = None, clock: Clock = utc_now) -> None:
        """``settings``: as one shard runs them (``Settings.for_shard``). ``name`` (default:
        the shard's) names the advisory lock and the database connections."""
        self.settings = settings
        f = settings.file
        name = name or settings.shard
        self.shard = settings.shard
        sharded = bool(f.shards)
        self.shard_label = self.shard if sharded else None
        """The shard's name where it labels things (metrics, Redis keys), None without shards."""
        self.status_component = status_component(self.shard_label)
        """The name of this gateway's status in Redis (the admin pages show one per shard)."""
        self.route = IntakeRoute.of_shard(
            self.shard, (a.name for a in f.accounts),
            (a for s in f.shards for a in s.accounts)) if sharded else DEFAULT_ROUTE
        self.engine = make_engine(settings.database_url, application_name=f"oms-gateway-{name}")
        self.store = DatabaseOrderStore(self.engine)
        self._recorded_keys = RecordedKeys()
        """The ClOrdIDs on record (``recorded_keys``): the core's, kept across its reloads."""
        self.lock = GatewayLock(self.engine, name)
        self.metrics = GatewayMetrics()
        self.metrics.registry.register(ClOrdIdFilterCollector(lambda: self._recorded_keys))
        self.cache = RedisCache(settings.redis_url, prefix=redis_prefix or settings.redis_prefix)
        self.references = ReferencePrices(self.cache)
        self.stop_event = threading.Event()
        self.fatal = threading.Event()
        """Set when the gateway must stop by itself (its lock was taken by another copy)."""
        self.relay = OutboxRelay(settings.amqp_url, self.engine, shard=self.shard,
                                 connection_name=f"oms outbox relay {self.shard}")
        venues = list(f.venues)
        self.venue_keys = {v.name: venue_session_key(v) for v in venues}
        self.sender = VenueSender(self.venue_keys)
        self.outbound = OutboundSenders(  # each venue's sends, paced, off the commit thread
            {v.name: v.max_messages_per_s for v in venues}, self.sender,
            drain_s=max((v.rate_limit_hold_ms for v in venues), default=0) / 1000 + 1.0)
        defaults, per_account = account_limits(f)
        self.clients = FixClientGateway(settings, FixClientReports())
        self.session_control = SessionControl(self.venue_keys, self.clients.keys)
        self.core = Core(
            engine=self.engine, handlers_factory=self._handlers,
            capacity=f.engine.inbox_capacity, batch_max=f.engine.batch_max,
            metrics=self.metrics, on_outbox=self.relay.handoff,
            clients=self.clients.sessions, clock=clock, settle_together=ack_all,
            after_failed_commit=self.relay.wake, shard=self.shard,
            accounts=frozenset(a.name for a in f.accounts) if sharded else None,
        )
        self.purge = RetentionPurge(self.engine, f.engine.client_requests_retention_days)
        self._context_parts: dict[str, Any] = {
            "instruments": instruments(f), "file_default_limits": defaults,
            "file_account_limits": per_account,
        }
        self.intake = IntakeConsumer(
            settings.amqp_url, to_core(self.core.put), prefetch=f.engine.amqp_prefetch,
            max_delivery_attempts=f.engine.max_delivery_attempts, route=self.route,
            connection_name=f"oms intake {self.shard}",
        )
        self.operators = OperatorCommandListener(settings.database_url, self.core.put,
                                                 shard=self.shard)
        self._initiator: Any = None
        self._quickfix: tuple[Any, ...] = ()
        self._threads: list[threading.Thread] = []
        self.health: HealthServer | None = None
        self.supervisor = ThreadSupervisor()
        self.core_stall_limit_s = CORE_STALL_LIMIT_S
        """How long the core may go without turning before the gateway gives up on it."""
        """Watches the critical threads: one that dies makes the gateway stop, exit 1."""

    def _handlers(self, state: CoreState) -> Handlers:
        f = self.settings.file
        # the entitlement check runs for every order: a lookup, not a walk of the settings
        amqp_accounts = {u.name: f.accounts_of_amqp_user(u.name) for u in f.amqp_users}
        nothing: frozenset[str] = frozenset()
        ctx = Context(
            store=self.store,
            user_accounts=self.clients.user_accounts(lambda u: amqp_accounts.get(u, nothing)),
            default_user=f.engine.default_amqp_user,
            known_accounts=frozenset(a.name for a in f.accounts),
            venue_begin_strings={v.name: v.begin_string for v in f.venues},
            venue=self.sender,
            reference_price=self.references.get,
            translate=venue_report_from_fields,
            mirror_kill_switches=self._mirror_kill_switches,
            venue_hours={v.name: v.hours for v in f.venues},
            request_timeout_s={v.name: float(v.request_timeout_s) for v in f.venues},
            resetting_venues=frozenset(
                v.name for v in f.venues
                if v.reset_on_logon or v.reset_on_logout or v.reset_on_disconnect),
            cl_ord_id_scopes=ClOrdIdScopes.of_sessions(
                (c.session_name, c.hours.zone, c.cl_ord_id_scope == "day")
                for c in f.fix_clients),
            metrics=self.metrics,
            throttles={
                v.name: OutboundThrottle(v.max_messages_per_s, v.rate_limit_hold_ms / 1000,
                                         time.monotonic())
                for v in f.venues
            },
            outbound=self.outbound,
            order_ids=IdAllocator("O", self.store.reserve_order_ids),
            venue_ids=IdAllocator("V", self.store.reserve_venue_ids),
            session_control=self.session_control,
            **self._context_parts,
        )
        handlers = Handlers(ctx, state)
        # the ClOrdIDs on record, for the duplicate check: one filter kept across the core's
        # reloads (``recorded_keys``), loaded with the state (a failure retried with it), not
        # in the first order's batch
        if self._recorded_keys.outgrown:
            self._recorded_keys = RecordedKeys()
        handlers.requests.known = self._recorded_keys
        handlers.requests.load(self.store)
        return handlers

    def _mirror_kill_switches(self, entries: tuple[KillSwitchEntry, ...]) -> None:
        try:
            self.cache.mirror_kill_switches(
                entries, shard=self.shard_label)
        except CacheUnavailable as exc:  # Postgres holds the truth; Redis is only a mirror
            log.warning("kill-switch mirror not updated: %s", exc)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start everything; on any failure stop what was started (and release the lock)."""
        self.supervisor.before_start()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.supervisor.after_start()

    def fatal_reason(self) -> str | None:
        """Why this gateway must stop by itself (a critical thread died, or the core has been
        stuck longer than ``core_stall_limit_s``), or None."""
        death = self.supervisor.death()
        if death is None and self.core.ready.is_set() and self.core.heartbeat_ns:
            stuck_s = self.core_heartbeat_age_s()
            if stuck_s > self.core_stall_limit_s:
                death = (f"the core has not turned for {stuck_s:.0f} s (a database call that "
                         f"never returns: the server does not answer)")
        return death

    def core_heartbeat_age_s(self) -> float:
        return (time.monotonic_ns() - self.core.heartbeat_ns) / 1e9

    def _start(self) -> None:
        f = self.settings.file
        self.lock.acquire()
        self.cache.start()
        # The settings file is the reference-price source of the default configuration;
        # with a market-data feed writing Redis, seed with overwrite=False instead.
        self.cache.seed_reference_prices(f.instruments, datetime.now(UTC), overwrite=True)
        self.references.refresh()
        declare_topology_at(self.settings.amqp_url, self.route)
        self.relay.start()
        self.outbound.start()
        core_thread = threading.Thread(
            target=self.core.run, args=(self.stop_event,), name="oms-core", daemon=True
        )
        core_thread.start()
        self._threads.append(core_thread)
        if not self.core.ready.wait(60):
            raise RuntimeError("the core did not load its state within 60s")
        self._start_venues()
        self._wait_for_venues(timeout_s=15.0)
        self.clients.start(self.core.put, self._watermarks("client:"))
        self.operators.start()
        self.intake.start()
        housekeeping = threading.Thread(target=self._housekeeping, name="oms-housekeeping",
                                        daemon=True)
        housekeeping.start()
        self._threads.append(housekeeping)
        self.metrics.serve(f.engine.metrics_port, f.engine.listen_address,
                           shard=self.shard_label)
        if f.engine.health_port:
            self.health = HealthServer(f.engine.health_port, self._alive, self._ready,
                                       f.engine.listen_address)
            self.health.start()
        log.info("gateway started")

    def _wait_for_venues(self, timeout_s: float) -> None:
        """Let venue sessions log on before commands flow: after a restart the queue holds
        commands that would otherwise all be rejected as "venue not connected"."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(self.sender.is_logged_on(v) for v in self.venue_keys):
                return
            time.sleep(0.05)
        down = [v for v in self.venue_keys if not self.sender.is_logged_on(v)]
        log.warning("starting without venue(s) %s: their orders are rejected until they log on",
                    ", ".join(down))

    def _start_venues(self) -> None:
        f = self.settings.file
        watermarks = self._watermarks()
        checks = inbound_checks((self.venue_keys[v.name], v) for v in f.venues)
        app = VenueApplication(
            {key: name for name, key in self.venue_keys.items()},
            self.session_control.watching(self.core.put),
            {v: n + 1 for v, n in watermarks.items()},
            inbound=checks,
        )
        self.sender.follow(app)
        data_dir = Path(f.engine.data_dir)
        today = datetime.now(UTC).date()
        session_settings = venue_initiator_settings(list(f.venues), data_dir, today)
        store = fix.FileStoreFactory(session_settings)
        logs = CheckingLogFactory(session_settings, checks)
        initiator = fix.SocketInitiator(app, store, session_settings, logs)
        self._quickfix = (app, store, logs, session_settings)
        initiator.start()
        self._initiator = initiator

    def _watermarks(self, prefix: str = "venue:") -> dict[str, int]:
        from sqlalchemy import select

        table = FixSessionWatermark.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(table.c.session_id, table.c.last_inbound_seq))
            return {
                r.session_id.removeprefix(prefix): int(r.last_inbound_seq)
                for r in rows if r.session_id.startswith(prefix)
            }

    def _housekeeping(self) -> None:
        while not self.stop_event.wait(1.0):
            try:
                self.lock.verify()
            except GatewayAlreadyRunningError as exc:
                log.critical("lost the gateway lock to another process (%s): stopping", exc)
                self.fatal.set()
                return
            self.references.refresh()
            self.purge.step(datetime.now(UTC))
            self.metrics.inbox_depth.set(self.core.inbox_depth())
            status = {
                "heartbeat": datetime.now(UTC).isoformat(),
                "inbox_depth": str(self.core.inbox_depth()),
                "last_batch": str(self.core.last_batch_size),
            }
            for venue in self.venue_keys:
                up = self.sender.is_logged_on(venue)
                self.metrics.session_state.labels(session=f"venue:{venue}").set(1 if up else 0)
                sender, target = self.sender.sequence_numbers(venue)
                state = self.session_control.state(f"venue:{venue}", up)
                status[f"venue:{venue}"] = f"{state} {sender} {target}"
            for client, (up, sender, target) in self.clients.status().items():
                self.metrics.session_state.labels(session=f"client:{client}").set(1 if up else 0)
                state = self.session_control.state(f"client:{client}", up)
                status[f"client:{client}"] = f"{state} {sender} {target}"
            self.metrics.outbox_retrying.set(self.relay.retrying)
            self.metrics.outbox_parked.set(self.relay.parked_count)
            status["outbox_retrying"] = str(self.relay.retrying)
            status["outbox_parked"] = str(self.relay.parked_count)
            lag = self._outbox_lag()
            if lag is not None:
                self.metrics.outbox_lag.set(lag)
                status["outbox_lag"] = str(lag)
            with contextlib.suppress(CacheUnavailable):
                self.cache.publish_status(self.status_component, status)

    def _outbox_lag(self) -> int | None:
        """Events committed but not yet published (the partial index keeps this cheap)."""
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect() as conn:
                return int(conn.execute(text(
                    "SELECT count(*) FROM outbox WHERE shard = :shard AND published_at IS NULL "
                    "AND parked_reason IS NULL"), {"shard": self.shard}).scalar_one())
        except SQLAlchemyError:
            return None

    def wait_until_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready()[0]:
                return True
            time.sleep(0.1)
        return False

    def _alive(self) -> tuple[bool, dict[str, object]]:
        age_s = self.core_heartbeat_age_s()
        death = self.fatal_reason()
        return age_s < CORE_SLOW_S and death is None, {"core_heartbeat_age_s": round(age_s, 3),
                                                       "fatal": death}

    def _ready(self) -> tuple[bool, dict[str, object]]:
        venues = {v: self.sender.is_logged_on(v) for v in self.venue_keys}
        consuming = self.intake.is_consuming
        death = self.fatal_reason()
        turning = self.core_heartbeat_age_s() < CORE_SLOW_S
        ok = (self.core.ready.is_set() and consuming and all(venues.values()) and turning
              and death is None)
        return ok, {"venues": venues, "amqp_consuming": consuming, "core_turning": turning,
                    "reference_prices": self.references.available, "fatal": death}

    def stop(self) -> None:
        """Stop whatever was started, in reverse order; safe after a failed or partial start."""
        log.info("gateway stopping")
        self.supervisor.release()
        self.stop_event.set()
        for step in (
            self.intake.stop, self.clients.stop_accepting, self.operators.stop,
            self._join_threads, self.outbound.stop, self.clients.stop, self._stop_venues,
            self.relay.stop,
            self._stop_health, self.cache.close, self.lock.release, self.engine.dispose,
        ):
            try:
                step()
            except Exception:  # keep stopping the rest: the lock must be released
                log.exception("while stopping: %s failed", getattr(step, "__name__", step))
        log.info("gateway stopped")

    def _join_threads(self) -> None:
        for thread in self._threads:
            thread.join(10)
        self._threads = []

    def _stop_venues(self) -> None:
        if self._initiator is not None:
            self._initiator.stop()
            self._initiator = None
            self._quickfix = ()  # release quickfix's session registry for a later start

    def _stop_health(self) -> None:
        if self.health is not None:
            self.health.stop()
            self.health = None


def run_gateway(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then finish the current batch and stop cleanly: exit
    status 0. A gateway that must stop by itself (a critical thread died, or another copy took
    its lock) stops the same way and returns 1, so that its supervisor starts it again."""
    gateway = Gateway(settings)
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gateway.start()
    status = 0
    try:
        while not done.wait(0.5):
            if gateway.fatal.is_set():  # the lock was lost: logged where it was found
                status = 1
                break
            death = gateway.fatal_reason()
            if death is not None:
                log.critical("%s: stopping, exit status 1", death)
                status = 1
                break
    finally:
        gateway.stop()
    return status
