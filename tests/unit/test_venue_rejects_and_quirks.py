"""What a venue's Reject (35=3) and BusinessMessageReject (35=j) say, what we sent under each
MsgSeqNum, and confirmations that name the order instead of the request they answer."""

from __future__ import annotations

import threading

from fix_gateway.venue_application import venue_report_from_fields
from fix_gateway.venue_rejects import SentMessages, reject_notice_from_fix
from oms.domain.order_inputs import RequestCancel, RequestReplace, VenueExecutionReport
from oms.domain.orders import Order
from oms.domain.values import ExecType, OrdStatus
from oms.engine.inputs import RejectNotice, SentMessage
from oms.engine.venue_quirks import request_confirmed
from oms.engine.venue_reject_handling import message_name
from tests.unit.test_order_state_machine_support import T0, D, Venue, new_order


def test_a_session_reject_names_the_message_the_field_and_the_reason() -> None:
    notice = reject_notice_from_fix({35: "3", 45: "7", 371: "40", 372: "D", 373: "5",
                                     58: "Value is incorrect (out of range) for this tag"})
    assert notice == RejectNotice(
        msg_type="3", ref_seq_num=7, ref_msg_type="D", ref_id=None, ref_tag=40,
        reason_code="5", reason="value is incorrect (out of range) for this tag",
        text="Value is incorrect (out of range) for this tag")
    assert notice.describe() == ("session Reject 35=3, SessionRejectReason 5: value is"
                                 " incorrect (out of range) for this tag, RefTagID 40")


def test_a_business_reject_names_our_clordid_and_the_reason() -> None:
    fields = {35: "j", 45: "9", 372: "G", 379: "V1A", 380: "3", 58: "replace not supported"}
    notice = venue_report_from_fields(fields, "FIX.4.2")
    assert isinstance(notice, RejectNotice)
    assert (notice.ref_seq_num, notice.ref_msg_type, notice.ref_id) == (9, "G", "V1A")
    assert notice.describe() == ("BusinessMessageReject 35=j, BusinessRejectReason 3:"
                                 " unsupported message type")


def test_a_reject_with_odd_or_missing_fields_is_still_read() -> None:
    notice = reject_notice_from_fix({35: "3", 45: "x", 373: "42"})
    assert (notice.ref_seq_num, notice.reason_code, notice.reason, notice.text) == (
        None, "42", None, None)
    assert notice.describe() == "session Reject 35=3, SessionRejectReason 42"
    assert message_name("D") == "NewOrderSingle (35=D)" and message_name("ZZ") == "35=ZZ"


def test_what_we_sent_is_found_by_msgseqnum_and_a_reused_number_takes_the_slot() -> None:
    sent = SentMessages(capacity=3)
    sent.record("SIM", 2, "D", "V1")
    sent.record("SIM", 3, "F", "V2")
    assert sent.find("SIM", 2) == SentMessage("D", "V1")
    assert sent.find("OTHER", 2) is None and sent.find("SIM", None) is None
    sent.record("SIM", 2, "0", None)  # a heartbeat under 2 after a sequence reset
    assert sent.find("SIM", 2) == SentMessage("0", None)
    for seq in (4, 5, 6):
        sent.record("SIM", seq, "D", f"V{seq}")
    assert sent.find("SIM", 3) is None  # bounded: the oldest went
    assert sent.find("SIM", 6) == SentMessage("D", "V6")


def test_what_we_sent_is_recorded_and_read_from_several_threads() -> None:
    sent = SentMessages(capacity=100_000)

    def send(start: int) -> None:
        for seq in range(start, start + 2000):
            sent.record("SIM", seq, "D", f"V{seq}")

    threads = [threading.Thread(target=send, args=(n * 2000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(sent.find("SIM", seq) == SentMessage("D", f"V{seq}") for seq in range(8000))


# --- confirmations naming the order (11 = original ClOrdID, no 41) ------------------------


def _acked_with(request: RequestCancel | RequestReplace) -> tuple[Order, Venue]:
    order, venue = new_order(), Venue("SIM-7")
    assert order.apply(venue.new(), T0).applied
    assert order.apply(request, T0).applied
    return order, venue


def _report(exec_type: ExecType, cl_ord_id: str, orig: str | None = None,
            order_id: str | None = "SIM-7") -> VenueExecutionReport:
    return VenueExecutionReport(exec_type, "E9", OrdStatus.CANCELED, cl_ord_id=cl_ord_id,
                                orig_cl_ord_id=orig, venue_order_id=order_id)


def test_a_cancel_confirmed_under_the_original_clordid_without_41_answers_the_cancel() -> None:
    order, _ = _acked_with(RequestCancel("Y"))
    found = request_confirmed(order, _report(ExecType.CANCELED, "V1"), "X", "new")
    assert found is not None and found.cl_ord_id == "Y"
    # 41 echoing 11, and a pending-cancel acknowledgement, are matched alike
    assert request_confirmed(order, _report(ExecType.CANCELED, "V1", "V1"), "X", "new")
    assert request_confirmed(order, _report(ExecType.PENDING_CANCEL, "V1"), "X", "new")


def test_a_replace_confirmed_under_the_original_clordid_answers_the_replace() -> None:
    order, _ = _acked_with(RequestReplace("Y", quantity=D(12000)))
    found = request_confirmed(order, _report(ExecType.REPLACED, "V1"), "X", "new")
    assert found is not None and found.cl_ord_id == "Y"


def test_a_confirmation_named_as_fix_says_or_not_this_quirk_is_left_alone() -> None:
    order, _ = _acked_with(RequestCancel("Y"))
    # 11 = the cancel's own ClOrdID: the normal path
    assert request_confirmed(order, _report(ExecType.CANCELED, "V2"), "Y", "cancel") is None
    # 41 names another id
    assert request_confirmed(order, _report(ExecType.CANCELED, "V1", "V0"), "X", "new") is None
    # another order at the venue (OrderID differs)
    assert request_confirmed(order, _report(ExecType.CANCELED, "V1", order_id="SIM-8"),
                             "X", "new") is None
    # not a confirmation, or no request of that kind in flight: an unsolicited cancel
    assert request_confirmed(order, _report(ExecType.NEW, "V1"), "X", "new") is None
    assert request_confirmed(order, _report(ExecType.REPLACED, "V1"), "X", "new") is None


def test_without_an_orderid_on_either_side_the_clordid_alone_matches() -> None:
    order, _ = _acked_with(RequestCancel("Y"))
    report = _report(ExecType.CANCELED, "V1", order_id=None)
    found = request_confirmed(order, report, "X", "new")
    assert found is not None and found.cl_ord_id == "Y"
