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

bp = Blueprint("controls", __name__)
CONTROL_COMMANDS = ("kill_switch_trip", "kill_switch_clear", "breaker_reenable", "cancel_all")


@bp.get("/kill-switch")
def index() -> ResponseReturnValue:
    svc = services()
    with svc.engine.connect() as conn:
        active, cleared = kill_switches(conn)
        account_breakers = breakers(conn)
        commands = recent_commands(conn, CONTROL_COMMANDS)
    mirror = None
    with contextlib.suppress(CacheUnavailable):
        mirror = {(e.scope.value, e.key) for e in svc.cache().kill_switches()}
    file = svc.settings.file
    return render_template(
        "controls.html", active=active, cleared=cleared[:30], breakers=account_breakers,
        commands=commands, mirror=mirror, trip_form=KillSwitchTripForm(),
        clear_form=KillSwitchClearForm(), reenable_form=ReasonForm(),
        choices={"account": sorted(a.name for a in file.accounts),
                 "venue": [v.name for v in file.venues],
                 "symbol": sorted(i.symbol for i in file.instruments)},
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
    scope = KillScope(text(form.scope))
    try:
        with svc.engine.connect() as conn:
            key = actions.kill_switch_key(conn, svc.settings.file, scope, text(form.key))
            in_scope = open_order_count(conn, **_scope_filter(scope, key))
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("controls.index"))
    where = "GLOBAL (every account, venue and symbol)" if scope is KillScope.GLOBAL \
        else f"{scope.value} {key}"
    if text(form.confirm) != "yes":
        return render_template(
            "confirm.html", form=form, action=url_for("controls.trip"), danger=True,
            title=f"Trip the kill switch: {where}",
            consequences=[
                f"{in_scope} open order(s) in this scope will be canceled now.",
                "Every new order and replace in this scope will be rejected by risk, with this "
                "reason, until an admin re-enables trading.",
                "Cancels still pass.",
            ],
            button="Trip kill switch", hidden={"scope": scope.value, "key": key},
            back=url_for("controls.index"),
        )
    try:
        command_id = actions.trip_kill_switch(svc.engine, acting_operator(), svc.settings.file,
                                              scope=scope, key=key, reason=text(form.reason))
        flash_issued(command_id, f"trip the kill switch {where}")
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
        command_id = actions.clear_kill_switch(
            services().engine, acting_operator(), scope=scope, key=text(form.key),
            reason=text(form.reason),
        )
        flash_issued(command_id, f"re-enable trading for {scope.value} {text(form.key)}")
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
        command_id = actions.reenable_breaker(services().engine, acting_operator(),
                                              account=account, reason=text(form.reason))
        flash_issued(command_id, f"re-enable account {account} after its breaker halt")
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
    return redirect(url_for("controls.index"))


def _scope_filter(scope: KillScope, key: str) -> dict[str, str]:
    if scope is KillScope.GLOBAL:
        return {}
    return {scope.value: key}
