"""What each shard keeps apart in the shared broker and database: its intake queue and
bindings, and its venue sessions' watermarks."""

from __future__ import annotations

from oms.bus.topology import DEFAULT_ROUTE, INTAKE_QUEUE, IntakeRoute, unrouted_policy_command
from oms.engine.batch import watermark_of_row, watermark_row_key
from oms.settings import DEFAULT_SHARD


def test_the_implicit_shard_consumes_the_contract_queue_bound_with_hash() -> None:
    assert DEFAULT_ROUTE.queue == INTAKE_QUEUE == "oms.orders.intake"
    assert DEFAULT_ROUTE.bindings == ("#",) and DEFAULT_ROUTE.unbind == ()


def test_a_shard_binds_its_accounts_and_unbinds_the_others_of_the_file() -> None:
    route = IntakeRoute.of_shard("B", ["DEMO2", "CLIENT1"], ["DEMO1", "DEMO2", "CLIENT1"])
    assert route.queue == "oms.orders.intake.B"
    assert route.bindings == ("CLIENT1", "DEMO2")
    assert route.unbind == ("DEMO1",)  # moved away, or never here: a no-op then


def test_each_shard_has_its_own_venue_watermark_and_shares_no_client_one() -> None:
    assert watermark_row_key("venue:SIM", DEFAULT_SHARD) == "venue:SIM"
    assert watermark_row_key("venue:SIM", "A") == "venue:SIM@A"
    assert watermark_row_key("client:CLIENT1", "A") == "client:CLIENT1"
    assert watermark_of_row("venue:SIM@A", "A") == "venue:SIM"
    assert watermark_of_row("venue:SIM@B", "A") is None
    assert watermark_of_row("venue:SIM", "A") is None
    assert watermark_of_row("venue:SIM", DEFAULT_SHARD) == "venue:SIM"
    assert watermark_of_row("venue:SIM@A", DEFAULT_SHARD) is None
    assert watermark_of_row("client:CLIENT1", "B") == "client:CLIENT1"


def test_the_unrouted_policy_names_the_alternate_exchange_of_oms_orders() -> None:
    command = unrouted_policy_command("v1")
    assert command[:4] == ["rabbitmqctl", "set_policy", "-p", "v1"]
    assert command[-2:] == [r"^oms\.orders$", '{"alternate-exchange": "oms.orders.unrouted"}']
