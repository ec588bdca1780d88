"""Structured JSON logs (python-json-logger): one object per line, with order context fields
passed through ``extra={"order_id": ..., "cl_ord_id": ...}``."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def configure_logging(level: str = "INFO", *, json_lines: bool = True,
                      shard: str | None = None) -> None:
    """``shard``: every line carries it (a ``shard`` field; ``[shard]`` in plain text)."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
                datefmt="%Y-%m-%dT%H:%M:%S%z",
                static_fields={"shard": shard} if shard else None,
            )
        )
    else:
        where = f" [{shard}]" if shard else ""
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)-5s{where} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pika narrates every connection step at INFO; its warnings and errors still show.
    logging.getLogger("pika").setLevel(max(logging.WARNING, root.level))
    logging.Formatter.converter = __import__("time").gmtime
