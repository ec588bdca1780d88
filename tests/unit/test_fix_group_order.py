"""The order of the fields of a repeating group entry, as the FIX spec requires it: the entry
begins with its first field and the others follow in the order of the message definition.
Checked on the raw text, against the FIX 4.2 and FIX 4.4 dictionaries quickfix installs;
a property: any entry written in dictionary order passes, and swapping two of its fields is
found, naming the first field out of place."""

from __future__ import annotations

from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fix_gateway.group_order import GroupLayouts, GroupSpec, OutOfOrder
from fix_gateway.session_settings import data_dictionary

SOH = "\x01"


@cache
def layouts(begin_string: str) -> GroupLayouts:
    return GroupLayouts.from_file(Path(data_dictionary(begin_string)))


def raw(msg_type: str, *body: tuple[int, str]) -> str:
    fields = [(35, msg_type), (49, "ACME"), (56, "OMS"), (34, "2"),
              (52, "20261203-10:00:00.000"), *body]
    text = "".join(f"{tag}={value}{SOH}" for tag, value in fields)
    return f"8=FIX.4.4{SOH}9={len(text)}{SOH}{text}10=000{SOH}"


ORDER = [(11, "C1"), (21, "1"), (55, "ZVZZT"), (54, "1"), (60, "20261203-10:00:00.000"),
         (38, "100"), (40, "2"), (44, "9.50")]


def test_the_layout_of_the_parties_of_a_fix44_order_is_read_from_the_dictionary() -> None:
    parties = layouts("FIX.4.4").groups("D")[453]
    assert parties.fields == (448, 447, 452, 802)  # PartyID first, PtysSubGrp nested
    assert parties.nested[802].fields == (523, 803)


def test_a_fix44_order_with_its_parties_in_order_passes() -> None:
    message = raw("D", *ORDER, (453, "2"), (448, "P1"), (447, "D"), (452, "1"),
                  (448, "P2"), (452, "3"))
    assert layouts("FIX.4.4").check("D", message) is None


def test_party_role_before_party_id_source_is_out_of_order() -> None:
    message = raw("D", *ORDER, (453, "1"), (448, "P1"), (452, "1"), (447, "D"))
    assert layouts("FIX.4.4").check("D", message) == OutOfOrder(447, 453)


def test_an_entry_that_does_not_begin_with_its_first_field_is_out_of_order() -> None:
    message = raw("D", *ORDER, (453, "1"), (447, "D"), (448, "P1"))
    assert layouts("FIX.4.4").check("D", message) == OutOfOrder(447, 453)


def test_the_order_inside_a_nested_group_is_checked_too() -> None:
    nested_wrong = raw("D", *ORDER, (453, "1"), (448, "P1"), (802, "1"), (803, "4"),
                       (523, "S"))
    nested_right = raw("D", *ORDER, (453, "1"), (448, "P1"), (802, "1"), (523, "S"),
                       (803, "4"))
    assert layouts("FIX.4.4").check("D", nested_wrong) == OutOfOrder(803, 802)
    assert layouts("FIX.4.4").check("D", nested_right) is None


def test_a_message_without_groups_and_a_type_without_groups_pass() -> None:
    assert layouts("FIX.4.4").check("D", raw("D", *ORDER)) is None
    assert layouts("FIX.4.4").check("0", raw("0", (112, "x"))) is None
    assert layouts("FIX.4.4").check("UNKNOWN", raw("UNKNOWN", (453, "1"))) is None


def test_fix42_list_orders_are_checked() -> None:
    wrong = raw("E", (66, "L1"), (394, "3"), (68, "1"), (73, "1"), (11, "C1"), (55, "ZVZZT"),
                (67, "1"), (54, "1"))
    assert layouts("FIX.4.2").check("E", wrong) == OutOfOrder(67, 73)


# -- the property ------------------------------------------------------------------------------


def group_cases() -> list[tuple[str, str, int]]:
    """(version, MsgType, NumInGroup tag) of every group directly in a message body."""
    cases = []
    for version in ("FIX.4.2", "FIX.4.4"):
        for msg_type in ("D", "E", "G", "8", "AE", "R", "S", "i", "V", "W"):
            for count_tag in layouts(version).groups(msg_type):
                cases.append((version, msg_type, count_tag))
    return cases


def simple_fields(spec: GroupSpec) -> list[int]:
    """The fields of an entry other than its first, without nested groups, once each."""
    seen: set[int] = {spec.fields[0]}
    out = []
    for tag in spec.fields[1:]:
        if tag not in spec.nested and tag not in seen:
            seen.add(tag)
            out.append(tag)
    return out


@st.composite
def entries(draw: st.DrawFn) -> tuple[str, str, GroupSpec, list[list[int]]]:
    version, msg_type, count_tag = draw(st.sampled_from(group_cases()))
    spec = layouts(version).groups(msg_type)[count_tag]
    others = simple_fields(spec)
    chosen = draw(st.lists(st.lists(st.sampled_from(others), unique=True, max_size=6)
                           if others else st.just([]), min_size=1, max_size=4))
    ordered = [[spec.fields[0], *sorted(entry, key=spec.positions.__getitem__)]
               for entry in chosen]
    return version, msg_type, spec, ordered


def message(msg_type: str, spec: GroupSpec, group: list[list[int]]) -> str:
    body = [(spec.count_tag, str(len(group)))]
    body += [(tag, "1") for entry in group for tag in entry]
    return raw(msg_type, *body)


@given(entries())
def test_entries_in_dictionary_order_always_pass(
        case: tuple[str, str, GroupSpec, list[list[int]]]) -> None:
    version, msg_type, spec, group = case
    assert layouts(version).check(msg_type, message(msg_type, spec, group)) is None


@given(entries(), st.data())
def test_two_fields_of_an_entry_swapped_are_found(
        case: tuple[str, str, GroupSpec, list[list[int]]], data: st.DataObject) -> None:
    version, msg_type, spec, group = case
    swappable = [n for n, entry in enumerate(group) if len(entry) >= 3]
    if not swappable:
        return
    n = data.draw(st.sampled_from(swappable))
    i, j = sorted(data.draw(st.lists(st.integers(1, len(group[n]) - 1), min_size=2,
                                     max_size=2, unique=True)))
    entry = group[n]
    entry[i], entry[j] = entry[j], entry[i]
    # the first field placed after a field that comes later in the definition
    first_wrong = next(b for a, b in pairwise(entry)
                       if spec.positions[b] <= spec.positions[a])
    found = layouts(version).check(msg_type, message(msg_type, spec, group))
    assert found == OutOfOrder(first_wrong, spec.count_tag)


@pytest.mark.parametrize("version", ["FIX.4.2", "FIX.4.4"])
def test_every_message_type_of_the_dictionary_has_its_groups_read(version: str) -> None:
    assert layouts(version).groups("D"), "the order message has groups in both versions"
    assert all(spec.fields for msg in ("D", "8", "E")
               for spec in layouts(version).groups(msg).values())
