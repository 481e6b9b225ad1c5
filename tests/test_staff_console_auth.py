"""The staff console's foundation over HTTP (real app, SQLite and PostgreSQL): the access matrix of
every /staff route, CSRF refusals, the lock-out, session rotation and expiry, and the audit rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from api.staff.security import staff_routes
from core.staff.accounts import ROLES, role_allows
from storage.models_api import AuditLogRow
from storage.models_staff import StaffSessionRow
from tests.staff_console import PASSWORD, Console, csrf_of

#: the only console routes anyone may reach without a session
PUBLIC = {("GET", "/staff/login"), ("POST", "/staff/login"), ("GET", "/staff/static/{name}")}
SAMPLE_PARAMS = {"name": "staff.css"}


def console_routes(console: Console) -> list[tuple[str, str, str | None]]:
    """(method, path, min role) of every route under /staff, read from the app itself."""
    return staff_routes(console.app)


def concrete(path: str) -> str:
    """A path template with every {parameter} filled (ids: 1)."""
    import re

    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PARAMS.get(m.group(1), "1"), path)


async def audit_actions(console: Console) -> list[tuple[str, str]]:
    async with console.sessions() as session:
        rows = await session.scalars(select(AuditLogRow).order_by(AuditLogRow.id))
        return [(r.actor, r.action) for r in rows]


async def test_every_console_route_declares_a_role_or_is_public(staff_console: Console) -> None:
    routes = console_routes(staff_console)
    assert {(m, p) for m, p, role in routes if role is None} == PUBLIC
    assert all(role in ROLES for _, _, role in routes if role is not None)
    assert ("GET", "/staff", "viewer") in routes
    assert ("GET", "/staff/admin", "admin") in routes


async def test_access_matrix_of_every_route_and_role(staff_console: Console) -> None:
    """No session: 303 to the sign-in page; a role below the route's: 403 page; else let through.

    Each (route, role) gets a fresh signed-in client, so a route that changes things (sign-out, disable)
    cannot spoil the next check; POSTs carry the session's CSRF token."""
    anonymous = staff_console.anonymous()
    checked = 0
    for method, path, min_role in console_routes(staff_console):
        if min_role is None:
            continue
        url = concrete(path)
        response = await anonymous.request(method, url)
        assert response.status_code == 303, (method, url)
        assert response.headers["location"].startswith("/staff/login?next=")
        for role in ROLES:
            client = await staff_console.client(role)
            data = {"csrf_token": client.csrf} if method == "POST" else None
            response = await client.http.request(method, url, data=data)
            if not role_allows(role, min_role):
                assert response.status_code == 403, (method, url, role)
                assert "Content-Security-Policy" in response.headers
            else:
                assert response.status_code not in (401, 403), (method, url, role, response.status_code)
                assert not response.headers.get("location", "").startswith("/staff/login?"), (
                    method,
                    url,
                    role,
                )
            checked += 1
    assert checked >= 3 * 9  # the foundation has nine guarded routes; every page added joins them


