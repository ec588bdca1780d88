"""Kill switches (trip with a confirmation step, clear) and execution-breaker re-enables."""

from __future__ import annotations

import contextlib

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from oms.admin import actions
from oms.admin.auth import requires
from oms.admin.forms import KillSwitchClearForm, KillSwitchTripForm, ReasonForm, text
from oms.admin.queries.controls import breakers, kill_switches, recent_commands
from oms.admin.queries.orders import open_order_count
from oms.admin.roles import Permission
from oms.admin.services import services
from oms.admin.views.common import acting_operator, flash_form_errors, flash_issued
from oms.cache import CacheUnavailable
from oms.domain.values import KillScope
from oms.settings import SettingsFile

bp = Blueprint("controls", __name__)
CONTROL_COMMANDS = ("kill_switch_trip", "kill_switch_clear", "breaker_reenable", "cancel_all")


@bp.get("/kill-switch")
def index() -> ResponseReturnValue:
    svc = services()
    with svc.engine.connect() as conn:
        active, cleared = kill_switches(conn)
        account_breakers = breakers(conn)
        commands = recent_commands(conn, CONTROL_COMMANDS)
    file = svc.settings.file
    mirror = None
    with contextlib.suppress(CacheUnavailable):
        cache = svc.cache()
        mirror = {  # each shard mirrors its own switches (no shards: one mirror, "main")
            (shard, e.scope.value, e.key) for shard in file.shard_names
            for e in cache.kill_switches(shard=shard if file.shards else None)}
    return render_template(
        "controls.html", active=active, cleared=cleared[:30], breakers=account_breakers,
        commands=commands, mirror=mirror, trip_form=KillSwitchTripForm(),
        clear_form=KillSwitchClearForm(), reenable_form=ReasonForm(),
        choices={"account": sorted(a.name for a in file.accounts),
                 "venue": [v.name for v in file.venues],
                 "symbol": sorted(i.symbol for i in file.instruments)},
        shards=[s.name for s in file.shards],
    )


@bp.post("/kill-switch/trip")
@requires(Permission.KILL_SWITCH)
def trip() -> ResponseReturnValue:
    """Two steps: the first post shows what the switch will stop; the confirmed one trips it."""
    form = KillSwitchTripForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return redirect(url_for("controls.index"))
    svc = services()
    file = svc.settings.file
    scope = KillScope(text(form.scope))
    chosen = text(form.shard) or None
    try:
        with svc.engine.connect() as conn:
            key = actions.kill_switch_key(conn, file, scope, text(form.key))
            shards = actions.kill_switch_shards(file, scope, key, chosen)
            accounts = _shard_accounts(file, shards)
            in_scope = open_order_count(conn, accounts=accounts, **_scope_filter(scope, key))
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("controls.index"))
    where = "GLOBAL (every account, venue and symbol)" if scope is KillScope.GLOBAL \
        else f"{scope.value} {key}"
    if chosen is not None and scope is not KillScope.ACCOUNT:
        where = f"{where} on shard {chosen} only"
    if text(form.confirm) != "yes":
        consequences = [
            f"{in_scope} open order(s) in this scope will be canceled now.",
            "Every new order and replace in this scope will be rejected by risk, with this "
            "reason, until an admin re-enables trading.",
            "Cancels still pass.",
        ]
        if file.shards:
            consequences.append(_shards_text(file, scope, key, shards))
        return render_template(
            "confirm.html", form=form, action=url_for("controls.trip"), danger=True,
            title=f"Trip the kill switch: {where}", consequences=consequences,
            button="Trip kill switch",
            hidden={"scope": scope.value, "key": key, "shard": chosen or ""},
            back=url_for("controls.index"),
        )
    try:
        commands = actions.trip_kill_switch(svc.engine, acting_operator(), file, scope=scope,
                                            key=key, reason=text(form.reason), shard=chosen)
        flash_issued(commands, f"trip the kill switch {where}")
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
    return redirect(url_for("controls.index"))


@bp.post("/kill-switch/clear")
@requires(Permission.KILL_SWITCH)
def clear() -> ResponseReturnValue:
    form = KillSwitchClearForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return redirect(url_for("controls.index"))
    try:
        scope = KillScope(text(form.scope))
        svc = services()
        commands = actions.clear_kill_switch(
            svc.engine, acting_operator(), svc.settings.file, scope=scope, key=text(form.key),
            reason=text(form.reason), shard=text(form.shard) or None,
        )
        flash_issued(commands, f"re-enable trading for {scope.value} {text(form.key)}")
    except (actions.ActionRefused, ValueError) as exc:
        flash(str(exc), "error")
    return redirect(url_for("controls.index"))


@bp.post("/breakers/<account>/reenable")
@requires(Permission.REENABLE_BREAKER)
def reenable(account: str) -> ResponseReturnValue:
    form = ReasonForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return redirect(url_for("controls.index"))
    try:
        svc = services()
        command_id = actions.reenable_breaker(svc.engine, acting_operator(), svc.settings.file,
                                              account=account, reason=text(form.reason))
        flash_issued(command_id, f"re-enable account {account} after its breaker halt")
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
    return redirect(url_for("controls.index"))


def _shard_accounts(file: SettingsFile, shards: tuple[str, ...]) -> frozenset[str] | None:
    """The accounts of ``shards`` (None: no shards, or every one: no restriction)."""
    if not file.shards or set(shards) == set(file.shard_names):
        return None
    return frozenset(a for s in file.shards if s.name in shards for a in s.accounts)


def _shards_text(file: SettingsFile, scope: KillScope, key: str,
                 shards: tuple[str, ...]) -> str:
    """Which gateways trip the switch, for the confirmation page."""
    if scope is KillScope.ACCOUNT:
        return f"The gateway of shard {shards[0]}, which owns account {key}, trips it."
    others = [s for s in file.shard_names if s not in shards]
    if others:
        return (f"Only the gateway of shard {', '.join(shards)} trips it: the accounts of "
                f"shard(s) {', '.join(others)} are not stopped.")
    return f"The gateway of every shard trips it ({', '.join(shards)}), one command each."


def _scope_filter(scope: KillScope, key: str) -> dict[str, str]:
    if scope is KillScope.GLOBAL:
        return {}
    return {scope.value: key}
