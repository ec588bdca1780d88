"""Executions are unique per order, not per venue for all time.

FIX promises ExecID uniqueness only within a trading day, and a venue restart can reuse
ExecIDs: with UNIQUE (venue, exec_id), a fill for one order reusing another order's ExecID
failed every batch commit, and the venue was cut off again and again. A genuine duplicate (the
same ExecID on the same order) is dropped by the order itself before it is written; the key
(order_id, exec_id) is the backstop. (venue, exec_id) stays indexed for lookups.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("uq_executions_venue_exec_id", "executions", type_="unique")
    op.create_unique_constraint("uq_executions_order_id_exec_id", "executions",
                                ["order_id", "exec_id"])
    op.create_index("ix_executions_venue_exec_id", "executions", ["venue", "exec_id"])


def downgrade() -> None:
    op.drop_index("ix_executions_venue_exec_id", table_name="executions")
    op.drop_constraint("uq_executions_order_id_exec_id", "executions", type_="unique")
    # a reused ExecID cannot go back under the old key: keep the first of each
    op.execute("DELETE FROM executions a USING executions b WHERE a.venue = b.venue"
               " AND a.exec_id = b.exec_id AND a.id > b.id")
    op.create_unique_constraint("uq_executions_venue_exec_id", "executions",
                                ["venue", "exec_id"])
