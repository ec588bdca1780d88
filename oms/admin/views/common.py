"""Helpers shared by the views."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from flask import flash, make_response, request
from sqlalchemy import select
from werkzeug.wrappers.response import Response

from oms.admin.actions import Operator
from oms.admin.auth import operator_name
from oms.admin.queries.tables import COMMANDS
from oms.admin.services import services


def acting_operator() -> Operator:
    return Operator(operator_name(), datetime.now(UTC))


def flash_issued(commands: int | Mapping[str, int], what: str) -> None:
    """Tell the operator which command(s) went to which gateway: ``commands`` is one command id
    or the ids by shard (``actions.ShardCommands``). Shards are named only when the settings
    file has them."""
    after = "Its result appears below once the gateway has applied it."
    if not services().settings.file.shards:
        ids = list(commands.values()) if isinstance(commands, Mapping) else [commands]
        noun = "Command" if len(ids) == 1 else "Commands"
        flash(f"{noun} {', '.join(f'#{i}' for i in ids)} sent to the gateway: {what}. {after}",
              "ok")
        return
    by_shard = _by_shard(commands)
    if len(by_shard) == 1:
        (shard, command_id), = by_shard.items()
        flash(f"Command #{command_id} sent to the gateway of shard {shard}: {what}. {after}",
              "ok")
    else:
        each = ", ".join(f"#{i} (shard {shard})" for shard, i in by_shard.items())
        flash(f"Commands {each} sent to the gateways of {len(by_shard)} shards: {what}. Their "
              "results appear below once each gateway has applied its own.", "ok")


def _by_shard(commands: int | Mapping[str, int]) -> dict[str, int]:
    """The ids by shard; a lone command id's shard is read from its row."""
    if isinstance(commands, Mapping):
        return dict(commands)
    with services().engine.connect() as conn:
        shard = conn.execute(
            select(COMMANDS.c.shard).where(COMMANDS.c.id == commands)).scalar_one()
    return {str(shard): commands}


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
