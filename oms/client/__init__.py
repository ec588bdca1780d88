"""The Python client for strategies: submit, cancel and replace orders over RabbitMQ and
receive their events. See ``docs/strategy-client.md``.

    from oms.client import StrategyClient

    with StrategyClient("amqp://guest:guest@127.0.0.1:5672/%2F", accounts=["DEMO1"]) as oms:
        cl_ord_id = oms.submit("DEMO1", "AAPL", "buy", 100, price="190.05")
        for event in oms.events(idle_timeout=5):
            print(event.cl_ord_id, event.exec_type, event.ord_status)
"""

from oms.client.commands import (
    Amount,
    ClOrdIdGenerator,
    InstrumentFields,
    OrderType,
    Side,
    TimeInForce,
)
from oms.client.events import (
    FILL_TYPES,
    REJECT_TYPES,
    TERMINAL_STATUSES,
    EventDeduplicator,
    MalformedEventError,
    OrderEvent,
)
from oms.client.reconnect import (
    CommandNotDeliveredError,
    OmsClientError,
    OmsUnavailableError,
    ReconnectPolicy,
)
from oms.client.sequencing import SequenceGap
from oms.client.strategy_client import StrategyClient

__all__ = [
    "FILL_TYPES",
    "REJECT_TYPES",
    "TERMINAL_STATUSES",
    "Amount",
    "ClOrdIdGenerator",
    "CommandNotDeliveredError",
    "EventDeduplicator",
    "InstrumentFields",
    "MalformedEventError",
    "OmsClientError",
    "OmsUnavailableError",
    "OrderEvent",
    "OrderType",
    "ReconnectPolicy",
    "SequenceGap",
    "Side",
    "StrategyClient",
    "TimeInForce",
]
