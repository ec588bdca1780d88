"""What the sample strategy trades (pure: a seeded random generator decides).

- AAPL and MSFT have simulated liquidity (a ladder of quotes 1 to 9 ticks around the reference
  price): a limit a few ticks through it fills on arrival, one far from it rests.
- ZVZZT has none: a DEMO1 order and an opposite DEMO2 order at the same price cross.
- A few orders are deliberately outside a limit (price collar, quantity, notional) or name an
  unknown symbol, to show the rejects.
Sides lean against the strategy's position, so positions stay well inside the limits.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from oms.client import Side
from oms.demo.tally import Intent, TrackedOrder
from oms.settings import InstrumentSettings

LIQUID_SYMBOLS = ("AAPL", "MSFT")
CROSS_SYMBOL = "ZVZZT"
ACCOUNTS = ("DEMO1", "DEMO2")
UNKNOWN_SYMBOL = "NOPE"
POSITION_LEAN = Decimal(20_000)
"""At this position (shares) the strategy buys with probability 0.2 instead of 0.5."""


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    reference_price: Decimal
    tick: Decimal


@dataclass(frozen=True, slots=True)
class NewOrder:
    account: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal | None
    intent: Intent


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Cancel or replace an order after ``delay_s`` (if it is still live then)."""

    action: str  # "cancel" or "replace"
    delay_s: float
    price: Decimal | None = None
    quantity: Decimal | None = None


class Ideas:
    def __init__(self, instruments: Mapping[str, Instrument], seed: int = 7,
                 risk_test_share: float = 0.03) -> None:
        missing = {*LIQUID_SYMBOLS, CROSS_SYMBOL} - set(instruments)
        if missing:
            raise ValueError(f"the settings file lacks the demo's instruments {sorted(missing)}")
        self.instruments = instruments
        self.rng = random.Random(seed)
        self.risk_test_share = risk_test_share

    def next_orders(self, positions: Mapping[tuple[str, str], Decimal]) -> list[NewOrder]:
        """One new order, or the two legs of a ZVZZT cross."""
        draw = self.rng.random()
        if draw < self.risk_test_share:
            return [self._risk_test()]
        if draw < self.risk_test_share + 0.005:
            return [NewOrder(self._account(), UNKNOWN_SYMBOL, "buy", Decimal(10),
                             Decimal("10.00"), Intent.VALIDATION_TEST)]
        if draw < 0.38:
            return [self._take(positions)]
        if draw < 0.70:
            return [self._rest(positions)]
        return self._cross(positions)

    def _account(self) -> str:
        return self.rng.choice(ACCOUNTS)

    def _side(self, account: str, symbol: str,
              positions: Mapping[tuple[str, str], Decimal]) -> Side:
        lean = max(min(positions.get((account, symbol), Decimal(0)) / POSITION_LEAN,
                       Decimal("0.3")), Decimal("-0.3"))
        return "buy" if self.rng.random() < 0.5 - float(lean) else "sell"

    def _lots(self, low: int, high: int, lot: int = 10) -> Decimal:
        return Decimal(self.rng.randint(low // lot, high // lot) * lot)

    def _take(self, positions: Mapping[tuple[str, str], Decimal]) -> NewOrder:
        account, symbol = self._account(), self.rng.choice(LIQUID_SYMBOLS)
        inst = self.instruments[symbol]
        side = self._side(account, symbol, positions)
        quantity = self._lots(10, 300)
        if self.rng.random() < 0.25:
            return NewOrder(account, symbol, side, quantity, None, Intent.TAKE)
        through = inst.tick * self.rng.randint(5, 15)
        price = inst.reference_price + (through if side == "buy" else -through)
        return NewOrder(account, symbol, side, quantity, price, Intent.TAKE)

    def _rest(self, positions: Mapping[tuple[str, str], Decimal]) -> NewOrder:
        account, symbol = self._account(), self.rng.choice(LIQUID_SYMBOLS)
        inst = self.instruments[symbol]
        side = self._side(account, symbol, positions)
        away = inst.tick * self.rng.randint(20, 300)
        price = inst.reference_price + (-away if side == "buy" else away)
        return NewOrder(account, symbol, side, self._lots(10, 200), price, Intent.REST)

    def _cross(self, positions: Mapping[tuple[str, str], Decimal]) -> list[NewOrder]:
        inst = self.instruments[CROSS_SYMBOL]
        maker, taker = self.rng.sample(ACCOUNTS, 2)
        side = self._side(maker, CROSS_SYMBOL, positions)
        other: Side = "sell" if side == "buy" else "buy"
        price = inst.reference_price + inst.tick * self.rng.randint(-5, 5)
        quantity = self._lots(100, 500, lot=100)
        taken = quantity if self.rng.random() < 0.7 else quantity - 50
        return [NewOrder(maker, CROSS_SYMBOL, side, quantity, price, Intent.CROSS_MAKER),
                NewOrder(taker, CROSS_SYMBOL, other, taken, price, Intent.CROSS_TAKER)]

    def _risk_test(self) -> NewOrder:
        account = self._account()
        kind = self.rng.randrange(3)
        if kind == 0:  # price collar: 15% through the reference price
            inst = self.instruments["AAPL"]
            price = (inst.reference_price * Decimal("1.15")).quantize(inst.tick)
            return NewOrder(account, "AAPL", "buy", Decimal(10), price, Intent.RISK_TEST)
        if kind == 1:  # max order quantity (10,000 in the default limits)
            inst = self.instruments[CROSS_SYMBOL]
            return NewOrder(account, CROSS_SYMBOL, "buy", Decimal(10_001), inst.reference_price,
                            Intent.RISK_TEST)
        inst = self.instruments["MSFT"]  # max notional: 2,500 x 420 > 1,000,000
        return NewOrder(account, "MSFT", "sell", Decimal(2_500), inst.reference_price,
                        Intent.RISK_TEST)

    # -- after the venue's ack ----------------------------------------------------------------

    def follow_up(self, order: TrackedOrder, price: Decimal | None,
                  quantity: Decimal | None) -> FollowUp | None:
        """What to do with a live order the venue has just acknowledged (``new``) or
        replaced; ``price`` and ``quantity`` are its current ones."""
        if order.intent is Intent.CROSS_MAKER:
            return FollowUp("cancel", 1.5)  # a partly crossed maker: cancel the rest
        if order.intent is not Intent.REST:
            return None
        draw = self.rng.random()
        if order.current != order.root:  # already replaced once
            return FollowUp("cancel", self.rng.uniform(0.5, 3.0)) if draw < 0.7 else None
        if draw < 0.55 or price is None or quantity is None:
            return FollowUp("cancel", self.rng.uniform(0.3, 3.0))
        if draw < 0.85:
            inst = self.instruments[order.symbol]
            toward = inst.tick * self.rng.randint(5, 60)
            new_price = price + (toward if order.side == "buy" else -toward)
            new_quantity = quantity + self._lots(-50, 100) if self.rng.random() < 0.5 else None
            if new_quantity is not None and new_quantity <= 0:
                new_quantity = None
            return FollowUp("replace", self.rng.uniform(0.3, 2.0), new_price, new_quantity)
        return None


def instruments_from(settings: Iterable[InstrumentSettings]) -> dict[str, Instrument]:
    """The settings file's instruments that have a reference price, as the demo sees them."""
    return {
        inst.symbol: Instrument(inst.symbol, inst.reference_price, inst.tick_size)
        for inst in settings if inst.reference_price is not None
    }
