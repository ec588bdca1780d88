"""Session-level replies to FIX clients where quickfix 1.16 and the FIX spec differ, as plain
field dictionaries (the adapter sends or amends the quickfix messages).

- A session Reject for fields of a repeating group out of order (quickfix does not check it):
  RefSeqNum (45), RefTagID (371), RefMsgType (372), SessionRejectReason (373) 15 and Text (58).
  FIX 4.2 defines SessionRejectReason values 0 to 11 only: there 373 is left out and Text says
  the reason, as quickfix does for the other reasons added by FIX 4.3.
- A Reject of a SequenceReset-Reset whose NewSeqNo is below the expected MsgSeqNum names the
  field (RefTagID 36); quickfix leaves RefTagID out.
- The Logout that follows a Reject for a CompID problem or a SendingTime accuracy problem
  says why (the spec's test cases 2f, 2k and 2o: "send Logout message referencing ..."); quickfix
  sends it without Text.
"""

from __future__ import annotations

from collections.abc import Mapping

from fix_gateway.group_order import (
    REASON_GROUP_FIELDS_OUT_OF_ORDER,
    TEXT_GROUP_FIELDS_OUT_OF_ORDER,
    OutOfOrder,
)

REJECT, LOGOUT, SEQUENCE_RESET = "3", "5", "4"
NEW_SEQ_NO = 36
REASON_VALUE_INCORRECT, REASON_COMP_ID, REASON_SENDING_TIME = "5", "9", "10"


def group_order_reject(begin_string: str, received: Mapping[int, str],
                       problem: OutOfOrder) -> dict[int, str]:
    """The body of the session Reject for message ``received``."""
    body = {45: received.get(34, ""), 371: str(problem.tag), 372: received.get(35, "")}
    if begin_string != "FIX.4.2":  # 4.2 has reasons 0 to 11 only
        body[373] = str(REASON_GROUP_FIELDS_OUT_OF_ORDER)
    body[58] = TEXT_GROUP_FIELDS_OUT_OF_ORDER
    return body


def missing_ref_tag(reject: Mapping[int, str]) -> int | None:
    """The RefTagID an outgoing Reject should carry and does not, or None."""
    if (reject.get(372) == SEQUENCE_RESET and reject.get(373) == REASON_VALUE_INCORRECT
            and 371 not in reject):
        return NEW_SEQ_NO
    return None


def logout_reason(reject: Mapping[int, str]) -> str | None:
    """The Text of the Logout that follows this outgoing Reject, if one follows it."""
    if reject.get(373) in (REASON_COMP_ID, REASON_SENDING_TIME):
        return reject.get(58)
    return None
