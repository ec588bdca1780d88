"""Helpers shared by the views."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, make_response, request
from werkzeug.wrappers.response import Response

from oms.admin.actions import Operator
from oms.admin.auth import operator_name


def acting_operator() -> Operator:
    return Operator(operator_name(), datetime.now(UTC))


def flash_issued(command_id: int, what: str) -> None:
    flash(f"Command #{command_id} sent to the gateway: {what}. Its result appears below once "
          "the gateway has applied it.", "ok")


def flash_form_errors(errors: dict[str, list[str]]) -> None:
    for field, messages in errors.items():
        for message in messages:
            flash(f"{field.replace('_', ' ')}: {message}", "error")


def partial(html: str) -> Response:
    """A fragment for live refresh, answered 304 when unchanged since the last poll."""
    response = make_response(html)
    response.add_etag()
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)
