"""The matching engine: order books for every symbol, and what each command does to them.

Pure and single-threaded: no I/O, no locks, and the clock is passed in. Every command returns
the reports it caused, in the order they happened, each addressed to the session that owns the
order (reports for the market maker's own orders are not produced at all).

Exchange rules:
- price-time priority; a trade happens at the resting order's price;
- a market order, and what an IOC order cannot fill at once, is canceled, never rests;
- a FOK order trades in full on arrival or is canceled without trading;
- cancel/replace: a price change or a quantity increase loses time priority, a quantity
  decrease keeps it; a replace may make an order marketable, and then it trades at once;
- orders are found by (session, ClOrdID): every ClOrdID an order carried finds it, and
  completed orders are remembered (up to ``completed_capacity``) so that status requests and
  late cancels get a true answer.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from itertools import count

from fix_gateway.venue_sim.book import OrderBook
from fix_gateway.venue_sim.market_maker import MarketMaker
from fix_gateway.venue_sim.model import (
    ZERO,
    CancelOrder,
    CancelReject,
    CxlRejReason,
    CxlRejResponseTo,
    ExecKind,
    ExecutionReport,
    InstrumentRules,
    NewOrder,
    Order,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Owner,
    ReplaceOrder,
    Report,
    Side,
    StatusRequest,
    TimeInForce,
)

Clock = Callable[[], datetime]
OrderKey = tuple[Owner, str]


class MatchingEngine:
    def __init__(
        self,
        instruments: Iterable[InstrumentRules],
        clock: Clock,
        *,
        id_prefix: str = "",
        completed_capacity: int = 100_000,
    ) -> None:
        self._rules = {rules.symbol: rules for rules in instruments}
        self._books = {symbol: OrderBook(symbol) for symbol in self._rules}
        self._clock = clock
        self._live: dict[OrderKey, Order] = {}
        self._live_by_id: dict[str, Order] = {}
        self._completed: OrderedDict[OrderKey, Order] = OrderedDict()
        self._completed_capacity = completed_capacity
        self._makers: dict[str, MarketMaker] = {}
        self._order_seq = count(1)
        self._exec_seq = count(1)
        self._prefix = id_prefix

    # -- queries ---------------------------------------------------------------------------

    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(self._rules)

    def book(self, symbol: str) -> OrderBook:
        return self._books[symbol]

    def find(self, owner: Owner, cl_ord_id: str) -> Order | None:
        """The order that carried this ClOrdID, live or recently completed."""
        key = (owner, cl_ord_id)
        return self._live.get(key) or self._completed.get(key)

    def live_order(self, order_id: str) -> Order | None:
        return self._live_by_id.get(order_id)

    def live_orders(self) -> list[Order]:
        """Resting orders of the sessions (not the market maker's), oldest first."""
        return list(self._live_by_id.values())

    # -- market maker ----------------------------------------------------------------------

    def add_market_maker(self, maker: MarketMaker) -> None:
        if maker.symbol not in self._books:
            raise KeyError(f"no instrument {maker.symbol!r} for the market maker")
        self._makers[maker.symbol] = maker
        self._replenish(maker.symbol)

    def _replenish(self, symbol: str) -> None:
        maker = self._makers.get(symbol)
        if maker is None:
            return
        book = self._books[symbol]

        def post(side: Side, price: Decimal, quantity: Decimal) -> Order:
            order = Order(
                order_id=self._next_order_id(),
                cl_ord_id="",
                orig_cl_ord_id=None,
                owner=None,
                account=None,
                symbol=symbol,
                side=side,
                ord_type=OrdType.LIMIT,
                tif=TimeInForce.GTC,
                quantity=quantity,
                price=price,
            )
            book.side(side).add(order)
            return order

        maker.replenish(book, post)

    # -- commands --------------------------------------------------------------------------

    def submit(self, cmd: NewOrder) -> list[Report]:
        now = self._clock()
        if self.find(cmd.owner, cmd.cl_ord_id) is not None:
            return [self._duplicate_reject(cmd, now)]
        problem = self._check_new(cmd)
        if problem is not None:
            return [self._reject_new(cmd, now, *problem)]
        order = self._order_from(cmd)
        reports: list[Report] = [self._report(order, ExecKind.NEW, now)]
        self._execute(order, reports, now)
        self._replenish(order.symbol)
        return reports

    def reject(self, cmd: NewOrder, text: str) -> list[Report]:
        """Reject a new order for a reason decided outside the engine (an injected behaviour).
        The ClOrdID is remembered, as for any reject."""
        now = self._clock()
        if self.find(cmd.owner, cmd.cl_ord_id) is not None:
            return [self._duplicate_reject(cmd, now)]
        return [self._reject_new(cmd, now, text, OrdRejReason.OTHER)]

    def cancel(self, cmd: CancelOrder) -> list[Report]:
        now = self._clock()
        order = self._live.get((cmd.owner, cmd.orig_cl_ord_id))
        if order is None:
            return [
                self._not_live(
                    cmd.owner, cmd.cl_ord_id, cmd.orig_cl_ord_id, CxlRejResponseTo.CANCEL, now
                )
            ]
        if self.find(cmd.owner, cmd.cl_ord_id) is not None:
            return [
                self._cancel_reject(
                    order, cmd.cl_ord_id, cmd.orig_cl_ord_id, CxlRejResponseTo.CANCEL, now
                )
            ]
        self._books[order.symbol].side(order.side).remove(order)
        self._rename(order, cmd.cl_ord_id)
        self._retire(order, OrdStatus.CANCELED)
        report = self._report(order, ExecKind.CANCELED, now)
        self._replenish(order.symbol)
        return [report]

    def replace(self, cmd: ReplaceOrder) -> list[Report]:
        now = self._clock()
        order = self._live.get((cmd.owner, cmd.orig_cl_ord_id))
        if order is None:
            return [
                self._not_live(
                    cmd.owner, cmd.cl_ord_id, cmd.orig_cl_ord_id, CxlRejResponseTo.REPLACE, now
                )
            ]
        if self.find(cmd.owner, cmd.cl_ord_id) is not None:
            return [
                self._cancel_reject(
                    order, cmd.cl_ord_id, cmd.orig_cl_ord_id, CxlRejResponseTo.REPLACE, now
                )
            ]
        problem = self._check_replace(order, cmd)
        if problem is not None:
            return [
                self._cancel_reject(
                    order,
                    cmd.cl_ord_id,
                    cmd.orig_cl_ord_id,
                    CxlRejResponseTo.REPLACE,
                    now,
                    CxlRejReason.EXCHANGE_OPTION,
                    problem,
                )
            ]
        keeps_priority = cmd.price == order.price and cmd.quantity <= order.quantity
        book_side = self._books[order.symbol].side(order.side)
        if not keeps_priority:
            book_side.remove(order)
        self._rename(order, cmd.cl_ord_id)
        order.quantity = cmd.quantity
        order.price = cmd.price
        reports: list[Report] = [self._report(order, ExecKind.REPLACED, now)]
        if not keeps_priority:
            self._match(order, reports, now)
            if order.is_live:
                book_side.add(order)
        self._replenish(order.symbol)
        return reports

    def status(self, cmd: StatusRequest) -> list[Report]:
        now = self._clock()
        order = self.find(cmd.owner, cmd.cl_ord_id)
        if order is not None:
            return [self._report(order, ExecKind.STATUS, now)]
        unknown = Order(
            order_id="NONE",
            cl_ord_id=cmd.cl_ord_id,
            orig_cl_ord_id=None,
            owner=cmd.owner,
            account=None,
            symbol=cmd.symbol,
            side=cmd.side,
            ord_type=OrdType.LIMIT,
            tif=TimeInForce.DAY,
            quantity=ZERO,
            price=None,
            status=OrdStatus.REJECTED,
        )
        return [self._report(unknown, ExecKind.STATUS, now, text="unknown order")]

    def cancel_unsolicited(
        self, order_id: str, text: str = "canceled by the exchange"
    ) -> list[Report]:
        """Cancel a resting order on the exchange's own initiative (no request)."""
        order = self._live_by_id.get(order_id)
        if order is None:
            return []
        now = self._clock()
        self._books[order.symbol].side(order.side).remove(order)
        self._retire(order, OrdStatus.CANCELED)
        report = self._report(order, ExecKind.CANCELED, now, text=text)
        self._replenish(order.symbol)
        return [report]

    def expire_day_orders(self) -> list[Report]:
        """End of the trading day: every resting DAY order expires (GTC orders stay)."""
        now = self._clock()
        reports: list[Report] = []
        for order in list(self._live_by_id.values()):
            if order.tif is not TimeInForce.DAY:
                continue
            self._books[order.symbol].side(order.side).remove(order)
            self._retire(order, OrdStatus.EXPIRED)
            reports.append(self._report(order, ExecKind.EXPIRED, now, text="day order expired"))
        return reports

    # -- matching --------------------------------------------------------------------------

    def _execute(self, order: Order, reports: list[Report], now: datetime) -> None:
        """Trade a new order on arrival, then rest it or cancel what is left."""
        book = self._books[order.symbol]
        if order.tif is TimeInForce.FOK:
            limit = order.price if order.ord_type is OrdType.LIMIT else None
            wanted = order.quantity
            if book.opposite(order.side).quantity_up_to(limit, wanted) < wanted:
                self._retire(order, OrdStatus.CANCELED)
                text = "fill or kill: not enough quantity to fill in full"
                reports.append(self._report(order, ExecKind.CANCELED, now, text=text))
                return
        self._match(order, reports, now)
        if not order.is_live:
            return
        if order.ord_type is OrdType.MARKET or order.tif in (TimeInForce.IOC, TimeInForce.FOK):
            self._retire(order, OrdStatus.CANCELED)
            text = "no liquidity" if order.cum_qty == 0 else "remaining quantity canceled"
            reports.append(self._report(order, ExecKind.CANCELED, now, text=text))
            return
        book.side(order.side).add(order)
        self._activate(order)

    def _match(self, order: Order, reports: list[Report], now: datetime) -> None:
        other = self._books[order.symbol].opposite(order.side)
        limit = order.price if order.ord_type is OrdType.LIMIT else None
        while order.cum_qty < order.quantity and other.crosses(limit):
            resting = other.best_order()
            assert resting is not None and resting.price is not None
            quantity = min(order.quantity - order.cum_qty, resting.quantity - resting.cum_qty)
            price = resting.price
            self._fill(resting, quantity, price)
            if resting.status is OrdStatus.FILLED:
                other.remove(resting)
                self._retire(resting, OrdStatus.FILLED)
            self._fill(order, quantity, price)
            if order.status is OrdStatus.FILLED:
                self._retire(order, OrdStatus.FILLED)
            if order.owner is not None:
                reports.append(self._report(order, ExecKind.TRADE, now, quantity, price))
            if resting.owner is not None:
                reports.append(self._report(resting, ExecKind.TRADE, now, quantity, price))

    @staticmethod
    def _fill(order: Order, quantity: Decimal, price: Decimal) -> None:
        order.cum_qty += quantity
        order.notional += quantity * price
        order.status = (
            OrdStatus.FILLED if order.cum_qty >= order.quantity else OrdStatus.PARTIALLY_FILLED
        )

    # -- bookkeeping -----------------------------------------------------------------------

    def _order_from(self, cmd: NewOrder) -> Order:
        return Order(
            order_id=self._next_order_id(),
            cl_ord_id=cmd.cl_ord_id,
            orig_cl_ord_id=None,
            owner=cmd.owner,
            account=cmd.account,
            symbol=cmd.symbol,
            side=cmd.side,
            ord_type=cmd.ord_type,
            tif=cmd.tif,
            quantity=cmd.quantity,
            price=cmd.price,
            cl_ord_ids=[cmd.cl_ord_id],
        )

    def _activate(self, order: Order) -> None:
        if order.owner is None:
            return
        for cl_ord_id in order.cl_ord_ids:
            self._live[(order.owner, cl_ord_id)] = order
        self._live_by_id[order.order_id] = order

    def _rename(self, order: Order, cl_ord_id: str) -> None:
        order.orig_cl_ord_id = order.cl_ord_id
        order.cl_ord_id = cl_ord_id
        order.cl_ord_ids.append(cl_ord_id)
        if order.owner is not None and order.order_id in self._live_by_id:
            self._live[(order.owner, cl_ord_id)] = order

    def _retire(self, order: Order, status: OrdStatus) -> None:
        """Close an order for good and remember it among the completed ones."""
        order.status = status
        if order.owner is None:
            return
        self._live_by_id.pop(order.order_id, None)
        for cl_ord_id in order.cl_ord_ids:
            key = (order.owner, cl_ord_id)
            self._live.pop(key, None)
            self._completed[key] = order
        while len(self._completed) > self._completed_capacity:
            self._completed.popitem(last=False)

    def _next_order_id(self) -> str:
        return f"{self._prefix}O{next(self._order_seq)}"

    def _next_exec_id(self) -> str:
        return f"{self._prefix}E{next(self._exec_seq)}"

    # -- validation and rejects ------------------------------------------------------------

    def _check_new(self, cmd: NewOrder) -> tuple[str, OrdRejReason] | None:
        if cmd.unsupported is not None:
            return cmd.unsupported, OrdRejReason.OTHER
        rules = self._rules.get(cmd.symbol)
        if rules is None:
            return f"unknown symbol {cmd.symbol}", OrdRejReason.UNKNOWN_SYMBOL
        problem = _check_quantity_and_price(rules, cmd.ord_type, cmd.quantity, cmd.price)
        return None if problem is None else (problem, OrdRejReason.OTHER)

    def _check_replace(self, order: Order, cmd: ReplaceOrder) -> str | None:
        if cmd.unsupported is not None:
            return cmd.unsupported
        if cmd.symbol != order.symbol or cmd.side is not order.side:
            return "a replace cannot change the symbol or the side"
        if cmd.ord_type is not order.ord_type:
            return "a replace cannot change the order type"
        if cmd.quantity <= order.cum_qty:
            return f"new quantity {cmd.quantity} must exceed the filled quantity {order.cum_qty}"
        return _check_quantity_and_price(
            self._rules[order.symbol], cmd.ord_type, cmd.quantity, cmd.price
        )

    def _reject_new(
        self, cmd: NewOrder, now: datetime, text: str, reason: OrdRejReason
    ) -> ExecutionReport:
        order = self._order_from(cmd)
        self._retire(order, OrdStatus.REJECTED)
        return self._report(order, ExecKind.REJECTED, now, text=text, rej_reason=reason)

    def _duplicate_reject(self, cmd: NewOrder, now: datetime) -> ExecutionReport:
        """A repeated ClOrdID is rejected without touching the order that first used it."""
        order = self._order_from(cmd)
        order.order_id = "NONE"
        order.status = OrdStatus.REJECTED
        return self._report(
            order,
            ExecKind.REJECTED,
            now,
            text="duplicate ClOrdID",
            rej_reason=OrdRejReason.DUPLICATE_ORDER,
        )

    def _not_live(
        self,
        owner: Owner,
        cl_ord_id: str,
        orig_cl_ord_id: str,
        response_to: CxlRejResponseTo,
        now: datetime,
    ) -> CancelReject:
        done = self._completed.get((owner, orig_cl_ord_id))
        if done is None:
            return CancelReject(
                owner,
                "NONE",
                cl_ord_id,
                orig_cl_ord_id,
                OrdStatus.REJECTED,
                response_to,
                CxlRejReason.UNKNOWN_ORDER,
                "unknown order",
                now,
            )
        return self._cancel_reject(
            done,
            cl_ord_id,
            orig_cl_ord_id,
            response_to,
            now,
            CxlRejReason.TOO_LATE,
            f"too late: order is {done.status.name.lower()}",
        )

    @staticmethod
    def _cancel_reject(
        order: Order,
        cl_ord_id: str,
        orig_cl_ord_id: str,
        response_to: CxlRejResponseTo,
        now: datetime,
        reason: CxlRejReason = CxlRejReason.DUPLICATE_CL_ORD_ID,
        text: str = "duplicate ClOrdID",
    ) -> CancelReject:
        return CancelReject(
            order.owner,
            order.order_id,
            cl_ord_id,
            orig_cl_ord_id,
            order.status,
            response_to,
            reason,
            text,
            now,
        )

    def _report(
        self,
        order: Order,
        kind: ExecKind,
        now: datetime,
        last_qty: Decimal = ZERO,
        last_px: Decimal = ZERO,
        text: str | None = None,
        rej_reason: OrdRejReason | None = None,
    ) -> ExecutionReport:
        return ExecutionReport(
            owner=order.owner,
            kind=kind,
            exec_id=self._next_exec_id(),
            order_id=order.order_id,
            cl_ord_id=order.cl_ord_id,
            orig_cl_ord_id=order.orig_cl_ord_id,
            account=order.account,
            symbol=order.symbol,
            side=order.side,
            ord_type=order.ord_type,
            tif=order.tif,
            quantity=order.quantity,
            price=order.price,
            status=order.status,
            cum_qty=order.cum_qty,
            leaves_qty=order.leaves_qty,
            avg_px=order.avg_px,
            transact_time=now,
            last_qty=last_qty,
            last_px=last_px,
            text=text,
            rej_reason=rej_reason,
        )


def _check_quantity_and_price(
    rules: InstrumentRules, ord_type: OrdType, quantity: Decimal, price: Decimal | None
) -> str | None:
    if not quantity.is_finite() or quantity <= 0:
        return "quantity must be positive"
    if quantity % rules.lot_size:
        return f"quantity {quantity} is not a multiple of the lot size {rules.lot_size}"
    if ord_type is OrdType.LIMIT:
        if price is None or not price.is_finite() or price <= 0:
            return "a limit order needs a positive price"
        if price % rules.tick_size:
            return f"price {price} is not a multiple of the tick size {rules.tick_size}"
    return None
