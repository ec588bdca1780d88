"""The loopback stack with FIX client sessions of every kind, for the FIX client tests.

CLIENT1 is the default configuration's session (FIX 4.4, account CLIENT1); the others are added
for the tests: a FIX 4.2 session, a drop copy, a password-protected session, one restricted to a
source address, and two with cancel-on-disconnect.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oms.settings import Settings
from tests.support.stack import free_port, test_settings

PASSWORD_ENV = "OMS_TEST_FIX_SECURE_PASSWORD"
PASSWORD = "correct horse battery staple"


def add_client_sessions(raw: dict[str, Any]) -> None:
    raw["accounts"] += [{"name": "CLIENT2"}, {"name": "CLIENT3"}, {"name": "CLIENT4"}]
    raw["fix_clients"] += [
        {"sender_comp_id": "CLIENT42", "fix_version": "4.2", "port": free_port(),
         "accounts": ["CLIENT2"]},
        {"sender_comp_id": "DROPCOPY", "kind": "drop_copy", "port": free_port(),
         "accounts": ["CLIENT1", "DEMO2"]},
        {"sender_comp_id": "SECURE", "port": free_port(), "accounts": ["CLIENT3"],
         "password_env": PASSWORD_ENV},
        {"sender_comp_id": "FENCED", "port": free_port(), "accounts": ["CLIENT3"],
         "allowed_ips": ["127.0.0.2"]},
        {"sender_comp_id": "CODCLIENT", "port": free_port(), "accounts": ["CLIENT4"],
         "cancel_on_disconnect": True, "cancel_on_disconnect_grace_s": "0"},
        {"sender_comp_id": "CODLOGOUT", "port": free_port(), "accounts": ["CLIENT4"],
         "cancel_on_disconnect": True, "cancel_on_logout": False},
    ]


def client_settings(database_url: str, amqp_url: str, data_dir: Path) -> Settings:
    return test_settings(database_url=database_url, amqp_url=amqp_url, data_dir=data_dir,
                         edit=add_client_sessions)


def port_of(settings: Settings, session: str) -> int:
    for client in settings.file.fix_clients:
        if client.sender_comp_id == session:
            return client.port
    raise KeyError(session)


@contextmanager
def venue_running(settings: Settings, data_dir: Path) -> Iterator[object]:
    from fix_gateway.venue_sim import VenueSimulator

    venue = VenueSimulator(settings, "SIM", data_dir=data_dir / "venue-sim")
    venue.start()
    try:
        yield venue
    finally:
        venue.stop()


@contextmanager
def gateway_running(settings: Settings, redis_prefix: str) -> Iterator[Any]:
    from oms.gateway import Gateway

    previous = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = PASSWORD
    gateway = Gateway(settings, redis_prefix=redis_prefix)
    try:
        gateway.start()
        assert gateway.wait_until_ready(30), "gateway not ready: venue or broker not connected"
        yield gateway
    finally:
        gateway.stop()
        if previous is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = previous
