"""An order's outcome written down: its events (audit and outbox), position changes, the
anomalies logged, the venue requests it settles, and its row (new, or one UPDATE from the
version read at the batch's start however often the batch changes it).

Runs on the core thread, from the handlers.
"""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from oms.domain.order_events import OrderEvent, Outcome
from oms.domain.orders import Order
from oms.domain.values import ExecType
from oms.engine import venue_silence
from oms.engine.batch import Batch
from oms.engine.event_rows import event_rows
from oms.engine.order_rows import order_row

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)


def record(h: Handlers, batch: Batch, order: Order, outcome: Outcome, cause: dict[str, Any],
           *, is_new: bool = False) -> None:
    if outcome.refused or outcome.duplicate:
        return
    state = h.state
    state.exposure.update(order)
    for event in outcome.events:
        _count(h, event)
        if event.text is None and event.order_id is not None:
            why = state.request_texts.get((event.order_id, event.cl_ord_id))
            if why is not None:
                event = dataclasses.replace(event, text=why)  # noqa: PLW2901
        audit, outbox = event_rows(event, cause, batch.now)
        batch.events.append(audit)
        batch.outbox.append(outbox)
    for delta in outcome.position_deltas:
        batch.position(delta.account, delta.symbol).add(delta.quantity, delta.price)
        key = (delta.account, delta.symbol)
        state.positions[key] = state.positions.get(key, Decimal(0)) + delta.quantity
    for anomaly in outcome.anomalies:
        log.warning("order %s: %s: %s", order.order_id, anomaly.kind, anomaly.text,
                    extra={"order_id": order.order_id, "cl_ord_id": order.cl_ord_id})
    doubt = venue_silence.settle_order(h, batch, order)  # answered: no longer watched
    version = state.row_versions.get(order.order_id, 1)
    if is_new or order.order_id in batch.new_orders:
        batch.save_order(order_row(order, version=1, now=batch.now, in_doubt=doubt),
                         is_new=True)
    elif order.order_id in batch.changed_orders:
        # changed twice in one batch: still one UPDATE from the version read at its start
        read_at = batch.changed_orders[order.order_id]["version"]
        row = order_row(order, version=read_at, now=batch.now, in_doubt=doubt)
        row.pop("created_at")
        batch.save_order(row, is_new=False)
    else:
        row = order_row(order, version=version, now=batch.now, in_doubt=doubt)
        row.pop("created_at")
        batch.save_order(row, is_new=False)
        state.row_versions[order.order_id] = version + 1


def _count(h: Handlers, event: OrderEvent) -> None:
    metrics = h.ctx.metrics
    if metrics is None:
        return
    if event.exec_type is ExecType.PENDING_NEW:
        metrics.labelled(metrics.orders, event.account).inc()
    elif event.exec_type in (ExecType.PARTIAL_FILL, ExecType.FILL):
        metrics.labelled(metrics.fills, event.venue or "").inc()
    elif event.exec_type is ExecType.REJECTED and event.reject_source is not None:
        metrics.labelled(metrics.rejects, event.reject_source.value).inc()
