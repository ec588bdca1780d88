"""The admin pages' application factory (``create_app``), in the manner of Flask's flaskr.

Nothing connects here: the database engine and Redis client are created on first use in the
process serving requests (after gunicorn forks its workers).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, render_template
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from oms.admin import formatting, security
from oms.admin.auth import authorise, login_manager
from oms.admin.forms import LogoutForm
from oms.admin.queries.controls import kill_switches
from oms.admin.services import AdminServices, services
from oms.settings import Settings, load_settings

csrf = CSRFProtect()
REFRESH_MS = 2000


class SecretKeyMissing(RuntimeError):  # noqa: N818 - the name says what is wrong
    pass


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the admin application. ``test_config`` may carry ``OMS_SETTINGS`` (a ``Settings``)
    instead of reading the environment, and any Flask setting to override."""
    overrides = dict(test_config or {})
    settings: Settings = overrides.pop("OMS_SETTINGS", None) or load_settings()
    secret_key = overrides.get("SECRET_KEY") or settings.secret_key
    problem = security.secret_key_problem(secret_key)
    if problem or secret_key is None:
        raise SecretKeyMissing(problem)

    app = Flask(__name__)
    app.config.from_mapping(security.session_config(secret_key))
    app.config.update(
        OMS_REDIS_PREFIX=settings.redis_prefix,
        LOGIN_ATTEMPTS_PER_MINUTE=settings.file.admin.login_attempts_per_minute,
        REFRESH_MS=REFRESH_MS,
    )
    app.config.update(overrides)
    app.extensions["oms"] = AdminServices(
        settings, redis_prefix=app.config["OMS_REDIS_PREFIX"],
        login_attempts_per_minute=app.config["LOGIN_ATTEMPTS_PER_MINUTE"],
    )

    csrf.init_app(app)
    login_manager.init_app(app)
    app.before_request(authorise)
    security.install(app)
    formatting.register(app)
    _register_blueprints(app)
    _register_error_pages(app)
    app.context_processor(_page_context)
    return app


def _register_blueprints(app: Flask) -> None:
    from oms.admin.auth import bp as auth
    from oms.admin.views.audit import bp as audit
    from oms.admin.views.controls import bp as controls
    from oms.admin.views.dashboard import bp as dashboard
    from oms.admin.views.exceptions import bp as exceptions
    from oms.admin.views.health import bp as health
    from oms.admin.views.limits import bp as limits
    from oms.admin.views.orders import bp as orders
    from oms.admin.views.positions import bp as positions
    from oms.admin.views.sessions import bp as sessions
    from oms.admin.views.users import bp as users

    for blueprint in (auth, health, dashboard, orders, positions, exceptions, limits, controls,
                      sessions, audit, users):
        app.register_blueprint(blueprint)


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html", code=400, title="Form refused",
            message="The form had no valid CSRF token (it expired, or was not sent from these "
                    "pages). Nothing was changed: reload the page and try again.",
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        messages = {
            401: "Sign in first.",
            403: "Your role does not allow this. Nothing was changed.",
            404: "There is nothing here.",
            405: "This address does not take that kind of request.",
        }
        return render_template(
            "error.html", code=code, title=error.name,
            message=messages.get(code, error.description or ""),
        ), code


def _page_context() -> dict[str, Any]:
    context: dict[str, Any] = {"now": datetime.now(UTC), "refresh_ms": REFRESH_MS,
                               "sharded": bool(services().settings.file.shards)}
    if current_user.is_authenticated:
        context.update(operator=current_user, logout_form=LogoutForm(),
                       tripped_switches=_tripped_switches)
    return context


def _tripped_switches() -> list[Any]:
    """For the banner on every full page (partials never ask)."""
    with services().engine.connect() as conn:
        active, _ = kill_switches(conn)
    return list(active)
