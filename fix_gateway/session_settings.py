"""quickfix session settings built from the settings file (no .cfg files to keep in step).

Venue sessions are initiated by the gateway; FIX client sessions are accepted by it. The store
and log of each side live under ``<data_dir>/fix/<role>/``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import quickfix as fix

from oms.settings import FixClientSettings, FixSessionSettings, TradingHours, VenueSettings

STRICT = {
    # What the FIX spec says a session must refuse (a session Reject, 35=3, with 45/371/372/373).
    # The order of the fields inside a repeating group entry (373=15), which quickfix does not
    # check, is checked by the client acceptor on strict sessions (``inbound_log``).
    "AllowUnknownMsgFields": "N",        # undefined tag (373=0), tag not in the type (373=2),
                                         # NumInGroup not matching the entries (373=16)
    "ValidateUserDefinedFields": "Y",    # user-defined tags (>= 5000) not in the dictionary
    "ValidateFieldsOutOfOrder": "Y",     # header/body/trailer order (373=14)
    "ValidateFieldsHaveValues": "Y",     # tag without a value (373=4)
}
LENIENT = {
    # The gateway's behaviour before the setting existed, for counterparties that send their own
    # tags without publishing a dictionary: undefined, user-defined and misplaced tags are
    # accepted (and ignored), and so, as quickfix skips its tag checks then, are NumInGroup
    # counts; group field order is not checked. Required tags, values (format, enumerations),
    # empty tags, repeated tags and header/body/trailer order are validated as above.
    "AllowUnknownMsgFields": "Y",
    "ValidateUserDefinedFields": "N",
    "ValidateFieldsOutOfOrder": "Y",
    "ValidateFieldsHaveValues": "Y",
}


def data_dictionary(begin_string: str) -> str:
    name = begin_string.replace(".", "")  # FIX.4.4 -> FIX44
    return str(Path(sys.prefix) / "share" / "quickfix" / f"{name}.xml")


@dataclass(frozen=True, slots=True)
class SessionKey:
    """Our name for a FIX session: BeginString:SenderCompID->TargetCompID from our side."""

    begin_string: str
    sender_comp_id: str
    target_comp_id: str

    def session_id(self) -> fix.SessionID:
        return fix.SessionID(self.begin_string, self.sender_comp_id, self.target_comp_id)

    def __str__(self) -> str:
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"

    @classmethod
    def of(cls, session_id: fix.SessionID) -> SessionKey:
        return cls(
            session_id.getBeginString().getValue(),
            session_id.getSenderCompID().getValue(),
            session_id.getTargetCompID().getValue(),
        )


def venue_session_key(venue: VenueSettings) -> SessionKey:
    return SessionKey(venue.begin_string, venue.sender_comp_id, venue.target_comp_id)


def client_session_key(client: FixClientSettings) -> SessionKey:
    return SessionKey(client.begin_string, client.target_comp_id, client.sender_comp_id)


def _schedule(d: fix.Dictionary, hours: TradingHours, today: date) -> None:
    if hours.open <= time(0, 0) and hours.close >= time(23, 59, 59):
        d.setString("NonStopSession", "Y")
        return
    zone = hours.zone
    start = datetime.combine(today, hours.open, zone).astimezone(UTC)
    end = datetime.combine(today, hours.close, zone).astimezone(UTC)
    d.setString("StartTime", start.strftime("%H:%M:%S"))
    d.setString("EndTime", end.strftime("%H:%M:%S"))


def _paths(d: fix.Dictionary, store: Path) -> None:
    d.setString("FileStorePath", str(store / "store"))
    d.setString("FileLogPath", str(store / "log"))


def _common(d: fix.Dictionary, session: FixSessionSettings, store: Path,
            heartbeat_s: int) -> None:
    begin_string = session.begin_string
    d.setString("BeginString", begin_string)
    _paths(d, store)
    d.setString("UseDataDictionary", "Y")
    d.setString("DataDictionary", data_dictionary(begin_string))
    d.setString("HeartBtInt", str(heartbeat_s))
    for key, value in (STRICT if session.validation == "strict" else LENIENT).items():
        d.setString(key, value)
    d.setString("ResetOnLogon", _yes(session.reset_on_logon))
    d.setString("ResetOnLogout", _yes(session.reset_on_logout))
    d.setString("ResetOnDisconnect", _yes(session.reset_on_disconnect))
    d.setString("PersistMessages", "Y")
    d.setString("MillisecondsInTimeStamp", "Y")


def _yes(flag: bool) -> str:
    return "Y" if flag else "N"


def venue_initiator_settings(
    venues: list[VenueSettings], data_dir: Path, today: date
) -> fix.SessionSettings:
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    defaults.setString("ConnectionType", "initiator")
    _paths(defaults, data_dir / "fix" / "venues")
    settings.set(defaults)
    for venue in venues:
        d = fix.Dictionary()
        _common(d, venue, data_dir / "fix" / "venues", venue.heartbeat_s)
        d.setString("SocketConnectHost", venue.host)
        d.setString("SocketConnectPort", str(venue.port))
        d.setString("ReconnectInterval", str(venue.reconnect_s))
        d.setString("SocketNodelay", "Y")
        _schedule(d, venue.hours, today)
        settings.set(venue_session_key(venue).session_id(), d)
    return settings


def client_acceptor_settings(
    clients: list[FixClientSettings], data_dir: Path, today: date
) -> fix.SessionSettings:
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    defaults.setString("ConnectionType", "acceptor")
    _paths(defaults, data_dir / "fix" / "clients")
    settings.set(defaults)
    for client in clients:
        d = fix.Dictionary()
        _common(d, client, data_dir / "fix" / "clients", 30)
        d.setString("SocketAcceptPort", str(client.port))
        d.setString("SocketNodelay", "Y")
        if client.allowed_ips:  # checked before the Logon by quickfix's threaded acceptor
            d.setString("AllowedRemoteAddresses", ",".join(client.allowed_ips))
        _schedule(d, client.hours, today)
        settings.set(client_session_key(client).session_id(), d)
    return settings
