"""The venue simulator: a FIX exchange with a real limit order book (`oms venue-sim`).

The matching engine (``matching``, ``book``, ``market_maker``, ``model``) is pure and imports
no quickfix; the FIX parts are loaded when first asked for, so importing this package stays
cheap for code that only needs the engine or ``Behaviours``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fix_gateway.venue_sim.behaviours import Behaviours

if TYPE_CHECKING:
    from fix_gateway.venue_sim.session_config import SessionSpec
    from fix_gateway.venue_sim.simulator import VenueSimulator, run_venue_sim

__all__ = ["Behaviours", "SessionSpec", "VenueSimulator", "run_venue_sim"]


def __getattr__(name: str) -> Any:
    if name in ("VenueSimulator", "run_venue_sim"):
        from fix_gateway.venue_sim import simulator

        return getattr(simulator, name)
    if name == "SessionSpec":
        from fix_gateway.venue_sim.session_config import SessionSpec

        return SessionSpec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
