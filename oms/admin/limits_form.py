"""The risk-limit edit form: one input per limit (two for a rate), to and from the
``RiskLimits`` mapping form. An empty input means "not set here" (the default applies, or the
limit is not enforced)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from oms.domain.risk import RiskLimits

Kind = Literal["decimal", "count", "seconds", "rate", "symbols"]


@dataclass(frozen=True, slots=True)
class LimitField:
    name: str
    kind: Kind
    label: str
    help: str = ""


LIMIT_FIELDS: tuple[LimitField, ...] = (
    LimitField("max_order_qty", "decimal", "Max order quantity"),
    LimitField("max_order_notional", "decimal", "Max order notional"),
    LimitField("price_collar", "decimal", "Price collar", "fraction of the reference: 0.10 = 10%"),
    LimitField("max_reference_age", "seconds", "Max reference price age", "seconds"),
    LimitField("max_open_orders", "count", "Max open orders"),
    LimitField("max_position", "decimal", "Max position per symbol", "worst case, long or short"),
    LimitField("max_gross_exposure", "decimal", "Max gross exposure", "worst case, all symbols"),
    LimitField("account_order_rate", "rate", "Account order rate"),
    LimitField("account_message_rate", "rate", "Account message rate"),
    LimitField("session_order_rate", "rate", "Session order rate"),
    LimitField("session_message_rate", "rate", "Session message rate"),
    LimitField("duplicate_window", "seconds", "Duplicate order window", "seconds"),
    LimitField("max_executions", "rate", "Breaker: executions"),
    LimitField("max_identical_executions", "rate", "Breaker: identical executions"),
    LimitField("restricted_symbols", "symbols", "Restricted symbols", "comma separated"),
)


def form_values(limits: RiskLimits) -> dict[str, str]:
    """Input name -> text, for every input of the form."""
    mapping = limits.to_mapping()
    values: dict[str, str] = {}
    for f in LIMIT_FIELDS:
        raw = mapping.get(f.name)
        if f.kind == "rate":
            values[f"{f.name}.count"] = "" if raw is None else str(raw["count"])
            values[f"{f.name}.seconds"] = "" if raw is None else str(raw["seconds"])
        elif f.kind == "symbols":
            values[f.name] = ", ".join(raw or ())
        else:
            values[f.name] = "" if raw is None else str(raw)
    return values


def limits_from_form(form: Mapping[str, str]) -> RiskLimits:
    """The limits an operator entered; ``ValueError`` naming the limit on a bad value."""
    mapping: dict[str, Any] = {}
    for f in LIMIT_FIELDS:
        if f.kind == "rate":
            count = form.get(f"{f.name}.count", "").strip()
            per = form.get(f"{f.name}.seconds", "").strip()
            if count or per:
                if not (count and per):
                    raise ValueError(f"{f.label}: give both a count and a number of seconds")
                mapping[f.name] = {"count": count, "seconds": per}
        elif f.kind == "symbols":
            symbols = [s.strip() for s in form.get(f.name, "").split(",") if s.strip()]
            if symbols:
                mapping[f.name] = symbols
        else:
            text = form.get(f.name, "").strip()
            if text:
                mapping[f.name] = text
    try:
        limits = RiskLimits.from_mapping(mapping)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ValueError(_which(mapping, exc)) from None
    return limits


def _which(mapping: dict[str, Any], exc: Exception) -> str:
    """Name the limit a parse error is about: try each alone."""
    for f in LIMIT_FIELDS:
        if f.name in mapping:
            try:
                RiskLimits.from_mapping({f.name: mapping[f.name]})
            except (ValueError, TypeError, ArithmeticError) as single:
                text = str(single)
                if text.startswith("invalid literal for int()"):
                    text = "expected a whole number"
                return f"{f.label}: {text}"
    return str(exc)
