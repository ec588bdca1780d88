"""The duplicate-ClOrdID filter's figures are on /metrics: how many checks memory answered, how
many went to the database, and how full the filter is."""

from __future__ import annotations

from prometheus_client import generate_latest

from oms.engine.recorded_keys import RecordedKeys
from oms.metrics import ClOrdIdFilterCollector, GatewayMetrics


def test_checks_answered_by_memory_and_by_the_database_are_counted_on_metrics() -> None:
    keys = RecordedKeys(floor=1000)
    keys.load(2, [("amqp:DEMO1", "A1"), ("amqp:DEMO1", "A2")])
    assert keys.might_hold(("amqp:DEMO1", "A1"))           # recorded: the database is asked
    assert not keys.might_hold(("amqp:DEMO1", "NEW-1"))    # never recorded: memory says so
    metrics = GatewayMetrics()
    metrics.registry.register(ClOrdIdFilterCollector(lambda: keys))
    text = generate_latest(metrics.registry).decode()
    assert 'oms_clordid_checks_total{answer="asked"} 1.0' in text
    assert 'oms_clordid_checks_total{answer="ruled_out"} 1.0' in text
    assert 'oms_clordid_filter_keys{kind="added"} 2.0' in text
    assert 'oms_clordid_filter_keys{kind="capacity"} 1000.0' in text
