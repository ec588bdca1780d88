"""Operator accounts and roles (admins only, reading included)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from oms.admin.auth import operator_name, requires
from oms.admin.forms import AddOperatorForm, ChangeRoleForm, SetDisabledForm, secret, text
from oms.admin.operators import (
    OperatorAccountError,
    create_operator,
    list_operators,
    set_disabled,
    set_role,
)
from oms.admin.roles import GRANTS, Permission
from oms.admin.services import services
from oms.admin.views.common import acting_operator, flash_form_errors
from oms.domain.values import OperatorRole

bp = Blueprint("users", __name__)


@bp.get("/users")
@requires(Permission.MANAGE_USERS)
def index() -> ResponseReturnValue:
    with services().engine.connect() as conn:
        operators = list_operators(conn)
    return render_template(
        "users.html", operators=operators, add_form=AddOperatorForm(),
        role_form=ChangeRoleForm(), disabled_form=SetDisabledForm(), grants=GRANTS,
        permissions=list(Permission), me=operator_name(),
    )


@bp.post("/users")
@requires(Permission.MANAGE_USERS)
def add() -> ResponseReturnValue:
    form = AddOperatorForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return redirect(url_for("users.index"))
    who = acting_operator()
    try:
        with services().engine.begin() as conn:
            create_operator(conn, username=text(form.username), password=secret(form.password),
                            role=OperatorRole(text(form.role)), by=who.username,
                            reason=text(form.reason), at=who.now)
        flash(f"Operator {text(form.username)} added as {text(form.role)}.", "ok")
    except OperatorAccountError as exc:
        flash(str(exc), "error")
    return redirect(url_for("users.index"))


@bp.post("/users/<username>/role")
@requires(Permission.MANAGE_USERS)
def change_role(username: str) -> ResponseReturnValue:
    form = ChangeRoleForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return redirect(url_for("users.index"))
    who = acting_operator()
    try:
        with services().engine.begin() as conn:
            set_role(conn, username=username, role=OperatorRole(text(form.role)),
                     by=who.username, reason=text(form.reason), at=who.now)
        flash(f"{username} is now {text(form.role)}.", "ok")
    except OperatorAccountError as exc:
        flash(str(exc), "error")
    return redirect(url_for("users.index"))


@bp.post("/users/<username>/disabled")
@requires(Permission.MANAGE_USERS)
def change_disabled(username: str) -> ResponseReturnValue:
    form = SetDisabledForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return redirect(url_for("users.index"))
    who = acting_operator()
    disabled = text(form.disabled) == "1"
    try:
        with services().engine.begin() as conn:
            set_disabled(conn, username=username, disabled=disabled, by=who.username,
                         reason=text(form.reason), at=who.now)
        flash(f"{username} {'disabled' if disabled else 'enabled'}.", "ok")
    except OperatorAccountError as exc:
        flash(str(exc), "error")
    return redirect(url_for("users.index"))
