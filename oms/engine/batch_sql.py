"""The rows of a batch to SQL as ONE statement, whatever the number of rows and tables.

Each table's rows go as one JSON document, turned back into rows of the table's own type on
the server (``json_populate_recordset``); the tables are written together by data-modifying
CTEs::

    WITH w0 AS (INSERT INTO orders (..) SELECT .. FROM json_populate_recordset(NULL::orders, $1)),
         w1 AS (UPDATE orders AS t SET .. FROM json_populate_recordset(..) AS v WHERE ..),
         ...
    SELECT 1

Per statement and per parameter, the client library costs far more Python than the rows do:
an executemany sent one statement per row (and in pipeline mode went through the socket after
each, giving up the GIL each time); one statement per table with a parameter per column still
cost ~2-3 ms of CPU for a batch of one order. The server does the type conversions, following
the schema alembic owns: numbers travel as strings (exact), times as ISO 8601 with their
offset, enums as their values, JSON columns as nested JSON.

All parts see the same snapshot and none sees another's rows, so a part must never depend on
rows another part writes (orders are either inserted or updated in a batch, never both; the
venue-request state update, which may follow rows of earlier batches only, stays a statement
of its own). Foreign keys are checked at the end of the statement, so events may reference
orders inserted by it. Identifiers are the table's name and its own columns (a key that is not
a column raises ``KeyError``); every value is a parameter.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
import psycopg
from sqlalchemy import Table


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, date | time):  # datetimes too: ISO 8601 with their offset
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot write {type(value).__name__} {value!r}")


def _document(rows: Sequence[Mapping[str, Any]]) -> str:
    # orjson: the batch's rows (event bodies included) were a sixth of the core's CPU with the
    # standard library's encoder; UUIDs, datetimes and enums it writes itself, decimals here
    return orjson.dumps(rows, default=_json_value).decode("utf-8")


@cache
def _scalar_defaults(table: Table) -> dict[str, Any]:
    """Python-side constant defaults of the table's columns (``default=0``): SQLAlchemy adds
    them to its INSERTs, so these must too."""
    defaults: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if default is not None and getattr(default, "is_scalar", False):
            defaults[column.name] = getattr(default, "arg", None)
    return defaults


def _columns(table: Table, keys: tuple[str, ...]) -> str:
    for key in keys:
        table.c[key]  # raises KeyError for a key that is not a column
    return ", ".join(keys)


def _rows_of(table: Table) -> str:
    return f"json_populate_recordset(NULL::{table.name}, %s::json)"


@dataclass(slots=True)
class Writes:
    """The parts of one statement, and their parameters."""

    parts: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    checks: list[tuple[int, int]] = field(default_factory=list)
    """(part, rows it must change): the statement fails (division by zero) otherwise."""

    def insert(self, table: Table, rows: Sequence[Mapping[str, Any]],
               on_conflict: str = "") -> None:
        """``INSERT INTO table (keys of the rows) ... [on_conflict]``."""
        if not rows:
            return
        defaults = _scalar_defaults(table)
        for keys, group in _by_keys(rows).items():
            missing = {k: v for k, v in defaults.items() if k not in keys}
            if missing:
                group = [{**row, **missing} for row in group]  # noqa: PLW2901
            columns = _columns(table, keys + tuple(missing))
            self.parts.append(f"INSERT INTO {table.name} ({columns}) SELECT {columns} "  # noqa: S608
                              f"FROM {_rows_of(table)} {on_conflict}")
            self.params.append(_document(group))

    def update(self, table: Table, key: str, rows: Sequence[Mapping[str, Any]],
               extra: str = "", match: str | None = None) -> None:
        """``UPDATE table SET <each key of the rows but key> ... WHERE key matches``;
        ``extra`` adds assignments (e.g. ``version = t.version + 1``). With ``match`` (a
        column), only rows whose ``match`` equals the given value change, and the statement
        fails unless every row does: an optimistic version check with no read before it."""
        if not rows:
            return
        for keys, group in _by_keys(rows).items():
            _columns(table, keys)
            assignments = [f"{c} = v.{c}" for c in keys if c not in (key, match)]
            if extra:
                assignments.append(extra)
            condition = f"t.{key} = v.{key}"
            if match is not None:
                condition += f" AND t.{match} = v.{match}"
                self.checks.append((len(self.parts), len(group)))
            self.parts.append(f"UPDATE {table.name} AS t SET {', '.join(assignments)} "  # noqa: S608
                              f"FROM {_rows_of(table)} AS v WHERE {condition}"
                              f"{' RETURNING 1' if match is not None else ''}")
            self.params.append(_document(group))

    def execute(self, cursor: Any) -> None:
        if not self.parts:
            return
        params: list[Any] = list(self.params)
        if len(self.parts) == 1 and not self.checks:
            sql = self.parts[0]
        else:
            ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(self.parts))
            result = "1"
            for part, expected in self.checks:
                # evaluated when the statement runs (a constant 1/0 would fail when planned)
                result += (f" / (CASE WHEN (SELECT count(*) FROM w{part}) = %s::bigint "  # noqa: S608
                           "THEN 1 ELSE 0 END)")
                params.append(expected)
            sql = f"WITH {ctes} SELECT {result}"
        cursor.execute(sql, params)


def is_stale_version(exc: BaseException) -> bool:
    """Whether ``exc`` (the driver's, or SQLAlchemy's around it) is the failed version check
    of ``Writes.update(match=...)``."""
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, psycopg.errors.DivisionByZero)


def _by_keys(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, ...], list[Any]]:
    """Rows grouped by their keys (rows of one kind all have the same keys)."""
    groups: dict[tuple[str, ...], list[Any]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    return groups
