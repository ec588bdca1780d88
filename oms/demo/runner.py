"""``oms demo``: prepare the demo's own state, start venue simulator + gateway (+ admin pages),
drive the sample strategy through ``oms.client``, print a summary, stop everything.

Ctrl-C (or SIGTERM) at any point stops the strategy, then the gateway, then the rest; a
second Ctrl-C while stopping is ignored so that nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from oms.client import OmsClientError, StrategyClient
from oms.demo.ideas import ACCOUNTS, Ideas, instruments_from
from oms.demo.isolation import (
    DemoSetupError,
    DemoState,
    clear_redis,
    reset_database,
    reset_vhost,
)
from oms.demo.processes import Child, Supervisor, oms_command, process_start_time, read_pid_file
from oms.demo.report import DatabaseView, WhereToLook, progress_line, summary
from oms.demo.settings_file import PortChoice, write_demo_settings
from oms.demo.strategy import RunPlan, SampleStrategy
from oms.demo.tally import Tally
from oms.settings import Settings, SettingsFile

VENUE = "SIM"
CHILDREN = ("gateway", "venue-sim", "admin")
Echo = Callable[[str], None]


class DemoInterruptedError(Exception):
    """Ctrl-C or SIGTERM."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    name: str = "oms_demo"
    run_dir: Path = Path("var/demo")
    duration_s: float = 60.0
    orders_per_s: float = 60.0
    seed: int = 7
    keep_running: bool = False
    any_free_port: bool = False
    admin_available: bool = False
    admin_options: frozenset[str] = frozenset()
    """Parameter names of ``oms admin`` (it is being built beside the demo: ask, not assume)."""
    user_command_available: bool = False


@dataclass
class _Stack:
    settings: SettingsFile
    ports: dict[str, PortChoice]
    admin: Child | None = None


def run_demo(base: Settings, options: DemoOptions, echo: Echo) -> int:
    """Run the demo; returns the exit status (0: it ran to its end, or was stopped)."""
    run_dir = options.run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    state = DemoState.derive(options.name, database_url=base.database_url,
                             amqp_url=base.amqp_url, redis_url=base.redis_url)
    with _single_demo(run_dir), _signals_interrupt():
        supervisor = Supervisor(run_dir, _child_env(state, run_dir / "oms.toml"))
        try:
            stack = _start(base, options, state, supervisor, echo)
            tally, elapsed, interrupted = _trade(state, stack, options, supervisor, echo)
            if interrupted:
                echo("[demo] interrupted: the run so far (orders still open were left so)")
            echo(summary(tally, elapsed, _database_view(state), _where(state, stack, options)))
            if interrupted:
                return 130
            if options.keep_running:
                _stay_up(supervisor, echo)
            return 0
        except DemoInterruptedError:
            echo("\n[demo] interrupted")
            return 130
        except (DemoSetupError, OmsClientError) as exc:
            echo(f"\n[demo] stopped: {exc}")
            return 1
        finally:
            with _signals_ignored(echo):
                _stop(supervisor, echo)


# -- preparing and starting ---------------------------------------------------------------------


def _start(base: Settings, options: DemoOptions, state: DemoState, supervisor: Supervisor,
           echo: Echo) -> _Stack:
    run_dir = supervisor.run_dir
    echo(f"[demo] its own state: database {state.name}, RabbitMQ vhost {state.vhost}, "
         f"Redis prefix {state.redis_prefix}, files in {_rel(run_dir)}")
    for leftover in supervisor.stop_leftovers(CHILDREN):
        echo(f"[demo] stopped {leftover}, left running by an earlier demo")
    settings, ports = write_demo_settings(base.config_path, run_dir / "oms.toml", VENUE,
                                          any_free_port=options.any_free_port)
    for choice in ports.values():
        if choice.moved:
            echo(f"[demo] port {choice.default} ({choice.role}) is busy: using {choice.chosen}")
    _step(echo, f"fresh database {state.name}", lambda: reset_database(state))
    _step(echo, f"fresh vhost {state.vhost}", lambda: reset_vhost(state))
    _step(echo, f"Redis keys {state.redis_prefix}*", lambda: clear_redis(state))
    shutil.rmtree(run_dir / "data", ignore_errors=True)  # FIX stores: both sides start anew
    _step(echo, "migrate (oms db upgrade)", lambda: _migrate(supervisor))
    stack = _Stack(settings, ports)
    venue_port = ports["venue simulator"].chosen
    supervisor.start("venue-sim", oms_command("venue-sim", "--venue", VENUE))
    _step(echo, f"venue simulator on port {venue_port}",
          lambda: _wait(supervisor, lambda: _listening(venue_port), 30, "the venue simulator"))
    supervisor.start("gateway", oms_command("gateway"))
    health = ports["gateway health"].chosen
    _step(echo, "gateway ready (venue logged on, intake consuming)",
          lambda: _wait(supervisor, lambda: _http_ok(f"http://127.0.0.1:{health}/readyz"), 90,
                        "the gateway"))
    if options.admin_available:
        gunicorn_config = base.config_path.parent / "gunicorn.conf.py"
        stack.admin = _start_admin(supervisor, settings, options, gunicorn_config, echo)
    else:
        echo("[demo] admin pages: `oms admin` is not available in this version, skipped")
    return stack


