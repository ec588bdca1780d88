"""Risk limits: per-account overrides over global defaults, and the stored JSON form."""

from __future__ import annotations

import pytest

from oms.domain.risk import RateLimit, RiskLimits
from tests.unit.test_risk_support import D, seconds

DEFAULTS = RiskLimits(
    max_order_qty=D(10_000),
    max_order_notional=D(1_000_000),
    price_collar=D("0.10"),
    restricted_symbols=frozenset({"ZVZZT"}),
)


def test_an_account_override_replaces_the_default() -> None:
    effective = DEFAULTS.merged(RiskLimits(max_order_qty=D(500)))
    assert effective.max_order_qty == D(500)


def test_limits_the_account_does_not_set_keep_the_default() -> None:
    effective = DEFAULTS.merged(RiskLimits(max_order_qty=D(500)))
    assert effective.max_order_notional == D(1_000_000)
    assert effective.price_collar == D("0.10")


def test_an_override_may_loosen_a_default() -> None:
    assert DEFAULTS.merged(RiskLimits(max_order_qty=D(50_000))).max_order_qty == D(50_000)


def test_restricted_symbols_are_the_union_of_firm_and_account_lists() -> None:
    effective = DEFAULTS.merged(RiskLimits(restricted_symbols=frozenset({"AAPL"})))
    assert effective.restricted_symbols == {"AAPL", "ZVZZT"}


def test_no_overrides_means_the_defaults() -> None:
    assert DEFAULTS.merged(None) is DEFAULTS
    assert DEFAULTS.merged(RiskLimits()) == DEFAULTS


def test_merged_limits_precompute_the_collar_multipliers() -> None:
    effective = RiskLimits().merged(RiskLimits(price_collar=D("0.05")))
    assert (effective.collar_up, effective.collar_down) == (D("1.05"), D("0.95"))
    assert (RiskLimits().collar_up, RiskLimits().collar_down) == (D(1), D(1))


def test_the_json_form_round_trips() -> None:
    limits = RiskLimits(
        max_order_qty=D(10_000), max_order_notional=D("1000000.50"), price_collar=D("0.10"),
        max_reference_age=seconds("2.5"), max_open_orders=200, max_position=D(50_000),
        max_gross_exposure=D(5_000_000), account_order_rate=RateLimit(50, seconds(1)),
        account_message_rate=RateLimit(100, seconds(1)),
        session_order_rate=RateLimit(500, seconds(1)),
        session_message_rate=RateLimit(1_000, seconds("0.5")),
        duplicate_window=seconds(3), max_executions=RateLimit(100, seconds(1)),
        max_identical_executions=RateLimit(5, seconds(60)),
        restricted_symbols=frozenset({"B", "A"}),
    )
    mapping = limits.to_mapping()
    assert mapping["max_reference_age"] == "2.5"
    assert mapping["account_order_rate"] == {"count": 50, "seconds": "1"}
    assert mapping["restricted_symbols"] == ["A", "B"]
    assert RiskLimits.from_mapping(mapping) == limits


def test_unset_limits_are_left_out_of_the_json_form() -> None:
    assert RiskLimits(max_open_orders=3).to_mapping() == {"max_open_orders": 3}


def test_an_unknown_limit_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown risk limit"):
        RiskLimits.from_mapping({"max_order_quantity": "100"})


def test_a_float_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="decimal"):
        RiskLimits.from_mapping({"max_order_qty": 100.5})


@pytest.mark.parametrize("raw", ["-1", "NaN", "abc"])
def test_a_negative_or_non_numeric_limit_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        RiskLimits.from_mapping({"max_order_qty": raw})


def test_a_rate_limit_needs_a_positive_window() -> None:
    with pytest.raises(ValueError):
        RateLimit(10, seconds(0))
