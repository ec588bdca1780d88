"""A second copy of the same gateway cannot run beside the first."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.store.gateway_lock import GatewayAlreadyRunningError, GatewayLock

pytestmark = pytest.mark.integration


def test_a_second_gateway_of_the_same_name_is_refused_until_the_first_stops(
    db_engine: Engine,
) -> None:
    first, second = GatewayLock(db_engine, "main"), GatewayLock(db_engine, "main")
    first.acquire()
    try:
        with pytest.raises(GatewayAlreadyRunningError):
            second.acquire()
        other = GatewayLock(db_engine, "other")
        other.acquire()  # another gateway name is independent
        other.release()
    finally:
        first.release()
    second.acquire()
    second.release()
