"""Machine codes of risk rejections: stable strings, safe to store and to match on."""

from __future__ import annotations

from enum import StrEnum


class RiskCode(StrEnum):
    KILL_SWITCH = "kill_switch"
    ACCOUNT_HALTED = "account_halted"
    RESTRICTED_SYMBOL = "restricted_symbol"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_PRICE = "invalid_price"
    TICK_SIZE = "tick_size"
    LOT_SIZE = "lot_size"
    MAX_ORDER_QTY = "max_order_qty"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    REFERENCE_PRICE_MISSING = "reference_price_missing"
    REFERENCE_PRICE_STALE = "reference_price_stale"
    PRICE_COLLAR = "price_collar"
    MAX_OPEN_ORDERS = "max_open_orders"
    MAX_POSITION = "max_position"
    MAX_GROSS_EXPOSURE = "max_gross_exposure"
    ACCOUNT_ORDER_RATE = "account_order_rate"
    ACCOUNT_MESSAGE_RATE = "account_message_rate"
    SESSION_ORDER_RATE = "session_order_rate"
    SESSION_MESSAGE_RATE = "session_message_rate"
    DUPLICATE_ORDER = "duplicate_order"
