"""The real core's context and the ports a test plays, for tests that run the core on the real
database without a FIX session: the venue port keeps what would go on the wire, the FIX client
port keeps what each session is owed."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from fix_gateway.venue_application import venue_report_from_fields
from oms.engine.client_sessions import OwedMessage
from oms.engine.handlers import Context
from oms.engine.ids import IdAllocator
from oms.engine.ports import (
    VenueCancel,
    VenueNewOrder,
    VenueOrderRequest,
    VenueReplace,
    VenueStatusQuery,
)
from oms.engine.risk_setup import account_limits, instruments
from oms.settings import SettingsFile
from oms.store.order_store import DatabaseOrderStore
from tests.support.stack import DEFAULT_CONFIG


class PlayedVenue:
    """The venue port: every venue logged on; what would go to a venue is kept, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, VenueOrderRequest]] = []

    def is_logged_on(self, venue: str) -> bool:
        return True

    def submit(self, venue: str, order: VenueNewOrder) -> bool:
        self.sent.append((venue, order))
        return True

    def cancel(self, venue: str, request: VenueCancel) -> bool:
        self.sent.append((venue, request))
        return True

    def replace(self, venue: str, request: VenueReplace) -> bool:
        self.sent.append((venue, request))
        return True

    def request_status(self, venue: str, query: VenueStatusQuery) -> bool:
        self.sent.append((venue, query))
        return True

    def rewind(self, venue: str, next_target_seq: int) -> None:
        return None


class LoggedOnClients:
    """The FIX client port: every session logged on; what it is delivered is kept."""

    def __init__(self) -> None:
        self.delivered: list[OwedMessage] = []

    def is_logged_on(self, session: str) -> bool:
        return True

    def deliver(self, messages: Sequence[OwedMessage]) -> None:
        self.delivered += messages

    def replace_all(self, messages: Sequence[OwedMessage]) -> None:
        self.delivered = list(messages)

    def resume(self, session: str) -> None:
        return None

    def pause(self, session: str) -> None:
        return None

    def take_sent(self) -> list[int]:
        return []

    def rewind(self, session: str, next_target_seq: int) -> None:
        return None


def core_context(engine: Engine, venue: PlayedVenue, now: Callable[[], datetime],
                 **overrides: Any) -> Context:
    """The core's context from the default settings file, on ``engine``, with reference
    prices of 190.00 as of ``now()``."""
    f = SettingsFile.model_validate(tomllib.loads(DEFAULT_CONFIG.read_text()))
    defaults, per_account = account_limits(f)
    accounts = frozenset(a.name for a in f.accounts)
    store = DatabaseOrderStore(engine)
    parts: dict[str, Any] = {
        "store": store, "instruments": instruments(f), "file_default_limits": defaults,
        "file_account_limits": per_account, "user_accounts": lambda user: accounts,
        "default_user": "guest", "known_accounts": accounts,
        "venue_begin_strings": {"SIM": "FIX.4.4"}, "venue": venue,
        "reference_price": lambda symbol: (Decimal("190.00"), now()),
        "translate": venue_report_from_fields,
        "order_ids": IdAllocator("O", store.reserve_order_ids),
        "venue_ids": IdAllocator("V", store.reserve_venue_ids),
    }
    return Context(**(parts | overrides))
