"""The ``oms`` command. Each subcommand builds what it needs through the composition root;
nothing connects at import."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from oms.admin.cli_commands import admin_command, user_group
from oms.fix_commands import FIX_SESSION_COMMANDS
from oms.settings import ConfigError, Settings, load_settings

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="oms")
def main() -> None:
    """FIX gateway and order management system."""


@main.group()
def db() -> None:
    """Database schema (alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.option("--create/--no-create", default=True, show_default=True,
              help="create the database first if it does not exist")
def db_upgrade(revision: str, create: bool) -> None:
    """Apply the schema migrations to OMS_DATABASE_URL."""
    from oms.store.db import create_database_if_missing, upgrade

    settings = _settings()
    if create and _run_db(lambda: create_database_if_missing(settings.database_url),
                          settings.database_url):
        click.echo("database created")
    _run_db(lambda: upgrade(settings.database_url, revision), settings.database_url)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert the schema to REVISION (``base`` removes everything)."""
    from oms.store.db import downgrade

    settings = _settings()
    _run_db(lambda: downgrade(settings.database_url, revision), settings.database_url)
    click.echo(f"database at {revision}")


@db.command("purge")
@click.option("--before", "before", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="remove client requests of trading days before this date (YYYY-MM-DD)")
@click.option("--force", is_flag=True,
              help="allow a date within engine.client_requests_retention_days")
def db_purge(before: datetime, force: bool) -> None:
    """Remove client requests (ClOrdIDs) of old trading days; those of open orders are kept."""
    from oms.store.db import make_engine
    from oms.store.purge import kept_before, purge_client_requests, purge_refusal

    settings, day = _settings(), before.date()
    refusal = purge_refusal(day, datetime.now(UTC).date(),
                            settings.file.engine.client_requests_retention_days, force=force)
    if refusal is not None:
        raise click.ClickException(refusal)
    engine = make_engine(settings.database_url)
    try:
        removed, kept = _run_db(
            lambda: (purge_client_requests(engine, day), kept_before(engine, day)),
            settings.database_url)
    finally:
        engine.dispose()
    click.echo(f"removed {removed} client request(s) of trading days before {day}; "
               f"kept {kept} of open orders")


def _run_db(action: Callable[[], T], url: str) -> T:
    from sqlalchemy.exc import OperationalError

    try:
        return action()
    except OperationalError as exc:
        safe_url = url.rsplit("@", maxsplit=1)[-1]
        raise click.ClickException(
            f"cannot reach PostgreSQL at {safe_url}: {exc.orig}".strip()
        ) from None


@main.group()
def amqp() -> None:
    """RabbitMQ set-up that needs the broker's admin tools."""


@amqp.command("unrouted-policy")
@click.option("--vhost", default="/", show_default=True)
def amqp_unrouted_policy(vhost: str) -> None:
    """Print the rabbitmqctl command that dead-letters commands no shard owns (with shards)."""
    import shlex

    from oms.bus.topology import unrouted_policy_command

    click.echo(shlex.join(unrouted_policy_command(vhost)))


@main.group()
def config() -> None:
    """The settings file."""


@config.command("check")
def config_check() -> None:
    """Validate the settings file named by OMS_CONFIG and summarise it."""
    settings = _settings()
    f = settings.file
    click.echo(
        f"{settings.config_path}: ok — {len(f.venues)} venue(s), {len(f.instruments)} "
        f"instrument(s), {len(f.accounts)} account(s), {len(f.amqp_users)} AMQP user(s), "
        f"{len(f.fix_clients)} FIX client session(s)"
    )
    for shard in f.shards:
        view = f.shard_view(shard.name)
        clients = ", ".join(c.session_name for c in view.fix_clients) or "none"
        click.echo(f"  shard {shard.name}: accounts {', '.join(shard.accounts)}; "
                   f"FIX clients {clients}; venue CompIDs "
                   + ", ".join(f"{v.name}={v.sender_comp_id}" for v in view.venues)
                   + f"; metrics :{view.engine.metrics_port}, health :{view.engine.health_port}")


@main.command()
@click.option("--shard", envvar="OMS_SHARD", default=None,
              help="the [[shards]] entry to run (required when the settings file has shards)")
@click.option("--log-level", default="INFO", show_default=True)
def gateway(shard: str | None, log_level: str) -> None:
    """Run the gateway: the OMS core, venue sessions, AMQP intake and event relay (of one
    shard, when the settings file declares shards)."""
    from oms.gateway import run_gateway
    from oms.log import configure_logging
    from oms.settings import ConfigError
    from oms.store.gateway_lock import GatewayAlreadyRunningError

    settings = _settings()
    try:
        settings = settings.for_shard(shard)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(log_level, shard=settings.shard if settings.file.shards else None)
    try:
        status = run_gateway(settings)
    except GatewayAlreadyRunningError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        raise click.ClickException(_explain_outage(exc, settings)) from None
    if status:
        raise SystemExit(status)


def _explain_outage(exc: Exception, settings: Settings) -> str:
    """Name the service that is missing, without printing credentials."""
    from pika.exceptions import AMQPConnectionError
    from sqlalchemy.exc import OperationalError

    from oms.cache import CacheUnavailable

    if isinstance(exc, OperationalError):
        return f"PostgreSQL is unreachable at {settings.database_url.split('@')[-1]}: {exc.orig}"
    if isinstance(exc, CacheUnavailable):
        return f"Redis is unreachable: {exc}"
    if isinstance(exc, AMQPConnectionError):
        return f"RabbitMQ is unreachable at {settings.amqp_url.split('@')[-1]}: {exc!r}"
    return f"gateway failed to start: {exc!r}"


@main.command("venue-sim")
@click.option("--venue", default="SIM", show_default=True, help="the venue of the settings file")
@click.option("--seed", default=1, show_default=True, help="seed of the simulated liquidity")
@click.option("--reject-rate", default=0.0, help="fraction of new orders rejected")
@click.option("--ack-latency-ms", default=0, help="delay before each acknowledgement")
@click.option("--unsolicited-cancel-rate", default=0.0,
              help="fraction of resting orders cancelled unsolicited")
@click.option("--duplicate-reports", is_flag=True, help="send every execution report twice")
@click.option("--disconnect-after", type=int, default=None,
              help="drop the session after N application messages")
@click.option("--log-level", default="INFO", show_default=True)
def venue_sim(
    venue: str, seed: int, reject_rate: float, ack_latency_ms: int,
    unsolicited_cancel_rate: float, duplicate_reports: bool, disconnect_after: int | None,
    log_level: str,
) -> None:
    """Run the venue simulator: a FIX exchange with a real order book."""
    from fix_gateway.venue_sim import Behaviours, run_venue_sim
    from oms.log import configure_logging

    configure_logging(log_level)
    settings = _settings()
    try:
        settings.file.venue(venue)
    except KeyError:
        raise click.ClickException(f"no venue {venue!r} in {settings.config_path}") from None
    behaviours = Behaviours(
        reject_rate=reject_rate, ack_latency_ms=ack_latency_ms,
        unsolicited_cancel_rate=unsolicited_cancel_rate, duplicate_reports=duplicate_reports,
        disconnect_after_messages=disconnect_after,
    )
    run_venue_sim(settings, venue, seed=seed, behaviours=behaviours)


@main.command()
@click.option("--duration", default=60.0, show_default=True, help="seconds of trading")
@click.option("--rate", default=60.0, show_default=True, help="new orders per second")
@click.option("--seed", default=7, show_default=True, help="seed of the sample strategy")
@click.option("--keep-running/--no-keep-running", default=None,
              help="leave the processes up after the summary until Ctrl-C "
                   "[default: when the output is a terminal]")
@click.option("--any-free-port", is_flag=True,
              help="run every process on a free port, not the default ones")
@click.option("--name", default="oms_demo", show_default=True,
              help="the demo's database, RabbitMQ vhost and Redis prefix")
@click.option("--run-dir", type=click.Path(path_type=Path), default=Path("var/demo"),
              show_default=True, help="settings file, logs and pid files")
def demo(duration: float, rate: float, seed: int, keep_running: bool | None,
         any_free_port: bool, name: str, run_dir: Path) -> None:
    """Start venue simulator, gateway and admin pages on a database, vhost and Redis prefix
    of their own, run a sample strategy through oms.client, and summarise."""
    from oms.demo.runner import DemoOptions, run_demo

    admin = main.commands.get("admin")
    options = DemoOptions(
        name=name, run_dir=run_dir, duration_s=duration, orders_per_s=rate, seed=seed,
        keep_running=sys.stdout.isatty() if keep_running is None else keep_running,
        any_free_port=any_free_port, admin_available=admin is not None,
        admin_options=frozenset(str(p.name) for p in admin.params) if admin else frozenset(),
        user_command_available="user" in main.commands,
    )
    status = run_demo(_settings(), options, click.echo)
    if status:
        sys.exit(status)


@main.group()
def fix() -> None:
    """FIX session tooling: sequence operations on a running gateway, offline reset."""


@fix.command("reset-sequence")
@click.option("--venue", "venue_name", help="a venue session of the settings file")
@click.option("--client", "client_id",
              help="a FIX client session (its name: by default its SenderCompID)")
@click.option("--shard", envvar="OMS_SHARD", default=None,
              help="the shard whose session it is (when the settings file has shards)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def fix_reset_sequence(venue_name: str | None, client_id: str | None, shard: str | None,
                       yes: bool) -> None:
    """Reset a session's sequence numbers to 1 (gateway stopped; agree it with the peer)."""
    from pathlib import Path

    from fix_gateway.session_settings import client_session_key, venue_session_key
    from oms.engine.batch import watermark_row_key
    from oms.fix_admin import reset_sequence
    from oms.settings import ConfigError
    from oms.store.db import make_engine
    from oms.store.gateway_lock import GatewayAlreadyRunningError

    try:
        settings = _settings().for_shard(shard)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    data_dir = Path(settings.file.engine.data_dir) / "fix"
    if (venue_name is None) == (client_id is None):
        raise click.UsageError("name exactly one of --venue or --client")
    if venue_name is not None:
        try:
            key = venue_session_key(settings.file.venue(venue_name))
        except KeyError:
            raise click.ClickException(f"no venue {venue_name!r} in the settings") from None
        store, watermark = data_dir / "venues" / "store", f"venue:{venue_name}"
    else:
        clients = {c.session_name: c for c in settings.file.fix_clients}
        if client_id not in clients:
            raise click.ClickException(f"no FIX client {client_id!r} in the settings")
        key = client_session_key(clients[client_id])
        store, watermark = data_dir / "clients" / "store", f"client:{client_id}"
    if not yes:
        click.confirm(f"Reset {key} to sequence 1 on our side? The peer must reset too.",
                      abort=True)
    engine = make_engine(settings.database_url)
    try:
        result = _run_db(lambda: reset_sequence(
            engine, store, key, watermark_row_key(watermark, settings.shard),
            gateway_name=settings.shard), settings.database_url)
    except GatewayAlreadyRunningError as exc:
        raise click.ClickException(f"{exc}: stop the gateway first") from None
    finally:
        engine.dispose()
    click.echo(f"{key}: removed {len(result.removed)} store file(s) and the inbound "
               f"watermark; the next logon starts at MsgSeqNum 1")


@main.command()
@click.option(
    "--url", envvar="OMS_HEALTH_URL", default="http://127.0.0.1:9109/healthz", show_default=True,
    help="the process's health endpoint (the container health check calls this)",
)
@click.option("--timeout", default=3.0, show_default=True)
def health(url: str, timeout: float) -> None:
    """Exit 0 when the process at URL reports itself healthy."""
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise click.ClickException(f"not an http(s) URL: {url}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - checked
            click.echo(f"{url}: {response.status}")
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise click.ClickException(f"{url}: unhealthy ({exc})") from None


@main.command()
@click.option("--quick", is_flag=True, help="shorter runs: under two minutes in all")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="write every figure to FILE, and a PNG plot beside it")
@click.option("--rate", default=500.0, show_default=True,
              help="offered orders per second of the latency runs")
@click.option("--orders", type=int, default=None,
              help="orders per throughput run [default: 5000 with --quick, else 20000]")
@click.option("--seconds", type=float, default=None,
              help="length of each latency run [default: 10 with --quick, else 30]")
@click.option("--profile", is_flag=True,
              help="profile the gateway with py-spy during the full path's throughput run")
@click.option("--name", default="oms_bench", show_default=True,
              help="the bench's own database, RabbitMQ vhost and Redis prefix")
@click.option("--run-dir", type=click.Path(path_type=Path), default=Path("var/bench"),
              show_default=True, help="settings file, logs and FIX stores of the run")
@click.option("--anchors", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="directory of skeleton_path.py [default: $OMS_ANCHORS_DIR, else "
                   "../shared/anchors above the repository or the working directory]")
@click.option("--skeleton-queue", type=click.Choice(["quorum", "classic"]), default="quorum",
              show_default=True, help="queue type of the skeleton path's RabbitMQ queues")
def bench(quick: bool, json_path: Path | None, rate: float, orders: int | None,
          seconds: float | None, profile: bool, name: str, run_dir: Path,
          anchors: Path | None, skeleton_queue: str) -> None:
    """Measure the bare quickfix loop, the skeleton path, the full order path and the risk
    check in one run.

    See docs/benchmarks.md for what is measured and how."""
    from oms.bench.progress import stderr_echo
    from oms.bench.runner import BenchOptions, run_bench

    options = BenchOptions(quick=quick, rate=rate, orders=orders, seconds=seconds,
                           json_path=json_path, name=name, run_dir=run_dir, profile=profile,
                           anchors=anchors, skeleton_queue=skeleton_queue)
    try:
        run_bench(_settings(), options, stderr_echo, click.echo)
    except Exception as exc:
        raise click.ClickException(f"bench failed: {exc}") from exc


main.add_command(admin_command)
main.add_command(user_group)
for _session_command in FIX_SESSION_COMMANDS:  # set-seq, logout, logon, reset (running gateway)
    fix.add_command(_session_command)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
