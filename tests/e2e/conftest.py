"""The running stack for end-to-end tests: venue simulator + gateway on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.isolation import TestVhost
from tests.support.stack import Strategy, running_stack, test_settings


@pytest.fixture(scope="module")
def stack(
    database_url: str, amqp_vhost: TestVhost, run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    data_dir: Path = tmp_path_factory.mktemp("stack")
    settings = test_settings(database_url=database_url, amqp_url=amqp_vhost.url,
                             data_dir=data_dir)
    with running_stack(settings, data_dir, f"oms_test_{run_id}:") as gateway:
        yield gateway


@pytest.fixture
def trader(stack: object, amqp_vhost: TestVhost) -> Iterator[Strategy]:
    s = Strategy(amqp_vhost.url)
    try:
        yield s
    finally:
        s.close()