async def test_get_without_session_keeps_where_it_was_going(staff_console: Console) -> None:
    response = await staff_console.anonymous().get("/staff/admin/audit?actor=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=/staff/admin/audit%3Factor%3Dx"


async def test_pages_carry_a_csp_without_inline_code(staff_console: Console) -> None:
    admin = await staff_console.client("admin")
    for url in ("/staff", "/staff/admin", "/staff/admin/audit", "/staff/login"):
        response = await admin.get(url)
        assert response.status_code == 200, url
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert "<script>" not in response.text and " style=" not in response.text


async def test_session_cookie_is_httponly_samesite_and_rotated_at_sign_in(staff_console: Console) -> None:
    email = await staff_console.create_account("viewer")
    first = await staff_console.sign_in(email)
    old = first.session_cookie
    assert old
    http = first.http
    form = await http.get("/staff/login")
    response = await http.post(
        "/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/staff" in cookie
    new = http.cookies.get("gopy_staff")
    assert new and new != old
    assert (await http.get("/staff")).status_code == 200
    stale = staff_console.anonymous()
    stale.cookies.set("gopy_staff", old, path="/staff")
    assert (await stale.get("/staff")).status_code == 303  # the old token no longer works


async def test_secure_cookie_in_production(database_url: str, loaded: object, clock: object) -> None:
    from tests.staff_console import console_app

    async with console_app(database_url, clock, env="production") as console:  # type: ignore[arg-type]
        email = await console.create_account("viewer")
        http = console.anonymous("https://testserver")
        form = await http.get("/staff/login")
        response = await http.post(
            "/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
        )
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]


async def test_post_without_or_with_a_wrong_csrf_token_is_refused(staff_console: Console) -> None:
    admin = await staff_console.client("admin")
    for data in ({}, {"csrf_token": "forged"}):
        response = await admin.post(
            "/staff/admin/accounts",
            data={**data, "email": "new@example.org", "role": "viewer", "password": PASSWORD},
            csrf=False,
        )
        assert response.status_code == 403
    header = await admin.http.post(
        "/staff/admin/accounts",
        data={"email": "new@example.org", "role": "viewer", "password": PASSWORD},
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert header.status_code == 303
    assert ("staff:" + admin.email, "staff.account_create") in await audit_actions(staff_console)
    # another session's token is no good either
    other = await staff_console.client("admin")
    response = await admin.post(
        "/staff/admin/accounts",
        data={"email": "new2@example.org", "role": "viewer", "password": PASSWORD, "csrf_token": other.csrf},
        csrf=False,
    )
    assert response.status_code == 403


async def test_sign_in_form_needs_its_own_csrf_cookie(staff_console: Console) -> None:
    email = await staff_console.create_account("viewer")
    http = staff_console.anonymous()
    response = await http.post("/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 403
    assert "gopy_staff" not in http.cookies


async def test_lock_out_after_repeated_failures(staff_console: Console) -> None:
    email = await staff_console.create_account("admin")
    http = staff_console.anonymous()

    async def attempt(password: str) -> int:
        form = await http.get("/staff/login")
        response = await http.post(
            "/staff/login", data={"email": email, "password": password, "csrf_token": csrf_of(form.text)}
        )
        return response.status_code

    assert [await attempt("wrong password!") for _ in range(4)] == [401] * 4
    assert await attempt("wrong password!") == 423  # the fifth failure locks
    assert await attempt(PASSWORD) == 423  # even the right password, while locked
    locked = await http.get("/staff/login")
    assert locked.status_code == 200
    staff_console.clock.advance(minutes=16)
    assert await attempt(PASSWORD) == 303
    actions = [a for actor, a in await audit_actions(staff_console) if actor == f"staff:{email}"]
    assert actions.count("staff.sign_in_failed") == 5
    assert "staff.locked" in actions and "staff.sign_in_locked" in actions and actions[-1] == "staff.sign_in"


async def test_lock_out_message_is_translated(staff_console: Console) -> None:
    email = await staff_console.create_account("viewer")
    http = staff_console.anonymous()
    text = ""
    for _ in range(5):
        form = await http.get("/staff/login?lang=en")
        response = await http.post(
            "/staff/login?lang=en",
            data={"email": email, "password": "nope nope nope", "csrf_token": csrf_of(form.text)},
        )
        text = response.text
    assert "locked" in text and "15 minutes" in text
    form = await http.get("/staff/login?lang=vi")
    response = await http.post(
        "/staff/login?lang=vi", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    )
    assert "Tài khoản tạm khóa" in response.text


async def test_idle_and_absolute_expiry(staff_console: Console) -> None:
    viewer = await staff_console.client("viewer")
    staff_console.clock.advance(minutes=59)
    assert (await viewer.get("/staff")).status_code == 200
    staff_console.clock.advance(minutes=61)
    assert (await viewer.get("/staff")).status_code == 303  # idle for more than an hour
    again = await staff_console.sign_in(viewer.email)
    statuses = []
    for _ in range(14):  # 14 x 55 minutes: active all along, past twelve hours
        staff_console.clock.advance(minutes=55)
        statuses.append((await again.get("/staff")).status_code)
    assert statuses == [200] * 13 + [303]  # twelve hours after sign-in, however busy
    async with staff_console.sessions() as session:
        assert list(await session.scalars(select(StaffSessionRow))) == []


async def test_sign_out_ends_the_session(staff_console: Console) -> None:
    viewer = await staff_console.client("viewer")
    token = viewer.session_cookie
    response = await viewer.post("/staff/logout")
    assert response.status_code == 303 and response.headers["location"] == "/staff/login"
    stale = staff_console.anonymous()
    stale.cookies.set("gopy_staff", token or "", path="/staff")
    assert (await stale.get("/staff")).status_code == 303
    assert ("staff:" + viewer.email, "staff.sign_out") in await audit_actions(staff_console)


async def test_admin_manages_accounts_and_keys_with_audit_rows(staff_console: Console) -> None:
    admin = await staff_console.client("admin")
    response = await admin.post(
        "/staff/admin/accounts",
        data={"email": "Analyst@Example.org", "role": "analyst", "password": PASSWORD},
    )
    assert response.status_code == 303
    page = await admin.get("/staff/admin")
    assert "analyst@example.org" in page.text and "Đã tạo tài khoản." in page.text
    analyst = await staff_console.sign_in("analyst@example.org")
    assert (await analyst.get("/staff/admin")).status_code == 403
    duplicate = await admin.post(
        "/staff/admin/accounts", data={"email": "analyst@example.org", "role": "viewer", "password": PASSWORD}
    )
    assert duplicate.status_code == 422 and "Đã có tài khoản" in duplicate.text
    short = await admin.post(
        "/staff/admin/accounts", data={"email": "x@example.org", "role": "viewer", "password": "short"}
    )
    assert short.status_code == 422
    from core.staff.accounts import list_staff_accounts
    from storage.uow import SqlUnitOfWork

    async with SqlUnitOfWork(staff_console.sessions) as uow:
        target = next(a for a in await list_staff_accounts(uow=uow) if a.email == "analyst@example.org")
    assert (
        await admin.post(f"/staff/admin/accounts/{target.id}/role", data={"role": "admin"})
    ).status_code == 303
    assert (await analyst.get("/staff/admin")).status_code == 303  # a role change ends the sessions
    analyst = await staff_console.sign_in("analyst@example.org")
    assert (await analyst.get("/staff/admin")).status_code == 200
    assert (
        await admin.post(f"/staff/admin/accounts/{target.id}/disable", data={"disabled": "true"})
    ).status_code == 303
    assert (await analyst.get("/staff")).status_code == 303
    with pytest.raises(AssertionError):
        await staff_console.sign_in("analyst@example.org")
    key = await admin.post("/staff/admin/keys", data={"name": "reports bot", "scopes": ["reports:read"]})
    assert key.status_code == 200
    assert 'id="new-key"' in key.text
    assert "reports bot" in (await admin.get("/staff/admin")).text
    assert 'id="new-key"' not in (await admin.get("/staff/admin")).text  # shown once
    actions = await audit_actions(staff_console)
    me = "staff:" + admin.email
    for action in ("staff.account_create", "staff.account_role", "staff.account_disable", "apikey.create"):
        assert (me, action) in actions, action
    assert ("staff:analyst@example.org", "staff.sign_in") in actions
    audit = await admin.get("/staff/admin/audit", params={"action": "apikey", "actor": admin.email})
    assert "apikey.create" in audit.text and "staff.account_create" not in audit.text
    today = staff_console.clock.now().strftime("%Y-%m-%d")
    assert (
        "apikey.create"
        in (await admin.get("/staff/admin/audit", params={"since": today, "until": today})).text
    )
    tomorrow = (staff_console.clock.now() + timedelta(days=2)).strftime("%Y-%m-%d")
    assert "apikey.create" not in (await admin.get("/staff/admin/audit", params={"since": tomorrow})).text


async def test_overview_shows_counts_and_switches_language(staff_console: Console) -> None:
    viewer = await staff_console.client("viewer")
    page = await viewer.get("/staff")
    assert page.status_code == 200
    assert "Các đợt lấy ý kiến đang mở" in page.text and "Tin nhắn chờ gửi" in page.text
    assert 'href="/staff/admin"' not in page.text  # a viewer is not shown the administration
    english = await viewer.get("/staff?lang=en")
    assert "Open consultations" in english.text
    assert "Open consultations" in (await viewer.get("/staff")).text  # the choice is kept in a cookie


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/chat", "/staff\\@evil"])
async def test_sign_in_never_redirects_off_the_console(staff_console: Console, target: str) -> None:
    email = await staff_console.create_account("viewer")
    http = staff_console.anonymous()
    form = await http.get("/staff/login", params={"next": target})
    assert target not in form.text or target == "/chat"
    response = await http.post(
        "/staff/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": target},
    )
    assert response.status_code == 303 and response.headers["location"] == "/staff"


async def test_sign_in_follows_next_within_the_console(staff_console: Console) -> None:
    email = await staff_console.create_account("admin")
    http = staff_console.anonymous()
    form = await http.get("/staff/login", params={"next": "/staff/admin/audit?actor=x"})
    response = await http.post(
        "/staff/login",
        data={
            "email": email,
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "/staff/admin/audit?actor=x",
        },
    )
    assert response.headers["location"] == "/staff/admin/audit?actor=x"


async def test_an_unknown_email_fails_like_a_wrong_password(staff_console: Console) -> None:
    http = staff_console.anonymous()
    form = await http.get("/staff/login")
    response = await http.post(
        "/staff/login",
        data={"email": "nobody@example.org", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
    )
    assert response.status_code == 401 and "Thư điện tử hoặc mật khẩu không đúng." in response.text
    assert ("staff:nobody@example.org", "staff.sign_in_failed") in await audit_actions(staff_console)
