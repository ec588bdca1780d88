"""What the gateway sends each venue, sent off the commit thread, one sender per venue, cancels
first.

The commit thread hands every committed new order, cancel, replace and status request (the
venue port's requests, ``oms.engine.ports``) to its venue's sender (``OutboundSenders.submit``),
after the batch's commit and in commit order: durable before visible. Each venue has its own
thread, queue and pace, so a venue whose outbound rate limit is reached holds only its own
messages; the commit thread and the other venues go on.

Order on the wire, per venue (``OutboundQueue``):
- a cancel goes ahead of every queued new order and replace; cancels among themselves, and
  new orders and replaces among themselves, in commit order;
- but nothing goes ahead of an earlier message of its own order: a cancel of an order whose
  NewOrderSingle is still queued follows it (a venue cannot cancel an order it does not know),
  and goes out right after it.

Pace (``Pace``): the venue's ``max_messages_per_s`` as a token bucket holding one second of
burst. The core decides, when it takes a request, whether a new order or replace may wait
that long (``venue_throttle``); here every message queued goes, at the pace.

A venue session that is down fails its messages at once, as the commit thread did before
(the port answers False; nothing waits for the session to come back): the core then asks the
venue about them after the next logon. Each message's ``done`` is called on the venue's thread
with whether the session took it. At stop, the queue is sent at the pace for up to
``drain_s``; what is left is reported not sent and logged (asked about after the restart).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from oms.engine.ports import VenueOrderRequest, VenuePort, send_to_venue

log = logging.getLogger(__name__)

CANCEL = "cancel"
_FIRST, _IN_TURN = 0, 1
RECHECK_S = 0.5
"""Longest one wait of a held sender lasts before it looks again (the session may have
dropped, the clock moved on)."""


def _nothing(sent: bool) -> None:
    return None


@dataclass(frozen=True, slots=True, eq=False)
class OutboundMessage:
    venue: str
    order_id: str
    """The order the message is about: its messages keep their order ("" for none)."""
    request: VenueOrderRequest
    done: Callable[[bool], None] = field(default=_nothing)
    """Called on the venue's thread once the message went (True) or could not (False)."""

    @property
    def kind(self) -> str:
        """new, cancel, replace or status: cancels go first."""
        return self.request.kind


class OutboundQueue:
    """One venue's queued messages, in the order they go on the wire. Pure, one thread."""

    def __init__(self) -> None:
        self._ready: list[tuple[int, int, OutboundMessage]] = []
        """Heap of (rank, sequence, message): the first queued message of each order."""
        self._of_order: dict[str, deque[tuple[int, OutboundMessage]]] = {}
        """Each order's queued messages, the first of them in ``_ready``."""
        self._sequence = itertools.count()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def put(self, message: OutboundMessage) -> None:
        sequence = next(self._sequence)
        self._size += 1
        if not message.order_id:
            heapq.heappush(self._ready, (_rank(message), sequence, message))
            return
        queued = self._of_order.get(message.order_id)
        if queued is None:
            self._of_order[message.order_id] = deque([(sequence, message)])
            heapq.heappush(self._ready, (_rank(message), sequence, message))
        else:
            queued.append((sequence, message))  # after its order's earlier messages

    def take(self) -> OutboundMessage | None:
        """The message to send next, taken off the queue; None when empty."""
        if not self._ready:
            return None
        _, _, message = heapq.heappop(self._ready)
        self._size -= 1
        queued = self._of_order.get(message.order_id) if message.order_id else None
        if queued is not None:
            queued.popleft()
            if queued:
                sequence, following = queued[0]
                heapq.heappush(self._ready, (_rank(following), sequence, following))
            else:
                del self._of_order[message.order_id]
        return message

    def take_all(self) -> list[OutboundMessage]:
        taken: list[OutboundMessage] = []
        while (message := self.take()) is not None:
            taken.append(message)
        return taken


def _rank(message: OutboundMessage) -> int:
    return _FIRST if message.kind == CANCEL else _IN_TURN


class Pace:
    """A venue's message rate on the wire: a token bucket of ``per_second`` tokens (one second
    of burst), refilled continuously. None: no limit. Pure: times are passed in."""

    def __init__(self, per_second: int | None, now_s: float) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second = per_second
        self._tokens = float(per_second or 0)
        self._at = now_s

    def wait(self, now_s: float) -> float:
        """Seconds until the next message may go (0: now)."""
        if self.per_second is None:
            return 0.0
        self._refill(now_s)
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.per_second

    def spend(self, now_s: float) -> None:
        """A message went at ``now_s``."""
        if self.per_second is not None:
            self._refill(now_s)
            self._tokens -= 1.0

    def _refill(self, now_s: float) -> None:
        assert self.per_second is not None
        elapsed = max(0.0, now_s - self._at)
        self._at = max(self._at, now_s)
        self._tokens = min(float(self.per_second), self._tokens + elapsed * self.per_second)


