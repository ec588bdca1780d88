"""Risk limits: view every scope, edit one with a reason; the core reloads them on save."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from oms.admin import actions
from oms.admin.auth import requires
from oms.admin.forms import ReasonForm, text
from oms.admin.limits_form import LIMIT_FIELDS, form_values, limits_from_form
from oms.admin.queries.risk_limits import DEFAULTS, LimitsScope, limits_scope, limits_scopes
from oms.admin.roles import Permission
from oms.admin.services import services
from oms.admin.views.common import acting_operator, flash_form_errors, flash_issued

bp = Blueprint("limits", __name__)


@bp.get("/limits")
def index() -> ResponseReturnValue:
    with services().engine.connect() as conn:
        scopes = limits_scopes(conn, services().settings.file)
    rows = [(s, form_values(s.own), form_values(s.effective)) for s in scopes]
    return render_template("limits.html", rows=rows, fields=LIMIT_FIELDS)


@bp.get("/limits/<account>")
@requires(Permission.EDIT_LIMITS)
def edit(account: str) -> ResponseReturnValue:
    scope = _scope_or_404(account)
    return _edit_page(scope, form_values(scope.own), ReasonForm(), error=None)


@bp.post("/limits/<account>")
@requires(Permission.EDIT_LIMITS)
def save(account: str) -> ResponseReturnValue:
    scope = _scope_or_404(account)
    form = ReasonForm()
    entered = {f: request.form.get(f, "") for f in form_values(scope.own)}
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return _edit_page(scope, entered, form, error=None), 400
    try:
        limits = limits_from_form(request.form)
    except ValueError as exc:
        return _edit_page(scope, entered, form, error=str(exc)), 400
    version_text = request.form.get("version", "")
    if not version_text.isdigit():
        abort(400)
    svc = services()
    try:
        version, commands = actions.save_risk_limits(
            svc.engine, acting_operator(), svc.settings.file, account=account, limits=limits,
            expected_version=int(version_text), reason=text(form.reason),
        )
    except actions.ActionRefused as exc:
        return _edit_page(scope, entered, form, error=str(exc)), 409
    flash_issued(commands, f"reload the limits of {_label(account)} (saved as v{version})")
    return redirect(url_for("limits.index"))


def _scope_or_404(account: str) -> LimitsScope:
    svc = services()
    with svc.engine.connect() as conn:
        if account != DEFAULTS and account not in actions.known_accounts(conn, svc.settings.file):
            abort(404)
        return limits_scope(conn, svc.settings.file, account)


def _edit_page(
    scope: LimitsScope, values: dict[str, str], form: ReasonForm, error: str | None
) -> str:
    return render_template("limits_edit.html", scope=scope, label=_label(scope.account),
                           values=values, inherited=form_values(scope.inherited),
                           effective=form_values(scope.effective), fields=LIMIT_FIELDS,
                           form=form, error=error)


def _label(account: str) -> str:
    return "the defaults" if account == DEFAULTS else f"account {account}"
