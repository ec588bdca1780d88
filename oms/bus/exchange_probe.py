"""Does an exchange exist? Asked on a channel of its own (a failed passive declare closes the
channel it was made on), for pika's asynchronous ``SelectConnection``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pika.exceptions import ChannelClosedByBroker

NOT_FOUND = 404


def probe_exchange(connection: Any, exchange: str, answer: Callable[[bool | None], None]) -> None:
    """Call ``answer`` once: True (the exchange exists), False (it does not), or None (no
    answer: the channel closed for another reason)."""
    answered = False

    def give(value: bool | None) -> None:
        nonlocal answered
        if not answered:
            answered = True
            answer(value)

    def on_open(channel: Any) -> None:
        channel.add_on_close_callback(on_closed)
        channel.exchange_declare(exchange, passive=True, callback=lambda _f: on_ok(channel))

    def on_ok(channel: Any) -> None:
        give(True)
        channel.close()

    def on_closed(_channel: Any, reason: BaseException) -> None:
        missing = isinstance(reason, ChannelClosedByBroker) and reason.reply_code == NOT_FOUND
        give(False if missing else None)

    connection.channel(on_open_callback=on_open)
