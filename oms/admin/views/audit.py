"""The operator audit log."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from oms.admin.queries.audit_log import AuditFilter, audit_actions, audit_page
from oms.admin.services import services

bp = Blueprint("audit", __name__)


@bp.get("/audit")
def index() -> ResponseReturnValue:
    f = AuditFilter.from_args(request.args)
    with services().engine.connect() as conn:
        rows, has_next = audit_page(conn, f)
        actions = audit_actions(conn)
    return render_template("audit.html", f=f, rows=rows, has_next=has_next, actions=actions)
