"""The operator admin pages (Flask, served by gunicorn: ``oms admin``).

``create_app`` imports Flask and the pages only when called, so that ``oms`` subcommands that
do not serve pages do not load them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    from oms.admin.app import create_app as build

    return build(test_config)


__all__ = ["create_app"]
