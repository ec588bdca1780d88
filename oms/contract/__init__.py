"""The contract's wire formats, pure: what both sides of the bus agree on (``CONTRACT.md``).

The gateway's outbox relay publishes what the core formats here, and the strategy client SDK
(``oms.client``) reads it with the same rules. Nothing here does I/O or imports an adapter."""
