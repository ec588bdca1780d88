"""A gateway that cannot start says what is missing and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from pika.exceptions import AMQPConnectionError
from sqlalchemy import Engine

from oms.store.gateway_lock import GatewayLock
from tests.support.stack import free_port, test_settings

pytestmark = pytest.mark.e2e


def test_a_start_that_fails_on_the_broker_releases_the_lock_for_the_next_try(
    database_url: str, db_engine: Engine, run_id: str, tmp_path: Path
) -> None:
    from oms.gateway import Gateway

    nowhere = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"  # nothing listens there
    settings = test_settings(database_url=database_url, amqp_url=nowhere, data_dir=tmp_path)
    gateway = Gateway(settings, redis_prefix=f"oms_test_{run_id}_nostart:", name="nostart")
    with pytest.raises(AMQPConnectionError):
        gateway.start()
    again = GatewayLock(db_engine, "nostart")
    again.acquire()  # the failed gateway released its lock
    again.release()
