"""An input the core could not take: answered, never half done and never silently lost.

Two faults end here:

- **a failed input**: its handler raised (a bug, or data the domain did not expect). The batch
  is rolled back to where it stood before the input, and the input is answered instead;
- **a poisoned input**: the batch's commit failed for a reason in the data (a constraint, a
  value out of range), not a lost connection. The core retries the batch's inputs one by one;
  the one that fails alone is quarantined with the same answers.

What each input gets:

- a client's request (AMQP or FIX): recorded under its ClOrdID (a resend is a duplicate) and
  rejected with ``internal error``: an event, and the FIX reply for a FIX client; a poisoned
  AMQP command is also dead-lettered with the reason;
- a venue's report: kept as an unmatched report with the reason (the Exceptions page), its
  sequence number recorded, so that it is neither lost nor replayed forever;
- an operator's command: marked processed with ``failed: internal error ...``;
- anything else (timers, session changes): logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy.exc import DBAPIError

from oms.domain.requests import ClientRequest
from oms.domain.values import RejectSource
from oms.engine.batch import Batch
from oms.engine.client_intake import record_request
from oms.engine.client_sessions import WATERMARK_PREFIX
from oms.engine.inputs import ClientFixRequest, OperatorCommandReceived, VenueMessage

if TYPE_CHECKING:
    from oms.engine.handlers import Handlers

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal error"


def describe(exc: BaseException) -> str:
    """A fault as an operator reads it: the exception's type and its first line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def is_poison(exc: BaseException) -> bool:
    """Whether a failed commit was refused for its data (an integrity or data error: one of
    its inputs will fail again however often it is retried), not for a lost connection."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.IntegrityError | psycopg.DataError):
            return True
        if isinstance(seen, DBAPIError) and isinstance(seen.orig, psycopg.IntegrityError
                                                       | psycopg.DataError):
            return True
        seen = seen.__cause__
    return False


def answer_failed_input(handlers: Handlers, batch: Batch, item: object, reason: str) -> None:
    """Answer ``item`` in ``batch`` as an input that changed nothing, with ``reason``."""
    request = _request_of(item)
    if isinstance(item, ClientFixRequest):
        batch.watermarks[WATERMARK_PREFIX + item.session] = item.seq_num
    if request is not None:
        _refuse_request(handlers, batch, request, reason)
    elif isinstance(item, VenueMessage):
        batch.watermarks[f"venue:{item.venue}"] = item.seq_num
        handlers.unmatched(batch, item, f"{INTERNAL_ERROR}: {reason}")
    elif isinstance(item, OperatorCommandReceived):
        batch.operator_results.append(
            (item.command_id, f"failed: {INTERNAL_ERROR} ({reason}); nothing was changed"))
    else:
        log.error("input %s not applied: %s", type(item).__name__, reason)


def _request_of(item: object) -> ClientRequest | None:
    command: Any = getattr(item, "command", None)
    return command if isinstance(command, ClientRequest) else None


def _refuse_request(handlers: Handlers, batch: Batch, request: ClientRequest,
                    reason: str) -> None:
    record_request(handlers, batch, request)
    handlers.reject_request(batch, request, RejectSource.VALIDATION,
                            f"{INTERNAL_ERROR}: the OMS could not process this request and "
                            f"changed nothing ({reason})")
