"""The dashboard: sessions, engine health (one block per gateway shard), kill switches, counts
and latency; the panels refresh by short polling of ``/dashboard/panels``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from oms.admin.queries.dashboard import dashboard_counts
from oms.admin.services import services
from oms.admin.session_rows import shard_sessions
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
    gateways = shard_sessions(svc.settings.file, components)
    return {
        "counts": counts, "gateways": gateways, "mirror": mirror, "redis_error": redis_error,
        "now": now, "sessions_up": sum(g.sessions_up for g in gateways),
        "sessions_all": sum(len(g.rows) for g in gateways),
    }
