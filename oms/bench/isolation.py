"""The benchmark's own state: a PostgreSQL database, a RabbitMQ vhost and a Redis key prefix
named after it (``oms_bench`` by default), made afresh for every run, never the demo's, a test
run's or a developer's. The settings file is the base file with free ports and the run's data
directory; venues, instruments, accounts and limits are the base file's."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from oms.bench.ports import free_port
from oms.demo.isolation import DemoState, clear_redis, reset_database, reset_vhost
from oms.demo.settings_file import set_values
from oms.settings import Settings, SettingsFile, parse_settings_file

VENUE = "SIM"
SYMBOL = "AAPL"
ACCOUNTS = ("DEMO1", "DEMO2")


class BenchSetupError(Exception):
    """What the benchmark needs is missing; the message says what."""


@dataclass(frozen=True, slots=True)
class BenchStack:
    state: DemoState
    config_path: Path
    file: SettingsFile
    run_dir: Path

    @property
    def venue_port(self) -> int:
        return self.file.venue(VENUE).port

    @property
    def health_port(self) -> int:
        return self.file.engine.health_port

    @property
    def metrics_port(self) -> int:
        return self.file.engine.metrics_port


def prepare(settings: Settings, name: str, run_dir: Path) -> BenchStack:
    """Fresh database (migrated), vhost and Redis keys; the bench settings file."""
    from oms.store.db import upgrade

    _check_base(settings.file)
    state = DemoState.derive(name, database_url=settings.database_url,
                             amqp_url=settings.amqp_url, redis_url=settings.redis_url)
    reset_database(state)
    upgrade(state.database_url)
    reset_vhost(state)
    clear_redis(state)
    for stale in ("data", "venue-sim"):  # FIX stores of an earlier run: start afresh too
        shutil.rmtree(run_dir / stale, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "oms-bench.toml"
    text = _settings_text(settings, run_dir)
    config_path.write_text(text, encoding="utf-8")
    return BenchStack(state, config_path, parse_settings_file(text, config_path), run_dir)


def _check_base(f: SettingsFile) -> None:
    try:
        f.venue(VENUE)
    except KeyError:
        raise BenchSetupError(f"the settings file has no venue {VENUE}") from None
    instrument = f.instrument(SYMBOL)
    if instrument is None or instrument.venue != VENUE or not instrument.simulated_liquidity:
        raise BenchSetupError(f"the bench trades {SYMBOL} on {VENUE} with simulated liquidity")
    names = {a.name for a in f.accounts}
    if not set(ACCOUNTS) <= names:
        raise BenchSetupError(f"the bench trades accounts {', '.join(ACCOUNTS)}")


def _settings_text(settings: Settings, run_dir: Path) -> str:
    f = settings.file
    venue_index = next(i for i, v in enumerate(f.venues) if v.name == VENUE)
    values: dict[tuple[str | int, ...], str] = {
        ("engine", "data_dir"): _quoted(str(run_dir / "data")),
        ("engine", "metrics_port"): str(free_port()),
        ("engine", "health_port"): str(free_port()),
        ("venues", venue_index, "port"): str(free_port()),
    }
    for i in range(len(f.fix_clients)):
        values[("fix_clients", i, "port")] = str(free_port())
    return set_values(settings.config_path.read_text(encoding="utf-8"), values)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
