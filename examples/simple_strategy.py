"""A small strategy on ``oms.client``: rest a bid, improve it, cancel it, and cross ZVZZT
between two accounts, printing every event it gets back.

Run it against a running gateway, e.g. the demo's (``oms demo --keep-running``, in another
terminal):

    python examples/simple_strategy.py --amqp-url amqp://guest:guest@127.0.0.1:5672/oms_demo

or against a gateway of your own on the default vhost (``OMS_AMQP_URL``, else
``amqp://guest:guest@127.0.0.1:5672/%2F``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from decimal import Decimal

from oms.client import OmsClientError, OrderEvent, StrategyClient

DEFAULT_URL = os.environ.get("OMS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def show(event: OrderEvent) -> None:
    fill = f" {event.last_qty}@{event.last_px}" if event.is_fill else ""
    why = f" ({event.reject_source}: {event.text})" if event.is_reject else ""
    # the client hands out each order's events in seq order; it says when some never came
    order = f" [{event.gap}]" if event.gap else " [late]" if event.late else ""
    print(f"  {event.account:<6} {event.symbol or '-':<6} {event.cl_ord_id:<24} "
          f"{event.exec_type:<16} {event.ord_status or '-':<17}"
          f" cum {event.cum_qty} leaves {event.leaves_qty}{fill}{why}{order}")


def wait_for(oms: StrategyClient, done: Callable[[OrderEvent], bool],
             timeout: float = 15.0) -> OrderEvent:
    """Print events as they come until one satisfies ``done``."""
    for event in oms.events(idle_timeout=timeout):
        show(event)
        if done(event):
            return event
    raise TimeoutError(f"nothing matching within {timeout}s: is a gateway running?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp-url", default=DEFAULT_URL)
    args = parser.parse_args()

    try:
        with StrategyClient(args.amqp_url, accounts=["DEMO1", "DEMO2"]) as oms:
            print("1. a bid below the market rests at the venue")
            bid = oms.submit("DEMO1", "AAPL", "buy", 100, price=Decimal("185.00"))
            wait_for(oms, lambda e: e.cl_ord_id == bid and e.exec_type == "new")

            print("2. replace it: 150 shares at 185.50")
            better = oms.replace("DEMO1", bid, quantity=150, price="185.50")
            wait_for(oms, lambda e: e.cl_ord_id == better and e.exec_type in (
                "replaced", "replace_rejected"))

            print("3. cancel it (naming the latest cl_ord_id of the chain)")
            cancel = oms.cancel("DEMO1", better, symbol="AAPL")
            wait_for(oms, lambda e: e.cl_ord_id == cancel and e.exec_type in (
                "canceled", "cancel_rejected"))

            print("4. DEMO1 buys 300 ZVZZT from DEMO2 at 10.00")
            buy = oms.submit("DEMO1", "ZVZZT", "buy", 300, price="10.00")
            wait_for(oms, lambda e: e.cl_ord_id == buy and e.exec_type == "new")
            sell = oms.submit("DEMO2", "ZVZZT", "sell", 300, price="10.00")
            filled = {buy: False, sell: False}

            def both_filled(event: OrderEvent) -> bool:
                if event.cl_ord_id in filled and event.ord_status == "filled":
                    filled[event.cl_ord_id] = True
                return all(filled.values())

            wait_for(oms, both_filled)

            print("5. a price 15% away from the reference is refused by the price collar")
            far = oms.submit("DEMO2", "MSFT", "buy", 10, price="483.00")
            wait_for(oms, lambda e: e.cl_ord_id == far and e.is_reject)
    except (OmsClientError, TimeoutError) as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return 1
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
