"""quickfix acceptor settings for the simulator, built from the settings file (no .cfg file).

The OMS initiates each venue session, so the simulator accepts it with the CompIDs swapped:
its SenderCompID is the venue's ``target_comp_id`` and its TargetCompID the venue's
``sender_comp_id``. Tests may add sessions (another CompID, FIX 4.2) on the same port.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import quickfix as fix

from oms.settings import TradingHours, VenueSettings

SUPPORTED_BEGIN_STRINGS = ("FIX.4.2", "FIX.4.4")


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """One acceptor session, named from the simulator's side."""

    begin_string: str
    sender_comp_id: str
    target_comp_id: str
    port: int

    def __post_init__(self) -> None:
        if self.begin_string not in SUPPORTED_BEGIN_STRINGS:
            raise ValueError(f"unsupported FIX version {self.begin_string!r}")

    @property
    def key(self) -> str:
        """The same text as quickfix's ``SessionID.toString()``: the owner of its orders."""
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"

    def session_id(self) -> Any:
        return fix.SessionID(self.begin_string, self.sender_comp_id, self.target_comp_id)


def venue_session(venue: VenueSettings, port: int | None = None) -> SessionSpec:
    """The acceptor side of the session the OMS initiates to ``venue``."""
    return SessionSpec(
        begin_string=venue.begin_string,
        sender_comp_id=venue.target_comp_id,
        target_comp_id=venue.sender_comp_id,
        port=venue.port if port is None else port,
    )


def venue_sessions(venue: VenueSettings, port: int | None = None) -> tuple[SessionSpec, ...]:
    """The acceptor side of every session the OMS initiates to ``venue``: one per shard (each
    with its own SenderCompID, ``shard_sender_comp_ids``), or the one of a file without
    shards."""
    if not venue.shard_sender_comp_ids:
        return (venue_session(venue, port),)
    return tuple(
        venue_session(venue.model_copy(update={"sender_comp_id": comp_id}), port)
        for comp_id in venue.shard_sender_comp_ids.values())


def data_dictionary(begin_string: str) -> Path:
    name = begin_string.replace("FIX.", "FIX").replace(".", "") + ".xml"
    path = Path(sys.prefix) / "share" / "quickfix" / name
    if not path.exists():
        raise FileNotFoundError(f"quickfix data dictionary not found: {path}")
    return path


def _utc_time_of_day(local: time, hours: TradingHours, on: datetime) -> str:
    """quickfix 1.16 schedules in UTC: convert the venue's local time of day using the zone's
    offset on ``on`` (so a DST change moves it at the next restart)."""
    local_dt = datetime.combine(on.astimezone(hours.zone).date(), local, tzinfo=hours.zone)
    return local_dt.astimezone(UTC).strftime("%H:%M:%S")


def build_session_settings(
    sessions: Sequence[SessionSpec],
    data_dir: Path,
    hours: TradingHours,
    *,
    now: datetime | None = None,
) -> Any:
    """A ``quickfix.SessionSettings`` with FileStore and FileLog under ``data_dir``.

    The FIX session schedule follows the venue's hours (``StartTime``/``EndTime``); with the
    default hours (00:00:00-23:59:59 UTC) the session is up all day and resets at midnight.
    """
    if not sessions:
        raise ValueError("no sessions to accept")
    on = now or datetime.now(UTC)
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    for key, value in {
        "ConnectionType": "acceptor",
        "FileStorePath": str(data_dir / "store"),
        "FileLogPath": str(data_dir / "log"),
        "StartTime": _utc_time_of_day(hours.open, hours, on),
        "EndTime": _utc_time_of_day(hours.close, hours, on),
        "UseDataDictionary": "Y",
        "ValidateUserDefinedFields": "N",
        "ValidateFieldsOutOfOrder": "N",
        "SocketReuseAddress": "Y",
        "SocketNodelay": "Y",
        "PersistMessages": "Y",
    }.items():
        defaults.setString(key, value)
    settings.set(defaults)
    for spec in sessions:
        session = fix.Dictionary()
        session.setString("SocketAcceptPort", str(spec.port))
        session.setString("DataDictionary", str(data_dictionary(spec.begin_string)))
        settings.set(spec.session_id(), session)
    return settings
