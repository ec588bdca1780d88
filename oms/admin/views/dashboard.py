"""The dashboard: sessions, engine health, kill switches, counts and latency; the panels refresh
by short polling of ``/dashboard/panels``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from oms.admin.queries.dashboard import dashboard_counts
from oms.admin.services import services
from oms.admin.status_view import read_components
from oms.admin.views.common import partial
from oms.cache import CacheUnavailable

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("dashboard.html", **_panels())


@bp.get("/dashboard/panels")
def panels() -> ResponseReturnValue:
    return partial(render_template("dashboard_panels.html", **_panels()))


def _panels() -> dict[str, Any]:
    now = datetime.now(UTC)
    svc = services()
    with svc.engine.connect() as conn:
        counts = dashboard_counts(conn, now)
    components, mirror, redis_error = [], [], None
    try:
        cache = svc.cache()
        components = read_components(cache.read_status(), now)
        mirror = cache.kill_switches()
    except CacheUnavailable as exc:
        redis_error = str(exc)
    f = svc.settings.file
    reported = {(s.kind, s.name) for c in components for s in c.sessions}
    silent = [("venue", v.name) for v in f.venues if ("venue", v.name) not in reported]
    silent += [("client", c.session_name) for c in f.fix_clients
               if ("client", c.session_name) not in reported]
    return {
        "counts": counts, "components": components, "silent_sessions": silent,
        "mirror": mirror, "redis_error": redis_error, "now": now,
    }
