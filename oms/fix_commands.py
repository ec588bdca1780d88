"""``oms fix set-seq | logout | logon | reset``: sequence operations on one FIX session of a
RUNNING gateway, through the operator channel (the same commands as the admin Sessions page),
audited under ``--operator``. Each waits (``--wait``) for the gateway's result and prints it;
the exit status is 1 when the gateway refused the command or did not take it in time.
Registered on the ``oms fix`` group by ``oms.cli``; ``oms fix reset-sequence`` is the offline
reset, for a stopped gateway."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

import click

SESSION_HELP = "venue:<venue name> or client:<client session name>"
F = Callable[..., Any]


def _session_options(func: F) -> F:
    options = [
        click.option("--session", required=True, help=SESSION_HELP),
        click.option("--reason", required=True, help="why (recorded in the audit log)"),
        click.option("--operator", default=getpass.getuser, show_default="the OS user",
                     help="who acts, for the audit log"),
        click.option("--wait", "wait_s", type=click.FloatRange(0, 600), default=30.0,
                     show_default=True, help="seconds to wait for the gateway's result"),
        click.option("--shard", default=None,
                     help="with [[shards]]: the shard whose venue session it is (default: every "
                          "shard's; setting a sequence number needs one); a client session "
                          "goes to its accounts' shard"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("set-seq")
@_session_options
@click.option("--next-sender", type=click.IntRange(min=1), default=None,
              help="the MsgSeqNum of the next message the gateway sends")
@click.option("--next-target", type=click.IntRange(min=1), default=None,
              help="the MsgSeqNum the gateway expects next from the counterparty")
def set_seq(session: str, reason: str, operator: str, wait_s: float, shard: str | None,
            next_sender: int | None, next_target: int | None) -> None:
    """Set a session's next sender and/or target MsgSeqNum (agree it with the counterparty)."""
    from oms.engine.session_commands import SessionAction

    if next_sender is None and next_target is None:
        raise click.UsageError("give --next-sender, --next-target or both")
    steps = [(SessionAction.SET_NEXT_SENDER, next_sender),
             (SessionAction.SET_NEXT_TARGET, next_target)]
    _operate(session, [(a, n) for a, n in steps if n is not None], reason, operator, wait_s,
             shard)


@click.command("logout")
@_session_options
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def logout(session: str, reason: str, operator: str, wait_s: float, shard: str | None,
           yes: bool) -> None:
    """Log a session out; its logons are refused until `oms fix logon`."""
    from oms.engine.session_commands import SessionAction

    if not yes:
        click.confirm(f"Log {session} out? It stays out until `oms fix logon`.", abort=True)
    _operate(session, [(SessionAction.LOGOUT, None)], reason, operator, wait_s, shard)


@click.command("logon")
@_session_options
def logon(session: str, reason: str, operator: str, wait_s: float, shard: str | None) -> None:
    """Allow a session logged out by an operator to log on again."""
    from oms.engine.session_commands import SessionAction

    _operate(session, [(SessionAction.LOGON, None)], reason, operator, wait_s, shard)


@click.command("reset")
@_session_options
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def reset(session: str, reason: str, operator: str, wait_s: float, shard: str | None,
          yes: bool) -> None:
    """Reset a session to MsgSeqNum 1 on a running gateway (a venue: a Logon with 141=Y)."""
    from oms.engine.session_commands import SessionAction

    if not yes:
        click.confirm(f"Reset {session} to MsgSeqNum 1? The counterparty must reset too.",
                      abort=True)
    _operate(session, [(SessionAction.RESET, None)], reason, operator, wait_s, shard)


def _operate(session: str, steps: list[tuple[Any, int | None]], reason: str, operator: str,
             wait_s: float, shard: str | None) -> None:
    from datetime import UTC, datetime

    from sqlalchemy.exc import OperationalError

    from oms.admin.actions import (
        ActionRefused,
        Operator,
        fix_session_commands,
        fix_session_shards,
    )
    from oms.engine.session_commands import VALIDITY, SessionOperation
    from oms.fix_admin import gateway_running, wait_for_results
    from oms.settings import ConfigError, load_settings
    from oms.store.db import make_engine

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    engine = make_engine(settings.database_url, application_name="oms-fix")
    try:
        try:
            targets = fix_session_shards(settings.file, session, shard)
        except ActionRefused as exc:
            raise click.ClickException(str(exc)) from None
        except KeyError:
            raise click.ClickException(f"unknown FIX session {session!r}") from None
        down = [name for name in targets if not gateway_running(engine, name)]
        if down:
            which = f" of shard {', '.join(down)}" if settings.file.shards else ""
            raise click.ClickException(
                f"no gateway{which} is running on this database: these commands act on a "
                "running gateway (for a stopped one, `oms fix reset-sequence`)")
        ids = []
        for action, seq in steps:
            who = Operator(operator, datetime.now(UTC))
            try:
                commands = fix_session_commands(engine, who, settings.file, session=session,
                                                action=action, seq=seq, reason=reason,
                                                shard=shard)
            except ActionRefused as exc:
                raise click.ClickException(str(exc)) from None
            what = SessionOperation(session, action, seq).describe()
            for name, command_id in commands.items():
                ids.append(command_id)
                on = f" on shard {name}" if settings.file.shards else ""
                click.echo(f"command #{command_id} issued by {operator}{on}: {what}")
        results = wait_for_results(engine, ids, wait_s)
    except OperationalError as exc:
        safe_url = settings.database_url.rsplit("@", maxsplit=1)[-1]
        raise click.ClickException(f"cannot reach PostgreSQL at {safe_url}: {exc.orig}") from None
    finally:
        engine.dispose()
    failed = False
    for command_id, result in results.items():
        if result is None:
            failed = True
            click.echo(f"command #{command_id}: not taken by the gateway within {wait_s:g} s; "
                       f"it stays queued and is refused if not taken within "
                       f"{int(VALIDITY.total_seconds())} s of issue", err=True)
        else:
            failed = failed or result.startswith("refused")
            click.echo(f"command #{command_id}: {result}")
    if failed:
        raise SystemExit(1)


FIX_SESSION_COMMANDS = (set_seq, logout, logon, reset)
