"""The tables the admin pages read, as SQLAlchemy Core ``Table`` objects."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from oms.store import models

ORDERS = cast(Table, models.Order.__table__)
ORDER_EVENTS = cast(Table, models.OrderEvent.__table__)
CLIENT_REQUESTS = cast(Table, models.ClientRequest.__table__)
EXECUTIONS = cast(Table, models.Execution.__table__)
POSITIONS = cast(Table, models.Position.__table__)
VENUE_REQUESTS = cast(Table, models.VenueRequest.__table__)
FIX_MESSAGES = cast(Table, models.FixMessage.__table__)
UNMATCHED = cast(Table, models.UnmatchedReport.__table__)
KILL_SWITCHES = cast(Table, models.KillSwitch.__table__)
BREAKERS = cast(Table, models.AccountBreaker.__table__)
COMMANDS = cast(Table, models.OperatorCommand.__table__)
AUDIT = cast(Table, models.OperatorAudit.__table__)
RISK_LIMITS = cast(Table, models.RiskLimit.__table__)

TERMINAL_STATUSES = ("filled", "canceled", "rejected", "expired")
"""An order in any other status is open (it can still trade or be canceled)."""
