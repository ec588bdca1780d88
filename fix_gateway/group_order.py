"""Are the fields of each repeating group entry in the order of the data dictionary?

The FIX spec requires a group entry to begin with its first field (the delimiter) and the other
fields of the entry to follow in the order the message definition gives them; a message that
breaks it gets a session Reject with SessionRejectReason 15 ("Repeating group fields out of
order"). quickfix 1.16 checks the delimiter (an entry that does not begin with it is not
counted: a NumInGroup reject) but not the order inside an entry: its parser sorts the entry's
fields, so only the raw text can tell. ``GroupLayouts`` reads the layout of every message's
groups from quickfix's dictionary file; ``out_of_order`` checks the raw text of one message.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SOH = "\x01"
REASON_GROUP_FIELDS_OUT_OF_ORDER = 15
TEXT_GROUP_FIELDS_OUT_OF_ORDER = "Repeating group fields out of order"


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """One repeating group: its NumInGroup tag, its fields in dictionary order (the first is
    the delimiter; a nested group appears as its NumInGroup tag) and its nested groups."""

    count_tag: int
    fields: tuple[int, ...]
    nested: Mapping[int, GroupSpec] = field(default_factory=dict)
    positions: Mapping[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positions: dict[int, int] = {}
        for n, tag in enumerate(self.fields):
            positions.setdefault(tag, n)
        object.__setattr__(self, "positions", positions)


@dataclass(frozen=True, slots=True)
class OutOfOrder:
    """The first field found out of order, and the group it belongs to."""

    tag: int
    count_tag: int


def pairs(raw: str) -> list[tuple[int, str]]:
    """The fields of a raw message in the order received (fields without a numeric tag are
    skipped: quickfix has refused such a message before this is asked)."""
    out = []
    for part in raw.split(SOH):
        tag, sep, value = part.partition("=")
        if sep and tag.isdigit():
            out.append((int(tag), value))
    return out


def out_of_order(fields: list[tuple[int, str]],
                 groups: Mapping[int, GroupSpec]) -> OutOfOrder | None:
    """The first group field out of order in ``fields`` (a whole message), or None."""
    i = 0
    while i < len(fields):
        spec = groups.get(fields[i][0])
        i += 1
        if spec is not None:
            i, problem = _entries(fields, i, spec)
            if problem is not None:
                return problem
    return None


def _entries(fields: list[tuple[int, str]], i: int,
             spec: GroupSpec) -> tuple[int, OutOfOrder | None]:
    """Read the entries of ``spec`` from ``fields[i]`` on, as quickfix's parser does: the group
    goes on while the fields belong to it. Returns where it ended, or the problem."""
    last: int | None = None  # position in the entry of the last field read
    while i < len(fields):
        tag = fields[i][0]
        position = spec.positions.get(tag)
        if position is None:
            break
        if position == 0:
            last = 0                       # a new entry
        elif last is None or position <= last:
            return i, OutOfOrder(tag, spec.count_tag)
        else:
            last = position
        i += 1
        nested = spec.nested.get(tag)
        if nested is not None:
            i, problem = _entries(fields, i, nested)
            if problem is not None:
                return i, problem
    return i, None


class GroupLayouts:
    """The repeating groups of every message type of one FIX version (header groups included),
    read from a quickfix data dictionary file."""

    def __init__(self, by_msg_type: Mapping[str, Mapping[int, GroupSpec]]) -> None:
        self._groups = dict(by_msg_type)
        self._has_group = {
            msg_type: re.compile(SOH + "(?:" + "|".join(str(t) for t in sorted(groups)) + ")=")
            for msg_type, groups in self._groups.items() if groups
        }

    def groups(self, msg_type: str) -> Mapping[int, GroupSpec]:
        return self._groups.get(msg_type, {})

    def check(self, msg_type: str, raw: str) -> OutOfOrder | None:
        """The group-order problem of the raw message ``raw`` of type ``msg_type``; cheap for a
        message without groups (one regular-expression search)."""
        has_group = self._has_group.get(msg_type)
        if has_group is None or has_group.search(raw) is None:
            return None
        return out_of_order(pairs(raw), self._groups[msg_type])

    @classmethod
    def from_file(cls, path: Path) -> GroupLayouts:
        root = ET.parse(path).getroot()  # noqa: S314 - quickfix's own dictionary, installed with it
        numbers = {f.get("name", ""): int(f.get("number", "0"))
                   for f in _children(root, "fields")}
        components = {c.get("name", ""): c for c in _children(root, "components")}
        reader = _Reader(numbers, components)
        header = root.find("header")
        header_groups = reader.groups(header if header is not None else [])
        return cls({
            m.get("msgtype", ""): {**header_groups, **reader.groups(m)}
            for m in _children(root, "messages")
        })


def _children(root: ET.Element, name: str) -> list[ET.Element]:
    node = root.find(name)
    return list(node) if node is not None else []


@dataclass(frozen=True, slots=True)
class _Reader:
    numbers: Mapping[str, int]
    components: Mapping[str, ET.Element]

    def groups(self, node: Iterable[ET.Element]) -> dict[int, GroupSpec]:
        """The groups directly in ``node`` (through its components), by NumInGroup tag."""
        found: dict[int, GroupSpec] = {}
        for child in node:
            if child.tag == "group":
                spec = self.group(child)
                found[spec.count_tag] = spec
            elif child.tag == "component":
                found.update(self.groups(self.components.get(child.get("name", ""), [])))
        return found

    def group(self, node: ET.Element) -> GroupSpec:
        fields: list[int] = []
        nested: dict[int, GroupSpec] = {}
        self._members(node, fields, nested)
        return GroupSpec(self.numbers[node.get("name", "")], tuple(fields), nested)

    def _members(self, node: Iterable[ET.Element], fields: list[int],
                 nested: dict[int, GroupSpec]) -> None:
        for child in node:
            if child.tag == "field":
                fields.append(self.numbers[child.get("name", "")])
            elif child.tag == "group":
                spec = self.group(child)
                fields.append(spec.count_tag)
                nested[spec.count_tag] = spec
            elif child.tag == "component":
                self._members(self.components.get(child.get("name", ""), []), fields, nested)
