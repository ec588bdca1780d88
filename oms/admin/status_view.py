"""The live status the gateway publishes in Redis, read for display.

The gateway writes, per component, ``heartbeat`` (ISO time), ``inbox_depth``, ``last_batch``
and per FIX session ``venue:<name>`` or ``client:<name>`` = ``"<state> <sender_seq>
<target_seq>"`` (state ``logged_on``, ``down`` or ``logged_out_by_operator``: logons refused
until an operator logs the session on); any other field (a latency figure, say) is shown as it
is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

STALE_AFTER_S = 5.0
DEAD_AFTER_S = 30.0
SESSION_PREFIXES = ("venue:", "client:")
KNOWN_FIELDS = frozenset({"heartbeat", "inbox_depth", "last_batch", "updated_at"})


@dataclass(frozen=True, slots=True)
class SessionStatus:
    kind: str
    name: str
    state: str
    sender_seq: str
    target_seq: str

    @property
    def is_up(self) -> bool:
        return self.state == "logged_on"


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    name: str
    heartbeat: datetime | None
    age_s: float | None
    inbox_depth: str
    last_batch: str
    sessions: tuple[SessionStatus, ...]
    other: tuple[tuple[str, str], ...] = field(default=())

    @property
    def health(self) -> str:
        """``ok``, ``stale`` (no heartbeat for a few seconds) or ``down``."""
        if self.age_s is None or self.age_s >= DEAD_AFTER_S:
            return "down"
        return "stale" if self.age_s >= STALE_AFTER_S else "ok"


def read_components(raw: Mapping[str, Mapping[str, str]], now: datetime) -> list[ComponentStatus]:
    return [_component(name, fields, now) for name, fields in sorted(raw.items())]


def _component(name: str, fields: Mapping[str, str], now: datetime) -> ComponentStatus:
    beat = _time(fields.get("heartbeat") or fields.get("updated_at"))
    sessions = []
    other = []
    for key, value in sorted(fields.items()):
        if key.startswith(SESSION_PREFIXES):
            kind, _, session = key.partition(":")
            parts = value.split()
            parts += ["?"] * (3 - len(parts))
            sessions.append(SessionStatus(kind, session, parts[0], parts[1], parts[2]))
        elif key not in KNOWN_FIELDS:
            other.append((key, value))
    return ComponentStatus(
        name=name, heartbeat=beat,
        age_s=None if beat is None else max(0.0, (now - beat).total_seconds()),
        inbox_depth=fields.get("inbox_depth", "?"), last_batch=fields.get("last_batch", "?"),
        sessions=tuple(sessions), other=tuple(other),
    )


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
