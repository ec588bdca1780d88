"""Inputs on the core's one inbox. Adapters (quickfix callbacks, the AMQP consumer, the operator
channel, timers) only build one of these and put it on the inbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class VenueMessage:
    """An application message from a venue session (ExecutionReport, OrderCancelReject, ...)."""

    venue: str
    msg_type: str
    fields: dict[int, str]
    seq_num: int
    received_ns: int


@dataclass(frozen=True, slots=True)
class VenueSessionChanged:
    venue: str
    logged_on: bool
    next_sender_seq: int = 0
    next_target_seq: int = 0


@dataclass(frozen=True, slots=True)
class ClientFixMessage:
    """An application message from a FIX client session."""

    session: str
    msg_type: str
    fields: dict[int, str]
    seq_num: int
    received_ns: int


@dataclass(frozen=True, slots=True)
class ClientSessionChanged:
    session: str
    logged_on: bool
    clean_logout: bool = False


@dataclass(frozen=True, slots=True)
class OperatorCommandReceived:
    command_id: int
    kind: str
    payload: dict[str, Any]
    issued_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class Tick:
    """A timer input: expiries, in-doubt resolution retries, status publication."""

    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class Stop:
    """Asks the core to finish the current batch and return."""

    reason: str = "shutdown"
    extra: dict[str, Any] = field(default_factory=dict)
