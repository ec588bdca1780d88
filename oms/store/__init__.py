"""PostgreSQL persistence: models (owned by alembic), engine factory, repositories, outbox."""
