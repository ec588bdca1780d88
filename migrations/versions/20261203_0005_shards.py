"""Shards: each outbox row, operator command and kill switch belongs to one shard's gateway.

All shards share one database. A shard's outbox relay publishes only its own rows (the rows of
a shard that is down wait for it, in order), and its operator channel takes only the commands
addressed to it (the admin pages write one row per shard for a command to every shard), and
keeps its own kill switches (a switch cleared on one shard stays on the others). A
database without shards has the one shard ``main``: existing rows get it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNPUBLISHED = sa.text("published_at IS NULL AND parked_reason IS NULL")


def upgrade() -> None:
    op.add_column("outbox", sa.Column("shard", sa.String(64), nullable=False,
                                      server_default="main"))
    op.add_column("operator_commands", sa.Column("shard", sa.String(64), nullable=False,
                                                 server_default="main"))
    op.add_column("kill_switches", sa.Column("shard", sa.String(64), nullable=False,
                                             server_default="main"))
    op.drop_constraint("pk_kill_switches", "kill_switches", type_="primary")
    op.create_primary_key("pk_kill_switches", "kill_switches", ["shard", "scope", "key"])
    op.drop_index("ix_outbox_unpublished", table_name="outbox", postgresql_where=_UNPUBLISHED)
    op.create_index("ix_outbox_unpublished", "outbox", ["shard", "id"],
                    postgresql_where=_UNPUBLISHED)
    op.drop_index("ix_operator_commands_pending", table_name="operator_commands",
                  postgresql_where=sa.text("processed_at IS NULL"))
    op.create_index("ix_operator_commands_pending", "operator_commands", ["shard", "id"],
                    postgresql_where=sa.text("processed_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_operator_commands_pending", table_name="operator_commands",
                  postgresql_where=sa.text("processed_at IS NULL"))
    op.create_index("ix_operator_commands_pending", "operator_commands", ["id"],
                    postgresql_where=sa.text("processed_at IS NULL"))
    op.drop_index("ix_outbox_unpublished", table_name="outbox", postgresql_where=_UNPUBLISHED)
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], postgresql_where=_UNPUBLISHED)
    op.drop_column("operator_commands", "shard")
    op.drop_column("outbox", "shard")
    op.execute("DELETE FROM kill_switches WHERE shard <> 'main'")
    op.drop_constraint("pk_kill_switches", "kill_switches", type_="primary")
    op.create_primary_key("pk_kill_switches", "kill_switches", ["scope", "key"])
    op.drop_column("kill_switches", "shard")
