"""RabbitMQ adapters: strategy command intake, the event outbox relay, and command decoding
(pure). Events are formatted by the contract's module, ``oms.contract.event_format``, which the
strategy client SDK reads with too. Nothing here connects at import time."""
