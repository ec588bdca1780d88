"""Small helpers for tests that read the contract's events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from oms.client import OrderEvent, StrategyClient


def cid(label: str) -> str:
    """A fresh ClOrdID, readable in failure messages."""
    return f"{label}-{uuid.uuid4().hex[:8]}"


def is_(cl_ord_id: str, exec_type: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the event of ``exec_type`` for the request ``cl_ord_id``."""
    return lambda e: e["cl_ord_id"] == cl_ord_id and e["exec_type"] == exec_type


def first_events(client: StrategyClient, count: int, timeout: float = 15.0) -> list[OrderEvent]:
    """The first ``count`` events the strategy client hands out (fewer if none comes for
    ``timeout`` seconds)."""
    got: list[OrderEvent] = []
    for event in client.events(idle_timeout=timeout):
        got.append(event)
        if len(got) >= count:
            break
    return got
