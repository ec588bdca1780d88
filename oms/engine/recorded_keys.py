"""Which (origin, cl_ord_id) ``client_requests`` may hold, known in memory: so that the batch's
duplicate lookup (``client_intake.RecordedRequests.look_up``) asks the database only about the
keys memory cannot rule out.

Almost every ClOrdID a client sends is new, and the lookup of a new one finds nothing: without
this, every batch carrying a new order paid a database round trip to learn that. A Bloom filter
answers "never recorded" from memory and is never wrong about it (no false negatives); its
"maybe" (a key recorded, or a false positive) goes to the database as before, which has the
last word. It needs about 10 bits per key at 1% false positives, so every key of the retention
period fits in a few MB (2,000,000 keys: 2.4 MB), where a set of the keys themselves would take
hundreds of bytes each.

The filter holds every key of the table when it was loaded, and every key recorded since
(``add``, before its batch commits: a batch that then fails leaves a false positive, which is
harmless). Keys the purge deletes stay in it: false positives too. The gateway keeps one filter
for its whole life, across the core's reloads of its state: a commit whose answer was lost may
still commit on the server after the reload has read the table, and its keys must stay known.
A Bloom filter cannot grow: one that was given more keys than it was sized for
(``outgrown``) answers "maybe" more often (more lookups, never a wrong answer); the gateway
then loads a new one, sized from the table, at the core's next load of its state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from itertools import islice

from rbloom import Bloom

log = logging.getLogger(__name__)

FALSE_POSITIVE_RATE = 0.01
CAPACITY_FLOOR = 1_000_000
"""The fewest keys a filter is sized for (1.2 MB), whatever the table holds when it is loaded."""
HEADROOM = 2
"""A filter is sized for this many times the rows loaded: room for as many again before the
next load."""
LOAD_CHUNK = 50_000

Key = tuple[str, str]
"""(origin, cl_ord_id)."""


class RecordedKeys:
    """The (origin, cl_ord_id) of every client request recorded: ``might_hold`` is False only
    for a key never recorded. Until ``load`` it knows nothing, and every key may be recorded.
    Owned by the core thread."""

    def __init__(self, floor: int = CAPACITY_FLOOR) -> None:
        self._floor = floor
        self._bloom: Bloom | None = None
        self._added_before_load: list[Key] = []
        """Keys recorded before the load: the table may not have them yet (their batch in
        flight), so they are added to the filter once it exists."""
        self.capacity = 0
        """How many keys the filter was sized for (0: not loaded)."""
        self.added = 0
        """Keys put in the filter: the rows loaded, then every request recorded since."""
        self.ruled_out = 0
        """Keys answered "never recorded" from memory (no database lookup)."""
        self.asked = 0
        """Keys memory could not rule out (asked of the database)."""
        self._warned = False

    @property
    def loaded(self) -> bool:
        return self._bloom is not None

    @property
    def outgrown(self) -> bool:
        """More keys were added than the filter was sized for: a new one should be loaded."""
        return self.loaded and self.added > self.capacity

    def load(self, rows: int, keys: Iterable[Key]) -> None:
        """Fill the filter with ``keys`` (streamed: each row of ``client_requests``), sized for
        ``rows`` (the table's count) times ``HEADROOM``, at least the floor. Keys recorded
        before are added too. Nothing changes if ``keys`` raises part way."""
        capacity = max(rows * HEADROOM, self._floor)
        bloom = Bloom(capacity, FALSE_POSITIVE_RATE)
        added = 0
        stream = iter(keys)
        while chunk := list(islice(stream, LOAD_CHUNK)):
            bloom.update(chunk)
            added += len(chunk)
        bloom.update(self._added_before_load)
        self._bloom, self.capacity = bloom, capacity
        self.added = added + len(self._added_before_load)
        self._added_before_load = []
        log.info("recorded ClOrdIDs loaded: %d key(s), room for %d", self.added, capacity)
        self._check_capacity()

    def might_hold(self, key: Key) -> bool:
        """False: ``key`` was never recorded (certain). True: it may have been (ask)."""
        maybe = self._bloom is None or key in self._bloom
        if maybe:
            self.asked += 1
        else:
            self.ruled_out += 1
        return maybe

    def add(self, key: Key) -> None:
        """``key`` is recorded (in a batch, maybe not committed yet)."""
        if self._bloom is None:
            self._added_before_load.append(key)
            return
        self._bloom.add(key)
        self.added += 1
        self._check_capacity()

    def _check_capacity(self) -> None:
        if self.added > self.capacity and not self._warned:
            self._warned = True
            log.warning(
                "recorded ClOrdIDs: %d keys in a filter sized for %d: more duplicate lookups go"
                " to the database (never a wrong answer) until the core next loads its state,"
                " when a new filter is sized from the table", self.added, self.capacity)
