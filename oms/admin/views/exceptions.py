"""In-doubt orders and unmatched execution reports awaiting an operator."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from oms.admin import actions
from oms.admin.auth import requires
from oms.admin.forms import ReasonForm, ResolveUnmatchedForm, text
from oms.admin.queries.exceptions import in_doubt_orders, unmatched_reports
from oms.admin.roles import Permission
from oms.admin.services import services
from oms.admin.views.common import acting_operator, flash_form_errors

bp = Blueprint("exceptions", __name__)


@bp.get("/exceptions")
def index() -> ResponseReturnValue:
    with services().engine.connect() as conn:
        in_doubt = in_doubt_orders(conn)
        waiting = unmatched_reports(conn, resolved=False)
        resolved = unmatched_reports(conn, resolved=True, limit=50)
    return render_template(
        "exceptions.html", in_doubt=in_doubt, waiting=waiting, resolved=resolved,
        resolve_form=ResolveUnmatchedForm(), cancel_form=ReasonForm(),
    )


@bp.post("/exceptions/unmatched/<int:report_id>/resolve")
@requires(Permission.RESOLVE_REPORTS)
def resolve(report_id: int) -> ResponseReturnValue:
    form = ResolveUnmatchedForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
    else:
        try:
            actions.resolve_unmatched(services().engine, acting_operator(), report_id=report_id,
                                      resolution=text(form.resolution))
            flash(f"Unmatched report {report_id} marked resolved.", "ok")
        except actions.ActionRefused as exc:
            flash(str(exc), "error")
    return redirect(url_for("exceptions.index"))
