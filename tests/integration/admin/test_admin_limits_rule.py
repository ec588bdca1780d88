"""The limits page shows what the core applies: the same rule, checked against the core's own
``effective_limits`` (inside a transaction that is rolled back)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from oms.admin.queries.risk_limits import effective_limits, limits_scopes
from oms.admin.queries.tables import RISK_LIMITS
from oms.engine.operator_commands import effective_limits as core_effective_limits
from oms.engine.risk_setup import account_limits
from oms.settings import Settings

pytestmark = pytest.mark.integration

EDITS = {
    "*": {"max_order_qty": "777", "restricted_symbols": ["GME"]},
    "DEMO1": {"max_order_notional": "5000", "restricted_symbols": ["AMC"]},
    "NEWACCT": {"max_open_orders": 3},
}


def test_the_page_and_the_core_agree_on_every_accounts_limits(
    admin_engine: Engine, admin_settings: Settings
) -> None:
    with admin_engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(RISK_LIMITS.delete())
            conn.execute(RISK_LIMITS.insert(), [
                {"account": a, "limits": m, "version": 1, "updated_by": "t",
                 "updated_at": datetime.now(UTC)} for a, m in EDITS.items()])
            shown = effective_limits(limits_scopes(conn, admin_settings.file))
            rows = [dict(r) for r in conn.execute(select(RISK_LIMITS)).mappings()]
        finally:
            transaction.rollback()
    file_defaults, file_accounts = account_limits(admin_settings.file)
    _, applied = core_effective_limits(file_defaults, file_accounts, rows)
    assert shown == applied
    assert shown["DEMO2"].max_order_qty == 777  # an edit of the defaults reaches every account
    assert shown["DEMO1"].restricted_symbols == {"GME", "AMC"}
    assert shown["NEWACCT"].max_open_orders == 3
