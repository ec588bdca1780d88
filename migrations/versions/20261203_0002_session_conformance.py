"""FIX session conformance: ClOrdIDs per trading day, requests awaiting a venue's answer.

- ``client_requests.trading_day``: the session's trading day of the request (its time zone's
  date; UTC for AMQP origins). The key becomes (origin, cl_ord_id, trading_day), so a FIX
  client may use a ClOrdID again on a later day (``cl_ord_id_scope = "day"``), and old rows can
  be purged by day.
- ``venue_request_state`` gains ``status_requested``: the venue did not answer the request in
  time and an OrderStatusRequest was sent; ``in_doubt`` now means that was not answered either
  (an operator must look).
- ``venue_requests.note``: why a request is in doubt, for the Exceptions page.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = ("pending_send", "sent", "answered", "in_doubt")


def upgrade() -> None:
    op.add_column("client_requests", sa.Column("trading_day", sa.Date(), nullable=True))
    op.execute("UPDATE client_requests SET trading_day = (received_at AT TIME ZONE 'UTC')::date")
    op.alter_column("client_requests", "trading_day", nullable=False)
    op.drop_constraint("pk_client_requests", "client_requests", type_="primary")
    op.create_primary_key("pk_client_requests", "client_requests",
                          ["origin", "cl_ord_id", "trading_day"])
    op.create_index("ix_client_requests_trading_day", "client_requests", ["trading_day"])
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE venue_request_state ADD VALUE IF NOT EXISTS 'status_requested'")
    op.add_column("venue_requests", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("venue_requests", "note")
    # PostgreSQL cannot drop an enum value: rebuild the type without it.
    op.execute("UPDATE venue_requests SET state = 'in_doubt' WHERE state = 'status_requested'")
    op.execute("ALTER TYPE venue_request_state RENAME TO venue_request_state_0002")
    states = ", ".join(f"'{s}'" for s in OLD_STATES)
    op.execute(f"CREATE TYPE venue_request_state AS ENUM ({states})")
    op.execute("DROP INDEX IF EXISTS ix_venue_requests_unsent")
    op.execute("ALTER TABLE venue_requests ALTER COLUMN state TYPE venue_request_state "
               "USING state::text::venue_request_state")
    op.execute("CREATE INDEX ix_venue_requests_unsent ON venue_requests (venue) "
               "WHERE state IN ('pending_send', 'in_doubt')")
    op.execute("DROP TYPE venue_request_state_0002")
    op.drop_index("ix_client_requests_trading_day", table_name="client_requests")
    op.drop_constraint("pk_client_requests", "client_requests", type_="primary")
    op.execute("DELETE FROM client_requests a USING client_requests b WHERE a.origin = b.origin "
               "AND a.cl_ord_id = b.cl_ord_id AND a.trading_day < b.trading_day")
    op.create_primary_key("pk_client_requests", "client_requests", ["origin", "cl_ord_id"])
    op.drop_column("client_requests", "trading_day")
