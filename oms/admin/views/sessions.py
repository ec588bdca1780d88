"""FIX sessions: every venue and client session with its state and sequence numbers (as the
gateway publishes them), and for admins the sequence operations on the running gateway (set the
next sender or target MsgSeqNum, log out, log on, reset), sent through the operator channel.
Logout and reset take a confirmation step.

With gateway shards the page shows each shard's gateway with its own sessions (every shard has
its own session to each venue; a FIX client session is on the shard of its accounts), and an
operation on a venue session goes to every shard or to the one the operator picks."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from oms.admin import actions
from oms.admin.auth import requires
from oms.admin.forms import SessionOperationForm, SessionSeqForm, text
from oms.admin.queries.controls import recent_commands
from oms.admin.roles import Permission
from oms.admin.services import services
from oms.admin.session_rows import session_targets, shard_sessions
from oms.admin.status_view import read_components
from oms.admin.views.common import acting_operator, flash_form_errors, flash_issued
from oms.cache import CacheUnavailable
from oms.engine.session_commands import MAX_SEQ, SESSION_KINDS, VALIDITY, SessionAction
from oms.settings import SettingsFile

bp = Blueprint("sessions", __name__)
CONFIRMED = frozenset({SessionAction.LOGOUT, SessionAction.RESET})
LABELS = {
    SessionAction.SET_NEXT_SENDER: "Set next sender",
    SessionAction.SET_NEXT_TARGET: "Set next target",
    SessionAction.LOGON: "Log on",
    SessionAction.LOGOUT: "Log out",
    SessionAction.RESET: "Reset",
}


def url_action(action: SessionAction) -> str:
    return action.value.replace("_", "-")


@bp.get("/sessions")
def index() -> ResponseReturnValue:
    now = datetime.now(UTC)
    svc = services()
    components, redis_error = [], None
    try:
        components = read_components(svc.cache().read_status(), now)
    except CacheUnavailable as exc:
        redis_error = str(exc)
    with svc.engine.connect() as conn:
        commands = recent_commands(conn, tuple(SESSION_KINDS))
    gateways = shard_sessions(svc.settings.file, components)
    return render_template(
        "sessions.html", gateways=gateways, targets=session_targets(svc.settings.file),
        sessions_up=sum(g.sessions_up for g in gateways),
        sessions_all=sum(len(g.rows) for g in gateways), commands=commands,
        redis_error=redis_error, max_seq=MAX_SEQ,
        validity_s=int(VALIDITY.total_seconds()), url_action=url_action,
        set_actions=(SessionAction.SET_NEXT_SENDER, SessionAction.SET_NEXT_TARGET),
        SessionAction=SessionAction, labels=LABELS,
    )


@bp.post("/sessions/<kind>/<name>/<action>")
@requires(Permission.FIX_SESSIONS)
def operate(kind: str, name: str, action: str) -> ResponseReturnValue:
    try:
        what = SessionAction(action.replace("-", "_"))
    except ValueError:
        abort(404)
    form = SessionSeqForm() if what.takes_seq else SessionOperationForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return redirect(url_for("sessions.index"))
    svc = services()
    file = svc.settings.file
    session = f"{kind}:{name}"
    chosen = text(form.shard) or None
    if what in CONFIRMED and text(form.confirm) != "yes":
        try:
            if session not in actions.fix_session_names(file):
                raise actions.ActionRefused(f"unknown FIX session {session}")
            shards = actions.fix_session_shards(file, session, chosen)
        except actions.ActionRefused as exc:
            flash(str(exc), "error")
            return redirect(url_for("sessions.index"))
        on = f" on shard {chosen}" if chosen is not None and kind == "venue" else ""
        return render_template(
            "confirm.html", form=form, danger=True,
            action=url_for("sessions.operate", kind=kind, name=name, action=action),
            title=f"{LABELS[what]} FIX session {session}{on}",
            consequences=consequences(file, kind, name, what)
            + ([_shards_text(file, kind, shards)] if file.shards else []),
            button=f"{LABELS[what]} {session}", hidden={"shard": chosen} if chosen else {},
            back=url_for("sessions.index"),
        )
    seq = form.seq.data if isinstance(form, SessionSeqForm) else None
    try:
        commands = actions.fix_session_commands(
            svc.engine, acting_operator(), file, session=session, action=what, seq=seq,
            reason=text(form.reason), shard=chosen,
        )
        flash_issued(commands, f"{LABELS[what].lower()} {session}"
                               + (f" to {seq}" if seq is not None else ""))
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
    return redirect(url_for("sessions.index"))


def _shards_text(file: SettingsFile, kind: str, shards: tuple[str, ...]) -> str:
    """Which shards' gateways carry the operation out, for the confirmation page."""
    if kind == "client":
        return f"The client session is on shard {shards[0]}: its gateway carries this out."
    if len(shards) == 1:
        others = [s for s in file.shard_names if s not in shards]
        return (f"Only shard {shards[0]}'s session to the venue: the sessions of shard(s) "
                f"{', '.join(others)} are left as they are.")
    return (f"Every shard's own session to the venue ({', '.join(shards)}): one command to "
            "each shard's gateway.")


def consequences(file: SettingsFile, kind: str, name: str, what: SessionAction) -> list[str]:
    """What a logout or reset does, for the confirmation page."""
    if kind == "venue":
        venue = next((v for v in file.venues if v.name == name), None)
        retry = f"{venue.reconnect_s} s" if venue is not None else "a few seconds"
        if what is SessionAction.LOGOUT:
            return [
                f"The gateway sends venue {name} a Logout now and does not log on again until "
                "an admin logs the session on.",
                f"Meanwhile new orders, cancels and replaces for {name} are rejected (venue not "
                "connected). Orders open at the venue stay there; their reports arrive after "
                "the next logon.",
            ]
        return [
            f"The gateway sends venue {name} a Logout, drops the connection and sets both "
            "sequence numbers to 1 (the messages it stored for resending are dropped).",
            f"It logs on again at its next attempt (within {retry}), at MsgSeqNum 1 with "
            "ResetSeqNumFlag (141=Y): the venue resets its side too.",
            "Messages the venue sent before the reset that the gateway did not receive are not "
            "asked for again: unanswered orders are asked for by status request after the "
            "logon.",
        ]
    client = next((c for c in file.fix_clients if c.session_name == name), None)
    cod = []
    if client is not None and client.cancel_on_disconnect and (
            client.cancel_on_logout or what is SessionAction.RESET):
        cod = [f"Cancel on disconnect is configured: its open orders are canceled "
               f"{client.cancel_on_disconnect_grace_s} s after it is gone, unless it logs on "
               "again before."]
    if what is SessionAction.LOGOUT:
        return [
            f"The gateway sends client {name} a Logout now and refuses its logons (the "
            "connection is dropped unanswered) until an admin logs the session on.",
            "Reports owed to it wait, and are delivered after its next logon.",
            *cod,
        ]
    return [
        f"The gateway sends client {name} a Logout, drops the connection and sets both "
        "sequence numbers to 1 (the messages it stored for resending are dropped).",
        "The client must log on again at MsgSeqNum 1 (with ResetSeqNumFlag 141=Y, or from 1 "
        "after resetting its side): agree it with the counterparty first.",
        "Messages sent before the reset are not resent; reports owed to the client are still "
        "delivered after its logon.",
        *cod,
    ]
