"""In-doubt orders and unmatched execution reports awaiting an operator."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from oms.admin import actions
from oms.admin.auth import requires
from oms.admin.forms import CLOSE_STATUSES, CloseOrderForm, ReasonForm, ResolveUnmatchedForm, text
from oms.admin.queries.exceptions import in_doubt_orders, unmatched_reports
from oms.admin.roles import Permission
from oms.admin.services import services
from oms.admin.views.common import acting_operator, flash_form_errors, flash_issued

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
        close_statuses=CLOSE_STATUSES,
    )


@bp.post("/orders/<order_id>/close")
@requires(Permission.RESOLVE_REPORTS)
def close_order(order_id: str) -> ResponseReturnValue:
    form = CloseOrderForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
    else:
        try:
            svc = services()
            command_id = actions.close_order(
                svc.engine, acting_operator(), svc.settings.file, order_id=order_id,
                status=text(form.status), reason=text(form.reason),
            )
            flash_issued(command_id, f"close order {order_id} as {text(form.status)}")
        except actions.ActionRefused as exc:
            flash(str(exc), "error")
    return redirect(url_for("exceptions.index"))


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
