"""The role matrix, enforced by the server: a viewer reads, a trader also cancels orders, an
admin also changes limits, kill switches, breakers, reports and users. A request crafted by hand
(right URL, valid CSRF token, valid form) is refused all the same and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oms.admin.roles import GRANTS, Permission
from oms.domain.values import OperatorRole
from tests.integration.admin.conftest import USERS, SignedIn, count, post_form
from tests.integration.admin.routes import ACTIONS, ADMIN_ONLY_PAGES, PAGES

pytestmark = pytest.mark.integration

ROLE_OF = {role: name for name, role in USERS.items()}
CHANGES = ("SELECT count(*) FROM operator_audit WHERE action NOT IN ('login', 'login_failed')",
           "SELECT count(*) FROM operator_commands", "SELECT count(*) FROM operators",
           "SELECT count(*) FROM risk_limits",
           "SELECT count(*) FROM unmatched_reports WHERE resolved_at IS NOT NULL")


def _state(engine: Engine) -> tuple[int, ...]:
    return tuple(count(engine, sql) for sql in CHANGES)


def test_the_matrix_is_what_the_issue_asks_for() -> None:
    assert GRANTS[OperatorRole.VIEWER] == {Permission.VIEW}
    assert GRANTS[OperatorRole.TRADER] == {Permission.VIEW, Permission.CANCEL_ORDERS}
    assert GRANTS[OperatorRole.ADMIN] == set(Permission)


REFUSED = [(role, endpoint) for role in OperatorRole for endpoint in sorted(ACTIONS)
           if ACTIONS[endpoint][2] not in GRANTS[role]]


@pytest.mark.parametrize(("role", "endpoint"), REFUSED)
def test_a_role_without_the_permission_is_refused_even_with_a_crafted_request(
    signed_in: SignedIn, admin_engine: Engine, endpoint: str, role: OperatorRole
) -> None:
    url, form, _ = ACTIONS[endpoint]
    client = signed_in(ROLE_OF[role])
    before = _state(admin_engine)
    response = post_form(client, url, form)
    assert response.status_code == 403
    assert "does not allow" in response.get_data(as_text=True)
    assert _state(admin_engine) == before


@pytest.mark.parametrize("endpoint", ["orders.cancel", "orders.cancel_all"])
def test_a_trader_may_cancel_orders(
    signed_in: SignedIn, admin_engine: Engine, endpoint: str
) -> None:
    url, form, _ = ACTIONS[endpoint]
    commands = count(admin_engine, "SELECT count(*) FROM operator_commands")
    response = post_form(signed_in("tom"), url, form)
    assert response.status_code == 302
    assert count(admin_engine, "SELECT count(*) FROM operator_commands") == commands + 1


@pytest.mark.parametrize("endpoint", sorted(ACTIONS))
def test_an_admin_may_do_everything(
    signed_in: SignedIn, admin_engine: Engine, endpoint: str
) -> None:
    url, form, _ = ACTIONS[endpoint]
    client = signed_in("alice")
    before = count(admin_engine, "SELECT count(*) FROM operator_audit WHERE username = 'alice' "
                                 "AND action NOT IN ('login', 'logout')")
    response = post_form(client, url, form)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="flash error"' not in page, page
    after = count(admin_engine, "SELECT count(*) FROM operator_audit WHERE username = 'alice' "
                                "AND action NOT IN ('login', 'logout')")
    assert after > before


@pytest.mark.parametrize("endpoint", sorted(PAGES))
@pytest.mark.parametrize("role", list(OperatorRole))
def test_every_role_reads_every_page_but_the_admin_ones(
    signed_in: SignedIn, endpoint: str, role: OperatorRole
) -> None:
    response = signed_in(ROLE_OF[role]).get(PAGES[endpoint])
    admin_only = endpoint in ADMIN_ONLY_PAGES
    expected = 403 if admin_only and role is not OperatorRole.ADMIN else 200
    assert response.status_code == expected


def test_a_viewer_sees_no_buttons_that_change_anything(signed_in: SignedIn) -> None:
    client = signed_in("vera")
    for url in PAGES.values():
        html = client.get(url).get_data(as_text=True)
        forms = html.count('method="post"')
        full_page = "<html" in html
        assert forms == (1 if full_page else 0), f"{url}: only the sign-out form, found {forms}"


def test_a_trader_sees_cancel_buttons_but_no_admin_controls(signed_in: SignedIn) -> None:
    client = signed_in("tom")
    detail = client.get(PAGES["orders.detail"].replace("O9000002", "O9000001"))
    assert "Cancel order" in detail.get_data(as_text=True)
    controls = client.get("/kill-switch").get_data(as_text=True)
    assert "Trip a kill switch" not in controls and "/kill-switch/clear" not in controls
    assert "/kill-switch/trip" not in controls and "/reenable" not in controls
    assert "/users" not in client.get("/").get_data(as_text=True)
