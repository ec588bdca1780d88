"""Logins, sessions and the one place where every request is authorised.

``authorise`` runs before every request: anything but the login page, ``/healthz`` and static
files needs a signed-in, enabled operator; a request that can change state (any method but
GET/HEAD/OPTIONS) needs the permission its view declares with ``@requires`` and is refused if
its view declares none. The role is read from the database on every request, so a role change
or a disabled account takes effect at the operator's next click.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.wrappers.response import Response as BaseResponse

from oms.admin.audit import record_audit
from oms.admin.forms import LoginForm, LogoutForm, secret, text
from oms.admin.operators import (
    OperatorAccount,
    change_password_hash,
    find_for_login,
    get_operator,
)
from oms.admin.passwords import hash_password, needs_rehash, verify_password
from oms.admin.roles import Permission, may
from oms.admin.services import services
from oms.domain.values import OperatorRole

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to continue."
login_manager.session_protection = "strong"

PUBLIC_ENDPOINTS = frozenset({"auth.login", "health.healthz", "static"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_View = TypeVar("_View", bound=Callable[..., Any])


class SignedInOperator(UserMixin):  # type: ignore[misc]
    def __init__(self, account: OperatorAccount) -> None:
        self.account = account

    def get_id(self) -> str:
        return str(self.account.id)

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def role(self) -> OperatorRole:
        return self.account.role

    def can(self, permission: Permission | str) -> bool:
        return may(self.account.role, Permission(permission))


def _load_operator(operator_id: str) -> SignedInOperator | None:
    if not operator_id.isdigit():
        return None
    with services().engine.connect() as conn:
        account = get_operator(conn, int(operator_id))
    return None if account is None or account.disabled else SignedInOperator(account)


login_manager.user_loader(_load_operator)


def requires(permission: Permission) -> Callable[[_View], _View]:
    """Declare what a view needs; ``authorise`` enforces it before the view runs."""

    def mark(view: _View) -> _View:
        view.required_permission = permission  # type: ignore[attr-defined]
        return view

    return mark


def authorise() -> BaseResponse | None:
    endpoint = request.endpoint
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    if endpoint is None:
        return None  # no such route (404) or method (405): Flask answers that
    if not current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            abort(401)
        result: BaseResponse = login_manager.unauthorized()
        return result
    view = current_app.view_functions[endpoint]
    needed: Permission | None = getattr(view, "required_permission", None)
    if needed is None and request.method not in SAFE_METHODS and endpoint != "auth.logout":
        log.error("refused %s %s: the view declares no permission", request.method, endpoint)
        abort(403)
    if needed is not None and not current_user.can(needed):
        abort(403)
    return None


def operator_name() -> str:
    return str(current_user.username)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int]:
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form)
    username = text(form.username)
    address = request.remote_addr or "unknown"
    throttle = services().throttle
    if throttle.is_blocked(username, address):
        form.form_errors.append(
            "Too many failed sign-ins for this name from your address: wait a minute."
        )
        return render_template("login.html", form=form), 429
    now = datetime.now(UTC)
    with services().engine.begin() as conn:
        found = find_for_login(conn, username)
        account, stored = found if found else (None, None)
        ok = verify_password(stored, secret(form.password))
        if not ok or account is None or account.disabled:
            throttle.record_failure(username, address)
            record_audit(conn, at=now, username=username[:64], action="login_failed",
                         target=address, reason="wrong password or unknown/disabled account")
            form.form_errors.append("Wrong name or password, or the account is disabled.")
            return render_template("login.html", form=form), 401
        if stored is not None and needs_rehash(stored):
            change_password_hash(conn, account.id, hash_password(secret(form.password)))
        record_audit(conn, at=now, username=account.username, action="login", target=address,
                     reason="signed in")
    throttle.clear(username, address)
    session.clear()
    login_user(SignedInOperator(account))
    session.permanent = True
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> BaseResponse:
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        with services().engine.begin() as conn:
            record_audit(conn, at=datetime.now(UTC), username=operator_name(), action="logout",
                         target=request.remote_addr or "unknown", reason="signed out")
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL (an open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("dashboard.index")
