"""RabbitMQ adapters: strategy command intake, the event outbox relay, and the pure wire formats
they use (command decoding, event formatting). Nothing here connects at import time."""
