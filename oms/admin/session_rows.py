"""The FIX sessions of the settings file, with the state and sequence numbers the gateway last
published in Redis (``status_view``), for the Sessions page and the dashboard.

With gateway shards each shard's gateway publishes its own status (``gateway:<shard>``) and has
its own sessions: one to every venue (with the shard's SenderCompID) and the FIX client sessions
of its accounts. Without shards there is one gateway (``gateway``), shown as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from oms.admin.status_view import ComponentStatus, SessionStatus
from oms.cache import status_component
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
    shard: str | None = None
    """The shard whose gateway has this session (None: the file has no shards)."""
    reported_by: str | None = None
    """The status component that published ``status``."""

    @property
    def session(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def row_id(self) -> str:
        """Unique on a page: a venue session is on every shard."""
        plain = f"{self.kind}-{self.name}"
        return plain if self.shard is None else f"{self.shard}-{plain}"

    @property
    def is_up(self) -> bool:
        """Logged on, as published by a gateway that is beating."""
        return self.status is not None and self.status.is_up and self.health == "ok"

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


@dataclass(frozen=True, slots=True)
class ShardSessions:
    """One gateway (one shard's, or the only one) with its published status and its sessions."""

    shard: str | None
    """None: the file has no shards."""
    component: str
    """The name its status is published under (``gateway`` or ``gateway:<shard>``)."""
    gateway: ComponentStatus | None
    rows: list[SessionRow]

    @property
    def label(self) -> str:
        return "Gateway" if self.shard is None else f"Shard {self.shard}"

    @property
    def health(self) -> str:
        """``ok``, ``stale`` or ``down`` (``down`` also when it never published)."""
        return "down" if self.gateway is None else self.gateway.health

    @property
    def sessions_up(self) -> int:
        return sum(1 for row in self.rows if row.is_up)


@dataclass(frozen=True, slots=True)
class SessionTarget:
    """A FIX session as the sequence operations address it: a venue's is on every shard (the
    operator picks one or all), a client's on the shard of its accounts."""

    kind: str
    name: str
    begin_string: str
    our_comp_ids: tuple[str, ...]
    """One per shard for a venue (each shard has its own SenderCompID towards it)."""
    their_comp_id: str
    shards: tuple[str, ...]
    """The shards that have this session; () when the file has no shards."""

    @property
    def session(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def row_id(self) -> str:
        return f"{self.kind}-{self.name}"

    @property
    def shard_choice(self) -> bool:
        """Whether the operator chooses the shard (a venue session on several shards)."""
        return len(self.shards) > 1


def session_rows(file: SettingsFile, components: Sequence[ComponentStatus],
                 shard: str | None = None) -> list[SessionRow]:
    """Every venue, then every FIX client session, each with its published status if any.
    ``file``: as the gateway runs it (``SettingsFile.shard_view`` for a shard's)."""
    published = {
        (s.kind, s.name): (s, c.health, c.heartbeat, c.name)
        for c in components for s in c.sessions
    }
    rows = [
        SessionRow(
            kind="venue", name=v.name, begin_string=v.begin_string,
            our_comp_id=v.sender_comp_id, their_comp_id=v.target_comp_id,
            where=f"connects to {v.host}:{v.port}", settings=_settings_text(v), shard=shard,
        )
        for v in file.venues
    ] + [
        SessionRow(
            kind="client", name=c.session_name, begin_string=c.begin_string,
            our_comp_id=c.target_comp_id, their_comp_id=c.sender_comp_id,
            where=f"accepts on port {c.port}", settings=f"{c.kind}, {_settings_text(c)}",
            shard=shard,
        )
        for c in file.fix_clients
    ]
    out = []
    for row in rows:
        status, health, at, by = published.get((row.kind, row.name), (None, None, None, None))
        out.append(dataclasses.replace(row, status=status, health=health, reported_at=at,
                                       reported_by=by))
    return out


def shard_sessions(file: SettingsFile, components: Sequence[ComponentStatus],
                   ) -> list[ShardSessions]:
    """Each shard's gateway (the one gateway without shards) with its status and sessions, the
    status read from the component that shard publishes."""
    by_name = {c.name: c for c in components}
    out = []
    for name in file.shard_names:
        shard = name if file.shards else None
        component = status_component(shard)
        gateway = by_name.get(component)
        view = file.shard_view(name)
        if shard is not None:
            view = view.model_copy(update={"fix_clients": tuple(
                c for c in file.fix_clients if file.shard_of_fix_client(c.session_name) == name)})
        out.append(ShardSessions(
            shard=shard, component=component, gateway=gateway,
            rows=session_rows(view, [gateway] if gateway is not None else [], shard),
        ))
    return out


def session_targets(file: SettingsFile) -> list[SessionTarget]:
    """Every FIX session once, with the shards it is on, for the sequence operations."""
    shards = tuple(s.name for s in file.shards)
    venues = [
        SessionTarget(
            kind="venue", name=v.name, begin_string=v.begin_string,
            our_comp_ids=tuple(v.shard_sender_comp_ids[s] for s in shards) if shards
            else (v.sender_comp_id,),
            their_comp_id=v.target_comp_id, shards=shards,
        )
        for v in file.venues
    ]
    clients = []
    for c in file.fix_clients:
        owner = file.shard_of_fix_client(c.session_name) if shards else None
        clients.append(SessionTarget(
            kind="client", name=c.session_name, begin_string=c.begin_string,
            our_comp_ids=(c.target_comp_id,), their_comp_id=c.sender_comp_id,
            shards=(owner,) if owner is not None else (),
        ))
    return venues + clients


def _settings_text(session: FixSessionSettings) -> str:
    resets = [when for when, on in (("logon", session.reset_on_logon),
                                    ("logout", session.reset_on_logout),
                                    ("disconnect", session.reset_on_disconnect)) if on]
    validation = f"{session.validation} validation"
    return f"{validation}; resets on {', '.join(resets)}" if resets else validation
