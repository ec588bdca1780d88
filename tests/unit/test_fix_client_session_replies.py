"""The gateway's session-level replies to FIX clients where the FIX spec asks for more than
quickfix 1.16 sends, and the look at the raw text of incoming messages of strict sessions:

- a session Reject for group fields out of order (45, 371, 372, 373 = 15, 58; FIX 4.2 has no
  reason 15, so 373 is left out there);
- RefTagID 36 on the Reject of a SequenceReset-Reset that would lower the MsgSeqNum;
- the Logout after a CompID or SendingTime Reject says why;
- what is found in a message's raw text is kept per session and MsgSeqNum until taken.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import quickfix as fix

from fix_gateway.client_application import ClientApplication
from fix_gateway.group_order import GroupLayouts, OutOfOrder
from fix_gateway.inbound_log import CheckingLogFactory, InboundChecks
from fix_gateway.session_replies import group_order_reject, logout_reason, missing_ref_tag
from fix_gateway.session_settings import SessionKey, data_dictionary
from fix_gateway.wire import parse_raw

ACME44 = SessionKey("FIX.4.4", "OMS", "ACME")
ACME42 = SessionKey("FIX.4.2", "OMS", "ACME")
SOH = "\x01"


@cache
def layouts(begin_string: str) -> GroupLayouts:
    return GroupLayouts.from_file(Path(data_dictionary(begin_string)))


def raw(msg_type: str, seq: int, *body: tuple[int, str]) -> str:
    text = "".join(f"{t}={v}{SOH}" for t, v in [(35, msg_type), (34, str(seq)), *body])
    return f"8=FIX.4.4{SOH}9={len(text)}{SOH}{text}10=000{SOH}"


PARTIES_WRONG = ((11, "C1"), (453, "1"), (448, "P1"), (452, "1"), (447, "D"))
PARTIES_RIGHT = ((11, "C1"), (453, "1"), (448, "P1"), (447, "D"), (452, "1"))


# -- the Reject for group fields out of order --------------------------------------------------


def test_the_reject_names_the_message_the_field_and_reason_15() -> None:
    received = {35: "D", 34: "7", 11: "C1"}
    assert group_order_reject("FIX.4.4", received, OutOfOrder(447, 453)) == {
        45: "7", 371: "447", 372: "D", 373: "15", 58: "Repeating group fields out of order"}


def test_fix42_has_no_reason_15_so_the_text_says_it() -> None:
    received = {35: "E", 34: "3"}
    reject = group_order_reject("FIX.4.2", received, OutOfOrder(67, 73))
    assert 373 not in reject
    assert (reject[45], reject[371], reject[372], reject[58]) == (
        "3", "67", "E", "Repeating group fields out of order")


# -- completing quickfix's replies ----------------------------------------------------------------


@pytest.mark.parametrize(("reject", "ref_tag"), [
    ({372: "4", 373: "5", 58: "Value is incorrect (out of range) for this tag"}, 36),
    ({372: "4", 373: "5", 371: "36"}, None),        # already there
    ({372: "D", 373: "5", 371: "21"}, None),        # another message's reject
    ({372: "4", 373: "1", 371: "36"}, None),
])
def test_a_reject_of_a_sequence_reset_below_the_expected_names_new_seq_no(
        reject: dict[int, str], ref_tag: int | None) -> None:
    assert missing_ref_tag(reject) == ref_tag


@pytest.mark.parametrize(("reject", "reason"), [
    ({373: "9", 58: "CompID problem"}, "CompID problem"),
    ({373: "10", 58: "SendingTime accuracy problem"}, "SendingTime accuracy problem"),
    ({373: "5", 58: "Value is incorrect (out of range) for this tag"}, None),
    ({58: "Tag appears more than once"}, None),
])
def test_the_logout_after_a_comp_id_or_sending_time_reject_says_why(
        reject: dict[int, str], reason: str | None) -> None:
    assert logout_reason(reject) == reason


def application() -> ClientApplication:
    return ClientApplication({}, lambda item: None, {})


def sent(app: ClientApplication, key: SessionKey, msg_type: str,
         body: dict[int, str]) -> dict[int, str]:
    """What quickfix would send after ``toAdmin`` (a real quickfix message, amended)."""
    message = fix.Message()
    message.getHeader().setField(8, key.begin_string)
    message.getHeader().setField(35, msg_type)
    for tag, value in body.items():
        message.setField(tag, value)
    app.toAdmin(message, key.session_id())
    return parse_raw(message.toString())


def test_quickfix_replies_are_completed_on_their_way_out() -> None:
    app = application()
    reset_reject = sent(app, ACME44, "3", {45: "0", 372: "4", 373: "5",
                                          58: "Value is incorrect (out of range) for this tag"})
    assert reset_reject[371] == "36"
    sent(app, ACME44, "3", {45: "2", 372: "0", 373: "10", 58: "SendingTime accuracy problem"})
    assert sent(app, ACME44, "5", {})[58] == "SendingTime accuracy problem"
    assert 58 not in sent(app, ACME44, "5", {}), "the reason is for the one Logout after it"


def test_a_reason_is_only_for_the_logout_right_after_the_reject() -> None:
    app = application()
    sent(app, ACME42, "3", {45: "2", 372: "D", 373: "9", 58: "CompID problem"})
    sent(app, ACME44, "5", {})                       # another session's Logout
    sent(app, ACME42, "0", {})                       # something else came first
    assert 58 not in sent(app, ACME42, "5", {})
    sent(app, ACME42, "3", {45: "2", 372: "D", 373: "9", 58: "CompID problem"})
    assert sent(app, ACME42, "5", {58: "bye"})[58] == "bye", "a Text of its own stays"


# -- the raw text of incoming messages ------------------------------------------------------------


def checks() -> InboundChecks:
    return InboundChecks({ACME44: layouts("FIX.4.4")})


def test_a_problem_is_kept_for_its_message_until_taken_once() -> None:
    inbound = checks()
    inbound.incoming(ACME44, raw("D", 7, *PARTIES_WRONG))
    assert inbound.take(ACME44, 6) is None
    assert inbound.take(ACME44, 7) == OutOfOrder(447, 453)
    assert inbound.take(ACME44, 7) is None


def test_a_good_message_with_the_same_seq_num_replaces_a_bad_one() -> None:
    inbound = checks()
    inbound.incoming(ACME44, raw("D", 7, *PARTIES_WRONG))
    inbound.incoming(ACME44, raw("D", 7, *PARTIES_RIGHT))  # e.g. resent with PossDupFlag
    assert inbound.take(ACME44, 7) is None


def test_a_logon_forgets_what_was_found_before_it() -> None:
    inbound = checks()
    inbound.incoming(ACME44, raw("D", 7, *PARTIES_WRONG))
    inbound.incoming(ACME44, raw("A", 1, (98, "0"), (108, "30")))
    assert inbound.take(ACME44, 7) is None


def test_lenient_sessions_and_session_messages_are_not_looked_at() -> None:
    inbound = checks()
    assert not inbound.watches(ACME42)
    inbound.incoming(ACME42, raw("D", 7, *PARTIES_WRONG))
    assert inbound.take(ACME42, 7) is None
    inbound.incoming(ACME44, raw("0", 8, (453, "1"), (452, "1"), (448, "P")))
    assert inbound.take(ACME44, 8) is None


def file_log_settings(tmp_path: Path) -> fix.SessionSettings:
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    defaults.setString("ConnectionType", "acceptor")
    defaults.setString("FileLogPath", str(tmp_path))
    settings.set(defaults)
    for key in (ACME44, ACME42):
        session = fix.Dictionary()
        session.setString("BeginString", key.begin_string)
        settings.set(key.session_id(), session)
    return settings


def test_a_strict_session_s_log_shows_each_incoming_message_to_the_checks_and_writes_it(
        tmp_path: Path) -> None:
    inbound = checks()
    factory = CheckingLogFactory(file_log_settings(tmp_path), inbound)
    strict = factory.create(ACME44.session_id())
    lenient = factory.create(ACME42.session_id())
    assert type(strict).__name__ == "_CheckingLog" and type(lenient) is fix.Log
    bad = raw("D", 9, *PARTIES_WRONG)
    strict.onIncoming(bad)
    strict.onIncoming("8=FIX.4.4\x019=5\x0135=0\x01\udcff10=000\x01")  # not UTF-8 on the wire
    assert inbound.take(ACME44, 9) == OutOfOrder(447, 453)
    factory.destroy(strict)
    factory.destroy(lenient)
    written = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*ACME.messages*"))
    assert bad in written and "35=0" in written
