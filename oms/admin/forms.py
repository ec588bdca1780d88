"""The forms of the admin pages (Flask-WTF: every form carries a CSRF token).

Every form that changes something has a required ``reason``: it goes into the operator audit
log with who, what and when.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Regexp

from oms.domain.values import KillScope, OperatorRole
from oms.engine.session_commands import MAX_SEQ

REASON_MAX = 500
ROLE_CHOICES = [r.value for r in OperatorRole]
SCOPE_CHOICES = [s.value for s in KillScope]


def _reason() -> StringField:
    return StringField(
        "Reason", validators=[DataRequired("a reason is required"), Length(max=REASON_MAX)],
    )


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class LogoutForm(FlaskForm):  # type: ignore[misc]
    pass


class ReasonForm(FlaskForm):  # type: ignore[misc]
    """An action whose target is in the URL: cancel an order, re-enable a breaker, clear a
    kill switch."""

    reason = _reason()


class CancelAllForm(FlaskForm):  # type: ignore[misc]
    account = StringField("Account", validators=[DataRequired(), Length(max=64)])
    reason = _reason()
    confirm = HiddenField()


def _shard() -> StringField:
    """With gateway shards: the one shard to act on (blank: every shard concerned)."""
    return StringField("Shard", validators=[Length(max=64)])


class KillSwitchTripForm(FlaskForm):  # type: ignore[misc]
    scope = StringField("Scope", validators=[AnyOf(SCOPE_CHOICES)])
    key = StringField("Account / venue / symbol", validators=[Length(max=64)])
    shard = _shard()
    reason = _reason()
    confirm = HiddenField()


class KillSwitchClearForm(FlaskForm):  # type: ignore[misc]
    scope = HiddenField(validators=[InputRequired()])
    key = HiddenField(validators=[InputRequired()])
    shard = _shard()
    reason = _reason()


CLOSE_STATUSES = ["canceled", "expired", "rejected"]


class CloseOrderForm(FlaskForm):  # type: ignore[misc]
    """Close an order by hand (the venue confirmed by phone); nothing is sent to the venue."""

    status = StringField("Close as", validators=[AnyOf(CLOSE_STATUSES)])
    reason = _reason()


class ResolveUnmatchedForm(FlaskForm):  # type: ignore[misc]
    resolution = TextAreaField(
        "Resolution (what was done, and why)",
        validators=[DataRequired("say what was done"), Length(max=REASON_MAX)],
    )


class AddOperatorForm(FlaskForm):  # type: ignore[misc]
    username = StringField(
        "Name", validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_.\-]{1,64}$",
                                                   message="letters, digits, '.', '_', '-'")],
    )
    role = StringField("Role", validators=[AnyOf(ROLE_CHOICES)])
    password = PasswordField("Initial password", validators=[DataRequired(), Length(max=1024)])
    reason = _reason()


class ChangeRoleForm(FlaskForm):  # type: ignore[misc]
    role = StringField("Role", validators=[AnyOf(ROLE_CHOICES)])
    reason = _reason()


class SetDisabledForm(FlaskForm):  # type: ignore[misc]
    disabled = StringField("Disable (1) or enable (0)", validators=[AnyOf(["1", "0"])])
    reason = _reason()


class SessionSeqForm(FlaskForm):  # type: ignore[misc]
    """Set a FIX session's next sender or target MsgSeqNum (which one is in the URL)."""

    seq = IntegerField("Next MsgSeqNum", validators=[
        InputRequired("a MsgSeqNum is required"),
        NumberRange(min=1, max=MAX_SEQ, message=f"a MsgSeqNum is from 1 to {MAX_SEQ}"),
    ])
    shard = _shard()
    reason = _reason()


class SessionOperationForm(FlaskForm):  # type: ignore[misc]
    """Log a FIX session on or out, or reset it (logout and reset take a confirmation)."""

    shard = _shard()
    reason = _reason()
    confirm = HiddenField()


def text(field: StringField | TextAreaField | HiddenField) -> str:
    """A submitted text value, stripped ("" when missing)."""
    data = field.data
    return data.strip() if isinstance(data, str) else ""


def secret(field: PasswordField) -> str:
    """A submitted password, exactly as typed."""
    return field.data if isinstance(field.data, str) else ""
