"""Small helpers for tests that read the contract's events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any


def cid(label: str) -> str:
    """A fresh ClOrdID, readable in failure messages."""
    return f"{label}-{uuid.uuid4().hex[:8]}"


def is_(cl_ord_id: str, exec_type: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the event of ``exec_type`` for the request ``cl_ord_id``."""
    return lambda e: e["cl_ord_id"] == cl_ord_id and e["exec_type"] == exec_type
