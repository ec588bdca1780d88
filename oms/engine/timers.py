"""The core's timers, on every Tick: expire what the venues did not (day orders after the
close, GTD orders), and follow up requests the venues left unanswered (``venue_silence``).

Runs on the core thread, from the handlers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from oms.domain.order_inputs import ExpireOrder
from oms.engine import venue_silence
from oms.engine.batch import Batch
from oms.engine.expiry import due_for_expiry

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)


def tick(h: Handlers, batch: Batch) -> None:
    due = due_for_expiry(list(h.state.orders.values()), h.ctx.venue_hours, h.state.created,
                         batch.now)
    for order, text in due:
        outcome = order.apply(ExpireOrder(text), batch.now)
        if outcome.applied:
            log.warning("order %s expired by the OMS: %s", order.order_id, text,
                        extra={"order_id": order.order_id, "cl_ord_id": order.cl_ord_id})
            h.record(batch, order, outcome, {"input": "timer", "reason": text})
    venue_silence.on_tick(h, batch)  # requests the venues leave unanswered
