"""``oms admin`` (the pages under gunicorn) and ``oms user add``; registered by ``oms.cli``."""

from __future__ import annotations

import getpass
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from oms.settings import ConfigError, Settings, load_settings

APP = "oms.admin:create_app()"


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("admin")
@click.option("--bind", default=None, help="host:port  [default: admin.bind of the settings file]")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn workers  [default: admin.workers of the settings file]")
@click.option("--config", "gunicorn_config", type=click.Path(dir_okay=False), default=None,
              help="gunicorn config  [default: gunicorn.conf.py beside the settings file]")
def admin_command(bind: str | None, workers: int | None, gunicorn_config: str | None) -> None:
    """Serve the operator admin pages with gunicorn (needs OMS_SECRET_KEY)."""
    from oms.admin.security import secret_key_problem

    settings = _settings()
    problem = secret_key_problem(settings.secret_key)
    if problem:
        raise click.ClickException(problem)
    config = Path(gunicorn_config) if gunicorn_config else (
        settings.config_path.parent / "gunicorn.conf.py"
    )
    if not config.is_file():
        raise click.ClickException(f"no gunicorn config at {config} (give --config PATH)")
    operators = _count_operators(settings)
    if operators == 0:
        click.echo("no operator accounts yet: create one with "
                   "`oms user add NAME --role admin`", err=True)
    argv = [sys.executable, "-m", "gunicorn", "--config", str(config)]
    if bind:
        argv += ["--bind", bind]
    if workers:
        argv += ["--workers", str(workers)]
    argv.append(APP)
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter, fixed arguments


def _count_operators(settings: Settings) -> int:
    """How many operator accounts exist; a clear error when PostgreSQL is unreachable or the
    schema is missing."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from oms.admin.operators import OPERATORS
    from oms.store.db import make_engine

    engine = make_engine(settings.database_url, pool_size=1, application_name="oms-admin-check")
    where = settings.database_url.rsplit("@", maxsplit=1)[-1]
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(OPERATORS)).scalar_one())
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach PostgreSQL at {where}: {exc.orig}") from None
    except ProgrammingError:
        raise click.ClickException(
            f"the database at {where} has no schema yet: run `oms db upgrade`"
        ) from None
    finally:
        engine.dispose()


@click.group("user")
def user_group() -> None:
    """Operator accounts of the admin pages."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "trader", "admin"]), required=True)
@click.option("--reason", default="created with `oms user add`", show_default=True,
              help="recorded in the operator audit log")
def user_add(name: str, role: str, reason: str) -> None:
    """Create operator NAME; the password comes from OMS_PASSWORD, else a prompt."""
    from oms.admin.operators import OperatorAccountError, create_operator
    from oms.domain.values import OperatorRole
    from oms.store.db import make_engine

    settings = _settings()
    password = os.environ.get("OMS_PASSWORD") or click.prompt(
        f"password for {name}", hide_input=True, confirmation_prompt=True
    )
    engine = make_engine(settings.database_url, pool_size=1, application_name="oms-user-add")
    try:
        with engine.begin() as conn:
            create_operator(conn, username=name, password=password, role=OperatorRole(role),
                            by=f"cli:{_login_name()}", reason=reason, at=datetime.now(UTC))
    except OperatorAccountError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"operator {name} created with role {role}")


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
