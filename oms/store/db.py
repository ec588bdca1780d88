"""Database engine factory and schema migration entry points.

Nothing connects at import: the composition root calls ``make_engine`` once per process (after
gunicorn forks, for the admin pages).
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine, create_engine, text
from sqlalchemy.engine import make_url

ADVISORY_LOCK_NAMESPACE = 0x0A5


STATEMENT_TIMEOUT_S = 30
"""No statement of ours runs longer (server side: a lock wait or a runaway query ends with an
error the caller handles, instead of holding the core)."""
CONNECTION_TIMEOUTS = {
    # A connection whose peer is gone (host down, network cut: a half-open TCP connection)
    # fails within about 30 s instead of hanging: keepalives probe an idle one, and
    # tcp_user_timeout bounds how long sent data may stay unacknowledged (and, once a probe
    # is out, an idle one too). The server's end gets the same (SERVER_SIDE_TIMEOUTS).
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
SERVER_SIDE_TIMEOUTS = {
    "keepalives_idle": "tcp_keepalives_idle",
    "keepalives_interval": "tcp_keepalives_interval",
    "keepalives_count": "tcp_keepalives_count",
    "tcp_user_timeout": "tcp_user_timeout",
}
"""The server's settings for its end of the connection, given the client's values: without
them PostgreSQL keeps the session of a half-open connection (its open transaction, its locks,
the gateway's advisory lock) for the kernel's keepalive time, 2 h 11 min by default."""


def connection_timeouts(url: str | URL) -> dict[str, int]:
    """``CONNECTION_TIMEOUTS``, each overridden by the URL's query parameter of the same name
    (``...?tcp_user_timeout=10000``): a deployment, or a test, tunes them in the URL."""
    query = make_url(url).query
    return {name: int(str(query[name])) if name in query else default
            for name, default in CONNECTION_TIMEOUTS.items()}


def server_options(timeouts: dict[str, int], statement_timeout_s: float) -> str:
    """The session settings sent at connection: the statement timeout, and the connection's
    TCP timeouts for the server's end too."""
    settings = [f"statement_timeout={int(statement_timeout_s * 1000)}"]
    settings += [f"{server}={timeouts[client]}" for client, server in SERVER_SIDE_TIMEOUTS.items()]
    return " ".join(f"-c {setting}" for setting in settings)


def make_engine(url: str, *, pool_size: int = 5, application_name: str = "oms",
                statement_timeout_s: float = STATEMENT_TIMEOUT_S) -> Engine:
    timeouts = connection_timeouts(url)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={
            "application_name": application_name, **timeouts,
            "options": server_options(timeouts, statement_timeout_s),
        },
    )


def migrations_dir() -> Path:
    """Where the alembic scripts are: ``OMS_MIGRATIONS_DIR``, else beside the package."""
    override = os.environ.get("OMS_MIGRATIONS_DIR")
    if override:
        return Path(override)
    beside_package = Path(__file__).resolve().parents[2] / "migrations"
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / "migrations"


def alembic_config(database_url: str) -> Config:
    directory = migrations_dir()
    ini = directory.parent / "alembic.ini"
    config = Config(str(ini)) if ini.is_file() else Config()
    config.set_main_option("script_location", str(directory))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def create_database_if_missing(database_url: str) -> bool:
    """Create the URL's database when it does not exist yet (connecting to ``postgres``).
    Returns True if it was created."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    name = url.database
    if not name:
        return False
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).scalar()
            if exists:
                return False
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
        if exists is None:
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