def _migrate(supervisor: Supervisor) -> None:
    if supervisor.run("migrate", oms_command("db", "upgrade"), timeout=120) != 0:
        raise DemoSetupError(f"migration failed: see {_rel(supervisor.run_dir / 'migrate.log')}")


def _start_admin(supervisor: Supervisor, settings: SettingsFile, options: DemoOptions,
                 gunicorn_config: Path, echo: Echo) -> Child | None:
    bind = settings.admin.bind
    argv = ["admin"]
    if "bind" in options.admin_options:
        argv += ["--bind", bind]
    if "gunicorn_config" in options.admin_options and gunicorn_config.is_file():
        argv += ["--config", str(gunicorn_config.resolve())]
    child = supervisor.start("admin", oms_command(*argv))
    port = int(bind.rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and child.exited is None:
        if _listening(port):
            echo(f"[demo] admin pages on http://{bind}/")
            return child
        time.sleep(0.2)
    echo(f"[demo] the admin pages did not come up (see {_rel(child.log_path)}): "
         "carrying on without them")
    supervisor.stop([child])
    return None


def _step(echo: Echo, what: str, action: Callable[[], object]) -> None:
    started = time.monotonic()
    action()
    echo(f"[demo] {what}: ok ({time.monotonic() - started:.1f}s)")


def _wait(supervisor: Supervisor, ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        dead = supervisor.dead()
        if dead:
            child = dead[0]
            raise DemoSetupError(
                f"{child.name} exited with status {child.exited}; the end of "
                f"{_rel(child.log_path)}:\n{_tail(child.log_path)}"
            )
        if time.monotonic() > deadline:
            raise DemoSetupError(f"{what} was not ready after {timeout:.0f}s: see "
                                 f"{_rel(supervisor.run_dir)}/*.log")
        time.sleep(0.2)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own URL
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _child_env(state: DemoState, settings_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OMS_DATABASE_URL": state.database_url,
        "OMS_AMQP_URL": state.amqp_url,
        "OMS_REDIS_URL": state.redis_url,
        "OMS_REDIS_PREFIX": state.redis_prefix,
        "OMS_CONFIG": str(settings_path),
        "OMS_SECRET_KEY": os.environ.get("OMS_SECRET_KEY") or secrets.token_hex(32),
        "PYTHONUNBUFFERED": "1",
    }


# -- trading ------------------------------------------------------------------------------------


def _trade(state: DemoState, stack: _Stack, options: DemoOptions, supervisor: Supervisor,
           echo: Echo) -> tuple[Tally, float, bool]:
    """Run the sample strategy; returns its tally, how long it ran and whether Ctrl-C
    stopped it (the tally then has what happened until then)."""
    echo(f"[demo] sample strategy: about {options.orders_per_s:.0f} orders/s for "
         f"{options.duration_s:.0f}s on AAPL, MSFT and ZVZZT (DEMO1 x DEMO2), with cancels, "
         "replaces and some deliberate rejects; Ctrl-C stops it")
    show = _progress_printer(echo, supervisor)
    ideas = Ideas(instruments_from(stack.settings.instruments), seed=options.seed)
    started = time.monotonic()
    client = StrategyClient(state.amqp_url, ACCOUNTS, queue="demo-strategy",
                            connection_name="oms-demo-strategy")
    strategy = SampleStrategy(client.connect(), ideas, show)
    interrupted = False
    try:
        strategy.run(RunPlan(options.duration_s, options.orders_per_s))
    except DemoInterruptedError:
        interrupted = True
    finally:
        with contextlib.suppress(Exception):  # interrupted inside pika: close what can be
            client.close()
    if sys.stdout.isatty():
        echo("")
    return strategy.tally, time.monotonic() - started, interrupted


def _progress_printer(echo: Echo, supervisor: Supervisor) -> Callable[[Tally, float, str], None]:
    live = sys.stdout.isatty()
    last_line = [0.0]

    def show(tally: Tally, elapsed: float, phase: str) -> None:
        dead = supervisor.dead()
        if dead:
            raise DemoSetupError(f"{dead[0].name} exited during the run (status "
                                 f"{dead[0].exited}):\n{_tail(dead[0].log_path)}")
        line = progress_line(tally, elapsed, phase)
        if live:
            sys.stdout.write("\r\x1b[2K" + line)
            sys.stdout.flush()
        elif elapsed - last_line[0] >= 5 or phase == "done":
            last_line[0] = elapsed
            echo(line)

    return show


def _database_view(state: DemoState) -> DatabaseView | None:
    from sqlalchemy import func, select

    from oms.store.db import make_engine
    from oms.store.models import Execution, Order, Position

    engine = make_engine(state.database_url, pool_size=1, application_name="oms-demo")
    try:
        with engine.connect() as conn:
            statuses = conn.execute(select(Order.status, func.count()).group_by(Order.status))
            executions = conn.execute(select(func.count()).select_from(Execution)).scalar_one()
            positions = conn.execute(select(Position.account, Position.symbol, Position.net_qty))
            return DatabaseView(
                orders_by_status={str(getattr(s, "value", s)): int(n) for s, n in statuses},
                executions=int(executions),
                positions={(a, s): q for a, s, q in positions if q},
            )
    except Exception as exc:  # the summary still stands without the cross-check
        sys.stderr.write(f"[demo] could not read the OMS's database for the summary: {exc}\n")
        return None
    finally:
        engine.dispose()


def _where(state: DemoState, stack: _Stack, options: DemoOptions) -> WhereToLook:
    engine = stack.settings.engine
    run_dir = _rel(options.run_dir.resolve())
    env = (f"OMS_CONFIG={run_dir}/oms.toml OMS_DATABASE_URL={state.safe_database_url()}")
    if stack.admin is not None:
        admin_url: str | None = f"http://{stack.settings.admin.bind}/"
        note = (f"create a user: {env} oms user add alice --role admin  (password from "
                "OMS_PASSWORD or a prompt)" if options.user_command_available
                else "(no `oms user` command in this version to create a login)")
        if not options.keep_running:
            note += "; run with --keep-running to browse them after the run"
    else:
        admin_url, note = None, "not started (`oms admin` unavailable or did not start)"
    logs = sorted(str(Path(run_dir) / p.name) for p in options.run_dir.resolve().glob("*.log"))
    return WhereToLook(
        admin_url=admin_url, admin_note=note,
        metrics_url=f"http://127.0.0.1:{engine.metrics_port}/metrics",
        health_url=f"http://127.0.0.1:{engine.health_port}/readyz",
        logs=logs,
        database=f"psql -h 127.0.0.1 -U postgres {state.name}   (orders, order_events, "
                 "executions, positions)",
        settings_file=f"{run_dir}/oms.toml",
        extra=() if options.keep_running else
        ("(the processes have stopped; `oms demo --keep-running` leaves them up)",),
    )


# -- staying up and stopping --------------------------------------------------------------------


def _stay_up(supervisor: Supervisor, echo: Echo) -> None:
    echo("[demo] everything keeps running for you to look around: Ctrl-C stops it all")
    try:
        while True:
            dead = supervisor.dead()
            if dead:
                echo(f"[demo] {dead[0].name} exited (status {dead[0].exited}): stopping")
                return
            time.sleep(0.5)
    except DemoInterruptedError:
        echo("")  # the way out of this phase, not a failure


def _stop(supervisor: Supervisor, echo: Echo) -> None:
    if not supervisor.children:
        return
    echo("[demo] stopping: " + ", ".join(c.name for c in supervisor.children))
    gateway = [c for c in supervisor.children if c.name == "gateway"]
    supervisor.stop(gateway, timeout=20)  # first, so it does not see its venue vanish
    supervisor.stop(timeout=10)
    echo("[demo] stopped")


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise ``DemoInterruptedError`` in the main thread."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise DemoInterruptedError(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_ignored(echo: Echo) -> Iterator[None]:
    def patience(signum: int, frame: FrameType | None) -> None:
        echo("[demo] still stopping the processes, a moment")

    previous = {sig: signal.signal(sig, patience) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _single_demo(run_dir: Path) -> Iterator[None]:
    """One demo per run directory at a time: a second one would stop the first's processes."""
    pid_path = run_dir / "demo.pid"
    pid, started = read_pid_file(pid_path)
    if pid is not None and pid != os.getpid() and started is not None \
            and process_start_time(pid) == started:
        raise SystemExit(f"[demo] another demo is running (pid {pid}) in {_rel(run_dir)}: "
                         "stop it first (Ctrl-C in its terminal)")
    pid_path.write_text(f"{os.getpid()} {process_start_time(os.getpid()) or ''}\n")
    try:
        yield
    finally:
        pid_path.unlink(missing_ok=True)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _rel(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)
