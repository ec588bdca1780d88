"""An event's body is stored once, in order_events: the outbox row names it by event_id.

The core wrote every event's JSON body twice in the same transaction (the audit row and the
outbox row): a third of the JSON PostgreSQL parsed and wrote to its WAL per order, and the
outbox row's marking (an UPDATE, so a new version of the row) copied it once more. An outbox row
of the core now carries no body (NULL); the relay reads it from order_events when it reads the
table (after a restart or a lost handoff). A row written with its own body (older rows, or a
writer other than the core) is published with that body, as before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 17:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("outbox", "body", nullable=True)


def downgrade() -> None:
    op.execute("UPDATE outbox o SET body = e.body FROM order_events e "
               "WHERE o.body IS NULL AND e.event_id = o.event_id")
    op.alter_column("outbox", "body", nullable=False)
