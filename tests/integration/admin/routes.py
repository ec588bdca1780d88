"""Every route of the admin pages, with a sample URL, for the tests that sweep them all."""

from __future__ import annotations

from oms.admin.roles import Permission
from tests.integration.admin import seed

PAGES = {
    "dashboard.index": "/",
    "dashboard.panels": "/dashboard/panels",
    "orders.index": "/orders",
    "orders.rows": "/orders/rows",
    "orders.detail": f"/orders/{seed.FILLED}",
    "positions.index": "/positions",
    "exceptions.index": "/exceptions",
    "limits.index": "/limits",
    "limits.edit": "/limits/DEMO1",
    "controls.index": "/kill-switch",
    "sessions.index": "/sessions",
    "audit.index": "/audit",
    "users.index": "/users",
}
"""GET pages (all need a signed-in operator)."""

PUBLIC = {"auth.login": "/login", "health.healthz": "/healthz"}

ADMIN_ONLY_PAGES = {"limits.edit", "users.index"}

ACTIONS: dict[str, tuple[str, dict[str, str], Permission]] = {
    "orders.cancel": (f"/orders/{seed.RESTING}/cancel", {"reason": "fat finger"},
                      Permission.CANCEL_ORDERS),
    "orders.cancel_all": ("/accounts/cancel-all",
                          {"account": "DEMO1", "reason": "strategy misbehaving", "confirm": "yes"},
                          Permission.CANCEL_ORDERS),
    "controls.trip": ("/kill-switch/trip",
                      {"scope": "symbol", "key": "MSFT", "reason": "bad print", "confirm": "yes"},
                      Permission.KILL_SWITCH),
    "controls.clear": ("/kill-switch/clear",
                       {"scope": "account", "key": "DEMO2", "reason": "strategy fixed"},
                       Permission.KILL_SWITCH),
    "controls.reenable": ("/breakers/DEMO2/reenable", {"reason": "venue loop fixed"},
                          Permission.REENABLE_BREAKER),
    "sessions.operate": ("/sessions/venue/SIM/reset",
                         {"reason": "venue asked for a reset", "confirm": "yes"},
                         Permission.FIX_SESSIONS),
    "limits.save": ("/limits/CLIENT1", {"version": "0", "max_order_qty": "500",
                                        "reason": "new client, start small"},
                    Permission.EDIT_LIMITS),
    "exceptions.close_order": (f"/orders/{seed.IN_DOUBT}/close",
                               {"status": "canceled", "reason": "venue confirmed by phone"},
                               Permission.RESOLVE_REPORTS),
    "exceptions.resolve": ("/exceptions/unmatched/1/resolve",
                           {"resolution": "venue confirmed a test report"},
                           Permission.RESOLVE_REPORTS),
    "users.add": ("/users", {"username": "newbie", "role": "viewer",
                             "password": "a long enough password", "reason": "joined the desk"},
                  Permission.MANAGE_USERS),
    "users.change_role": ("/users/pat/role", {"role": "trader", "reason": "promoted"},
                          Permission.MANAGE_USERS),
    "users.change_disabled": ("/users/sam/disabled", {"disabled": "1", "reason": "left"},
                              Permission.MANAGE_USERS),
}
"""State-changing routes: URL, a valid form, and the permission they need."""
