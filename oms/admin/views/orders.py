"""The order blotter (live refresh), order detail, and operator cancels."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from oms.admin import actions
from oms.admin.auth import requires
from oms.admin.forms import CancelAllForm, ReasonForm, text
from oms.admin.queries.orders import (
    STATUS_CHOICES,
    BlotterFilter,
    blotter,
    open_order_count,
    order_detail,
)
from oms.admin.roles import Permission
from oms.admin.services import services
from oms.admin.views.common import acting_operator, flash_form_errors, flash_issued, partial

bp = Blueprint("orders", __name__)


@bp.get("/orders")
def index() -> ResponseReturnValue:
    f = BlotterFilter.from_args(request.args)
    with services().engine.connect() as conn:
        page = blotter(conn, f)
    file = services().settings.file
    return render_template(
        "orders.html", f=f, page=page, statuses=STATUS_CHOICES,
        accounts=sorted(a.name for a in file.accounts), venues=[v.name for v in file.venues],
        symbols=sorted(i.symbol for i in file.instruments), cancel_all_form=CancelAllForm(),
    )


@bp.get("/orders/rows")
def rows() -> ResponseReturnValue:
    f = BlotterFilter.from_args(request.args)
    with services().engine.connect() as conn:
        page = blotter(conn, f)
    return partial(render_template("orders_rows.html", page=page))


@bp.get("/orders/<order_id>")
def detail(order_id: str) -> ResponseReturnValue:
    with services().engine.connect() as conn:
        found = order_detail(conn, order_id)
    if found is None:
        abort(404)
    return render_template("order_detail.html", d=found, cancel_form=ReasonForm())


@bp.post("/orders/<order_id>/cancel")
@requires(Permission.CANCEL_ORDERS)
def cancel(order_id: str) -> ResponseReturnValue:
    form = ReasonForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
    else:
        try:
            svc = services()
            command_id = actions.cancel_order(
                svc.engine, acting_operator(), svc.settings.file, order_id=order_id,
                reason=text(form.reason),
            )
            flash_issued(command_id, f"cancel order {order_id}")
        except actions.ActionRefused as exc:
            flash(str(exc), "error")
    return redirect(url_for("orders.detail", order_id=order_id))


@bp.post("/accounts/cancel-all")
@requires(Permission.CANCEL_ORDERS)
def cancel_all() -> ResponseReturnValue:
    """Two steps: the first post shows what would be canceled; the confirmed one does it."""
    form = CancelAllForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return redirect(url_for("orders.index"))
    account = text(form.account)
    svc = services()
    if text(form.confirm) != "yes":
        with svc.engine.connect() as conn:
            known = actions.known_accounts(conn, svc.settings.file)
            count = open_order_count(conn, account=account)
        if account not in known:
            flash(f"unknown account {account}", "error")
            return redirect(url_for("orders.index"))
        consequences = [f"{count} open order(s) of account {account} will be canceled.",
                        "New orders of the account are still accepted (use the kill switch "
                        "to stop them)."]
        if svc.settings.file.shards:
            shard = svc.settings.file.shard_of_account(account)
            consequences.append(f"The gateway of shard {shard} cancels them." if shard else
                                f"No shard owns account {account}: no gateway can act on it.")
        return render_template(
            "confirm.html", form=form, action=url_for("orders.cancel_all"),
            title=f"Cancel all open orders of {account}", consequences=consequences,
            button="Cancel all orders", hidden={"account": account},
            back=url_for("orders.index", account=account, status="open"),
        )
    try:
        command_id = actions.cancel_all(svc.engine, acting_operator(), svc.settings.file,
                                        account=account, reason=text(form.reason))
        flash_issued(command_id, f"cancel all open orders of {account}")
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
    return redirect(url_for("orders.index", account=account, status="open"))
