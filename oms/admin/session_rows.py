"""The FIX sessions of the settings file, with the state and sequence numbers the gateway last
published in Redis (``status_view``), for the Sessions page."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from oms.admin.status_view import ComponentStatus, SessionStatus
from oms.engine.session_commands import OPERATOR_LOGGED_OUT
from oms.settings import FixSessionSettings, SettingsFile


@dataclass(frozen=True, slots=True)
class SessionRow:
    kind: str
    """``venue`` (the gateway initiates) or ``client`` (the gateway accepts)."""
    name: str
    begin_string: str
    our_comp_id: str
    their_comp_id: str
    where: str
    """``connects to host:port`` or ``accepts on port N``."""
    settings: str
    """The session settings an operator needs to know before acting on it."""
    status: SessionStatus | None = None
    health: str | None = None
    """Of the component that published the status: ``ok``, ``stale`` or ``down``."""
    reported_at: datetime | None = None

    @property
    def session(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def state(self) -> tuple[str, str]:
        """(badge class, text) of the session's state."""
        status = self.status
        if status is None:
            return "grey", "no status"
        if status.is_up:
            return ("ok", "logged on") if self.health == "ok" else ("warn", "logged on (stale)")
        if status.state == OPERATOR_LOGGED_OUT:
            return "bad", "logged out by an operator: logons refused"
        if self.kind == "client":
            return "grey", "not connected"
        return "bad", status.state.replace("_", " ")


def session_rows(file: SettingsFile, components: Sequence[ComponentStatus]) -> list[SessionRow]:
    """Every venue, then every FIX client session, each with its published status if any."""
    published = {
        (s.kind, s.name): (s, c.health, c.heartbeat) for c in components for s in c.sessions
    }
    rows = [
        SessionRow(
            kind="venue", name=v.name, begin_string=v.begin_string,
            our_comp_id=v.sender_comp_id, their_comp_id=v.target_comp_id,
            where=f"connects to {v.host}:{v.port}", settings=_settings_text(v),
        )
        for v in file.venues
    ] + [
        SessionRow(
            kind="client", name=c.session_name, begin_string=c.begin_string,
            our_comp_id=c.target_comp_id, their_comp_id=c.sender_comp_id,
            where=f"accepts on port {c.port}", settings=f"{c.kind}, {_settings_text(c)}",
        )
        for c in file.fix_clients
    ]
    out = []
    for row in rows:
        status, health, at = published.get((row.kind, row.name), (None, None, None))
        out.append(dataclasses.replace(row, status=status, health=health, reported_at=at))
    return out


def _settings_text(session: FixSessionSettings) -> str:
    resets = [when for when, on in (("logon", session.reset_on_logon),
                                    ("logout", session.reset_on_logout),
                                    ("disconnect", session.reset_on_disconnect)) if on]
    validation = f"{session.validation} validation"
    return f"{validation}; resets on {', '.join(resets)}" if resets else validation