class VenueOutbound:
    """One venue's sender: its queue, its pace and the thread that sends."""

    def __init__(self, venue: str, per_second: int | None, sessions: VenuePort,
                 clock: Callable[[], float] = time.monotonic,
                 recheck_s: float = RECHECK_S) -> None:
        self.venue = venue
        self._sessions = sessions
        self._clock = clock
        self._recheck_s = recheck_s
        self._queue = OutboundQueue()
        self._pace = Pace(per_second, clock())
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop_at: float | None = None
        """Set at stop: the clock reading after which what is still queued is not sent."""
        self._holding = False

    def queued(self) -> int:
        with self._changed:
            return len(self._queue)

    def submit(self, message: OutboundMessage) -> None:
        with self._changed:
            stopped = self._stop_at is not None and self._thread is None
            if not stopped:
                self._queue.put(message)
                self._changed.notify()
        if stopped:  # after the stop: nothing would ever send it
            self._not_sent([message])

    def start(self) -> None:
        if self._thread is None:
            self._stop_at = None
            self._thread = threading.Thread(target=self._run, name=f"oms-out-{self.venue}",
                                            daemon=True)
            self._thread.start()

    def stop(self, drain_s: float) -> None:
        """Send what is queued at the pace for up to ``drain_s``, then report the rest not
        sent; returns once the thread has ended (or after ``drain_s`` and a margin)."""
        thread = self._thread
        with self._changed:
            self._stop_at = self._clock() + drain_s
            self._changed.notify()
        if thread is not None:
            thread.join(drain_s + 5.0)
        with self._changed:  # never started, or the thread is stuck in a send
            self._thread = None
            left = self._queue.take_all()
        self._not_sent(left)

    def _run(self) -> None:
        while True:
            message, left = self._next()
            if left is not None:
                self._not_sent(left)
                return
            if message is not None:
                self._deliver(message)

    def _next(self) -> tuple[OutboundMessage | None, list[OutboundMessage] | None]:
        """The message to send now (None: look again), or what is left at the end of a stop
        (a list, possibly empty: the thread ends)."""
        up = self._sessions.is_logged_on(self.venue)
        with self._changed:
            queue = self._queue
            if not queue:
                if self._holding:
                    self._holding = False
                    log.info("venue %s: outbound queue sent", self.venue)
                if self._stop_at is not None:
                    return None, []
                self._changed.wait()  # submit and stop notify
                return None, None
            now = self._clock()
            if self._stop_at is not None and now >= self._stop_at:
                return None, queue.take_all()
            if up:  # a session that is down fails at once: no token spent
                wait = self._pace.wait(now)
                if wait > 0:
                    self._hold(len(queue))
                    limit = wait if self._stop_at is None else min(wait, self._stop_at - now)
                    self._changed.wait(min(max(limit, 0.0), self._recheck_s))
                    return None, None  # look again: a cancel may have come meanwhile
                self._pace.spend(now)
            return queue.take(), None

    def _hold(self, queued: int) -> None:
        if not self._holding:
            self._holding = True
            log.warning("venue %s: outbound rate limit (%s msg/s) reached: %d message(s) queued,"
                        " cancels first", self.venue, self._pace.per_second, queued)

    def _deliver(self, message: OutboundMessage) -> None:
        try:
            sent = send_to_venue(self._sessions, message.venue, message.request)
        except Exception:  # the message is in doubt, like one sent to a session that is down
            log.exception("venue %s: %s for order %s not sent", self.venue, message.kind,
                          message.order_id)
            sent = False
        _report(message, sent)

    def _not_sent(self, messages: Iterable[OutboundMessage]) -> None:
        left = list(messages)
        if left:
            log.warning("venue %s: %d queued message(s) not sent at stop (in doubt: asked about"
                        " after the restart)", self.venue, len(left))
        for message in left:
            _report(message, False)


def _report(message: OutboundMessage, sent: bool) -> None:
    try:
        message.done(sent)
    except Exception:
        log.exception("venue %s: after sending %s for order %s", message.venue, message.kind,
                      message.order_id)


def send_later(outbound: OutboundSenders | None, port: VenuePort,
               message: OutboundMessage) -> Callable[[], None]:
    """The effect, after the batch's commit, that sends ``message``: through its venue's
    sender; without senders (a core under test, no venue rate limits), at once on the commit
    thread."""
    if outbound is not None:
        return lambda: outbound.submit(message)
    return lambda: _report(message, send_to_venue(port, message.venue, message.request))


class OutboundSenders:
    """Every venue's sender; the commit thread submits to it."""

    def __init__(self, rates: Mapping[str, int | None], sessions: VenuePort,
                 clock: Callable[[], float] = time.monotonic, drain_s: float = 2.0,
                 recheck_s: float = RECHECK_S) -> None:
        self._venues = {venue: VenueOutbound(venue, rate, sessions, clock, recheck_s)
                        for venue, rate in rates.items()}
        self.drain_s = drain_s

    def submit(self, message: OutboundMessage) -> None:
        venue = self._venues.get(message.venue)
        if venue is None:
            log.warning("venue %s: unknown venue, %s for order %s not sent", message.venue,
                        message.kind, message.order_id)
            _report(message, False)
            return
        venue.submit(message)

    def queued(self, venue: str) -> int:
        return self._venues[venue].queued()

    def start(self) -> None:
        for venue in self._venues.values():
            venue.start()

    def stop(self) -> None:
        """Drain every venue's queue (at its pace, at most ``drain_s``), all at once."""
        stoppers = [threading.Thread(target=v.stop, args=(self.drain_s,), daemon=True)
                    for v in self._venues.values()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
