"""The alembic history applies to an empty database, removes everything it made, and re-applies."""

from __future__ import annotations

import psycopg
import pytest

from oms.store.db import downgrade, upgrade
from tests.support.isolation import TestDatabase

pytestmark = pytest.mark.integration


def _objects(database: TestDatabase) -> dict[str, set[str]]:
    with psycopg.connect(database.libpq_dsn()) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        types = {r[0] for r in conn.execute(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND t.typtype = 'e'")}
        sequences = {r[0] for r in conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")}
    return {"tables": tables, "types": types, "sequences": sequences}


def test_upgrade_downgrade_to_base_and_upgrade_again(run_id: str) -> None:
    database = TestDatabase.create(run_id, suffix="_migrations")
    try:
        upgrade(database.url)
        created = _objects(database)
        assert {"orders", "order_events", "executions", "positions", "risk_limits", "instruments",
                "venue_requests", "fix_session_watermarks", "outbox", "client_outbox",
                "operators", "operator_audit", "kill_switches", "operator_commands",
                "unmatched_reports", "account_breakers"} <= created["tables"]
        assert {"side", "ord_status", "exec_type", "operator_role"} <= created["types"]
        assert {"order_id_seq", "venue_cl_ord_id_seq"} <= created["sequences"]

        downgrade(database.url, "base")
        left = _objects(database)
        assert left["tables"] == {"alembic_version"}
        assert left["types"] == set(), "downgrade must drop the enum types it created"
        assert left["sequences"] == set()

        upgrade(database.url)
        assert _objects(database) == created
    finally:
        database.drop()


def test_each_revision_steps_down_and_up_again_to_what_the_models_declare(run_id: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from oms.store.models import Base

    database = TestDatabase.create(run_id, suffix="_steps")
    engine = create_engine(database.url)
    try:
        upgrade(database.url)
        for step in ("0002", "0001"):  # one revision down at a time, data kept
            downgrade(database.url, step)
        upgrade(database.url)
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert differences == [], differences
    finally:
        engine.dispose()
        database.drop()
