"""The venue simulator's timestamps, read back and keyed by the strategy's order index."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class VenueStamps:
    received_ns: int
    fill_sent_ns: int = 0


def read_stamps(path: Path, index_of: dict[str, int]) -> dict[int, VenueStamps]:
    """``index_of`` maps the OMS's venue ClOrdID to the strategy's order index."""
    stamps: dict[int, VenueStamps] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        kind, cl_ord_id, ns = line.split(" ")
        index = index_of.get(cl_ord_id)
        if index is None:
            continue
        if kind == "in":
            stamps.setdefault(index, VenueStamps(int(ns)))
        elif kind == "fill" and index in stamps and not stamps[index].fill_sent_ns:
            stamps[index].fill_sent_ns = int(ns)
    return stamps
