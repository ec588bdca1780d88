"""The core depends on its ports, never on an adapter: no module under ``oms/engine`` imports
pika, quickfix, ``fix_gateway`` or ``oms.bus`` (read from the source with ``ast``, so an import
inside a function or under ``TYPE_CHECKING`` counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "oms" / "engine"
FORBIDDEN = ("pika", "quickfix", "fix_gateway", "oms.bus")


def adapter_imports(source: str) -> list[str]:
    """The forbidden modules ``source`` imports, as written."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [name for name in names
                  if any(name == root or name.startswith(f"{root}.") for root in FORBIDDEN)]
    return found


ENGINE_MODULES = sorted(p.name for p in ENGINE.glob("*.py"))


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_no_engine_module_imports_an_adapter(module: str) -> None:
    assert adapter_imports((ENGINE / module).read_text()) == []


@pytest.mark.parametrize(("source", "expected"), [
    ("import pika", ["pika"]),
    ("import quickfix as fix", ["quickfix"]),
    ("from fix_gateway import venue_orders", ["fix_gateway"]),
    ("from oms.bus.intake_consumer import IntakeDelivery", ["oms.bus.intake_consumer"]),
    ("def later():\n    from oms.bus import topology", ["oms.bus"]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pika.spec",
     ["pika.spec"]),
    ("from oms.business import rules\nimport pikachu", []),
    ("from oms.engine.ports import VenuePort\nfrom . import batch", []),
])
def test_the_check_sees_every_form_of_import(source: str, expected: list[str]) -> None:
    assert adapter_imports(source) == expected
