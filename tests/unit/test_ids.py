"""Venue ClOrdIDs are short and never repeat."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from oms.engine.ids import IdAllocator, base36


@given(st.integers(min_value=0, max_value=36**12))
def test_base36_is_unique_and_short(n: int) -> None:
    assert int(base36(n), 36) == n and len(base36(n)) <= 13


def test_ids_come_from_reserved_blocks_in_order() -> None:
    blocks = iter([[1, 2], [7, 8]])
    ids = IdAllocator("V", lambda count: next(blocks), block=2)
    assert [ids.next() for _ in range(4)] == ["V1", "V2", "V7", "V8"]
