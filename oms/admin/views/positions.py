"""Positions and exposure per account, against the account's limits; with gateway shards, the
shard of each account and the totals per shard and overall."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from oms.admin.forms import CancelAllForm
from oms.admin.queries.positions import exposure_totals, exposures
from oms.admin.queries.risk_limits import effective_limits, limits_scopes
from oms.admin.services import services
from oms.cache import CacheUnavailable

bp = Blueprint("positions", __name__)


@bp.get("/positions")
def index() -> ResponseReturnValue:
    svc = services()
    file = svc.settings.file
    prices, redis_error = {}, None
    try:
        prices = svc.cache().reference_prices()
    except CacheUnavailable as exc:
        redis_error = str(exc)
    multipliers = {i.symbol: i.multiplier for i in file.instruments}
    with svc.engine.connect() as conn:
        limits = effective_limits(limits_scopes(conn, file))
        accounts = exposures(conn, prices, multipliers, limits)
    per_shard, overall = exposure_totals(accounts, file.shard_of_account, file.shard_names)
    shard_of = {a.account: file.shard_of_account(a.account) for a in accounts} \
        if file.shards else {}
    return render_template("positions.html", accounts=accounts, redis_error=redis_error,
                           cancel_all_form=CancelAllForm(), shard_of=shard_of,
                           shard_totals=per_shard if file.shards else [], overall=overall)
