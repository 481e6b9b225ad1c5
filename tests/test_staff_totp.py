"""The staff console's TOTP second factor and own password change, over HTTP on the real app (SQLite and
PostgreSQL) with a pinned clock: codes are computed with pyotp at the clock's time."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pyotp
import pytest
from sqlalchemy import select

from storage.models_api import AuditLogRow
from storage.models_staff import StaffAccountRow, StaffSessionRow
from storage.totp import PyotpSecondFactor
from tests.staff_console import PASSWORD, Console, StaffClient, console_app, csrf_of

KEY_RE = re.compile(r'id="totp-key">([A-Z2-7 ]+)<')
TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')
NEW_PASSWORD = "a much longer new passphrase"


async def account_row(console: Console, email: str) -> StaffAccountRow:
    async with console.sessions() as session:
        row = await session.scalar(select(StaffAccountRow).where(StaffAccountRow.email == email))
        assert row is not None
        return row


async def audit(console: Console) -> list[tuple[str, str, str | None]]:
    async with console.sessions() as session:
        rows = await session.scalars(select(AuditLogRow).order_by(AuditLogRow.id))
        return [(r.actor, r.action, r.target) for r in rows]


def code_at(console: Console, secret: str) -> str:
    return pyotp.TOTP(secret).at(console.clock.now())


async def enrol(console: Console, client: StaffClient) -> str:
    """Enrol a second factor from the account page; returns the secret (read as a person would)."""
    page = await client.get("/staff/account?enrol=1")
    assert page.status_code == 200
    key = KEY_RE.search(page.text)
    token = TOKEN_RE.search(page.text)
    assert key and token
    secret = key.group(1).replace(" ", "")
    done = await client.post(
        "/staff/account/totp", data={"token": token.group(1), "code": code_at(console, secret)}
    )
    assert done.status_code == 303 and done.headers["location"] == "/staff/account"
    return secret


async def password_step(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = await http.get("/staff/login")
    return await http.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form.text), "next": "/staff"},
    )


async def code_step(http: httpx.AsyncClient, code: str) -> httpx.Response:
    form = await http.get("/staff/login?step=code&next=/staff")
    assert 'name="code"' in form.text
    return await http.post(
        "/staff/login", data={"code": code, "csrf_token": csrf_of(form.text), "next": "/staff"}
    )


async def test_enrolment_then_sign_in_asks_for_the_code(staff_console: Console) -> None:
    client = await staff_console.client("viewer")
    page = await client.get("/staff/account")
    assert page.status_code == 200 and "Tài khoản của tôi" in page.text and 'id="totp-state"' in page.text
    enrol_page = await client.get("/staff/account?enrol=1")
    assert "<svg" in enrol_page.text and 'role="img"' in enrol_page.text  # the QR code, inline SVG
    key = KEY_RE.search(enrol_page.text)
    token = TOKEN_RE.search(enrol_page.text)
    assert key and token
    secret = key.group(1).replace(" ", "")
    wrong = str((int(code_at(staff_console, secret)) + 1) % 1_000_000).zfill(6)
    refused = await client.post("/staff/account/totp", data={"token": token.group(1), "code": wrong})
    assert refused.status_code == 422 and "Mã xác nhận không khớp" in refused.text
    assert key.group(1) in refused.text  # the same secret offered again (the phone has it already)
    assert (await account_row(staff_console, client.email)).totp_secret is None  # nothing stored yet
    done = await client.post(
        "/staff/account/totp", data={"token": token.group(1), "code": code_at(staff_console, secret)}
    )
    assert done.status_code == 303
    row = await account_row(staff_console, client.email)
    assert row.totp_secret is not None and secret not in row.totp_secret  # sealed, not the plain secret
    assert ("staff:" + client.email, "staff.totp_enabled", client.email) in await audit(staff_console)

    http = staff_console.anonymous()
    first = await password_step(http, client.email)
    assert first.status_code == 303 and first.headers["location"].startswith("/staff/login?step=code")
    assert "gopy_staff" not in http.cookies  # no session yet: the pending token is not one
    pending = http.cookies.get("gopy_staff_pending")
    assert pending
    thief = staff_console.anonymous()
    thief.cookies.set("gopy_staff", pending, path="/staff")
    assert (await thief.get("/staff")).status_code == 303  # a pending token opens nothing
    # the enrolment's code (same time-step) cannot be used again
    reused = await code_step(http, code_at(staff_console, secret))
    assert reused.status_code == 401 and "đã được sử dụng" in reused.text
    staff_console.clock.advance(seconds=30)
    signed = await code_step(http, code_at(staff_console, secret))
    assert signed.status_code == 303 and signed.headers["location"] == "/staff"
    assert (await http.get("/staff")).status_code == 200
    assert "gopy_staff_pending" not in http.cookies
    actions = [a for actor, a, _ in await audit(staff_console) if actor == "staff:" + client.email]
    assert actions[-3:] == ["staff.sign_in_password_ok", "staff.totp_replayed", "staff.sign_in"]


async def test_an_account_without_totp_signs_in_with_the_password_alone(staff_console: Console) -> None:
    email = await staff_console.create_account("analyst")
    http = staff_console.anonymous()
    response = await password_step(http, email)
    assert response.status_code == 303 and response.headers["location"] == "/staff"
    assert (await http.get("/staff")).status_code == 200


async def test_wrong_codes_count_toward_the_lock_out(staff_console: Console) -> None:
    client = await staff_console.client("admin")
    secret = await enrol(staff_console, client)
    staff_console.clock.advance(seconds=30)
    http = staff_console.anonymous()
    assert (await password_step(http, client.email, "wrong password!")).status_code == 401
    assert (await password_step(http, client.email)).status_code == 303  # the right password resets nothing
    right = code_at(staff_console, secret)
    wrong = "000000" if right != "000000" else "111111"
    assert [(await code_step(http, wrong)).status_code for _ in range(3)] == [401] * 3
    locked = await code_step(http, wrong)  # the fifth failure (one password, four codes) locks
    assert locked.status_code == 423 and "tạm khóa" in locked.text
    assert (await password_step(http, client.email)).status_code == 423  # even the right password
    async with staff_console.sessions() as session:
        pending = await session.scalars(select(StaffSessionRow).where(StaffSessionRow.pending.is_(True)))
        assert list(pending) == []  # the lock ended the pending sign-in
    staff_console.clock.advance(minutes=16)
    assert (await password_step(http, client.email)).status_code == 303
    assert (await code_step(http, code_at(staff_console, secret))).status_code == 303
    actions = [a for actor, a, _ in await audit(staff_console) if actor == "staff:" + client.email]
    assert actions.count("staff.totp_failed") == 4 and "staff.locked" in actions


async def test_a_code_used_once_is_refused_in_another_browser(staff_console: Console) -> None:
    client = await staff_console.client("viewer")
    secret = await enrol(staff_console, client)
    staff_console.clock.advance(minutes=2)
    code = code_at(staff_console, secret)
    first, second = staff_console.anonymous(), staff_console.anonymous()
    assert (await password_step(first, client.email)).status_code == 303
    assert (await password_step(second, client.email)).status_code == 303
    assert (await code_step(first, code)).status_code == 303
    staff_console.clock.advance(seconds=10)  # still within the code's window
    replay = await code_step(second, code)
    assert replay.status_code == 401
    assert "gopy_staff" not in second.cookies
    assert "staff.totp_replayed" in [a for _, a, _ in await audit(staff_console)]


async def test_the_code_step_expires(staff_console: Console) -> None:
    client = await staff_console.client("viewer")
    secret = await enrol(staff_console, client)
    http = staff_console.anonymous()
    staff_console.clock.advance(seconds=30)
    assert (await password_step(http, client.email)).status_code == 303
    staff_console.clock.advance(minutes=6)
    late = await code_step(http, code_at(staff_console, secret))
    assert late.status_code == 401 and "hết hạn" in late.text
    assert 'name="password"' in late.text  # back to the password form


async def test_admin_resets_another_accounts_totp(staff_console: Console) -> None:
    viewer = await staff_console.client("viewer")
    await enrol(staff_console, viewer)
    admin = await staff_console.client("admin")
    account_id = (await account_row(staff_console, viewer.email)).id
    listing = await admin.get("/staff/admin")
    assert f"/staff/admin/accounts/{account_id}/totp-reset" in listing.text
    done = await admin.post(f"/staff/admin/accounts/{account_id}/totp-reset")
    assert done.status_code == 303
    row = await account_row(staff_console, viewer.email)
    assert row.totp_secret is None and row.totp_last_step is None
    assert (await viewer.get("/staff")).status_code == 303  # its sessions ended
    assert ("staff:" + admin.email, "staff.totp_reset", viewer.email) in await audit(staff_console)
    http = staff_console.anonymous()
    again = await password_step(http, viewer.email)
    assert again.headers["location"] == "/staff"  # password alone again
    forbidden = await (await staff_console.client("analyst")).post(
        f"/staff/admin/accounts/{account_id}/totp-reset"
    )
    assert forbidden.status_code == 403


async def test_password_change_ends_the_other_sessions(staff_console: Console) -> None:
    email = await staff_console.create_account("analyst")
    here = await staff_console.sign_in(email)
    elsewhere = await staff_console.sign_in(email)
    wrong_old = await here.post(
        "/staff/account/password",
        data={
            "old_password": "not my password",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert wrong_old.status_code == 422 and "Mật khẩu hiện tại không đúng" in wrong_old.text
    mismatch = await here.post(
        "/staff/account/password",
        data={"old_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "x"},
    )
    assert mismatch.status_code == 422 and "không khớp" in mismatch.text
    short = await here.post(
        "/staff/account/password",
        data={"old_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
    )
    assert short.status_code == 422
    done = await here.post(
        "/staff/account/password",
        data={"old_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert done.status_code == 303
    assert (await here.get("/staff")).status_code == 200  # this session goes on
    assert (await elsewhere.get("/staff")).status_code == 303  # the other one ended
    assert (await password_step(staff_console.anonymous(), email)).status_code == 401  # old password
    assert (await password_step(staff_console.anonymous(), email, NEW_PASSWORD)).status_code == 303
    actions = [a for actor, a, _ in await audit(staff_console) if actor == "staff:" + email]
    assert "staff.password_change_failed" in actions and "staff.password_change" in actions


async def test_admins_must_enrol_when_required(database_url: str, loaded: object, clock: object) -> None:
    async with console_app(database_url, clock, staff_totp_required_for_admins=True) as console:  # type: ignore[arg-type]
        email = await console.create_account("admin")
        http = console.anonymous()
        signed = await password_step(http, email)
        assert signed.status_code == 303 and signed.headers["location"] == "/staff/account?enrol=1"
        for url in ("/staff", "/staff/admin", "/staff/admin/audit"):
            blocked = await http.get(url)
            assert blocked.status_code == 303 and blocked.headers["location"] == "/staff/account?enrol=1", url
        page = await http.get("/staff/account?enrol=1")
        assert page.status_code == 200 and 'id="totp-required"' in page.text
        client = StaffClient(http=http, email=email, role="admin", csrf=csrf_of(page.text))
        blocked_post = await client.post(
            "/staff/admin/accounts", data={"email": "x@example.org", "role": "viewer", "password": PASSWORD}
        )
        assert blocked_post.status_code == 303 and "enrol" in blocked_post.headers["location"]
        await enrol(console, client)
        assert (await http.get("/staff/admin")).status_code == 200
        viewer = await console.sign_in(await console.create_account("viewer"))  # other roles unaffected
        assert (await viewer.get("/staff")).status_code == 200


# stable ids: every pytest-xdist worker collects the same test names (each draws its own secrets)
@pytest.mark.parametrize("secret", [pytest.param(pyotp.random_base32(), id=f"random-{i}") for i in range(3)])
def test_secrets_are_sealed_with_the_hash_key(secret: str) -> None:
    sealer = PyotpSecondFactor("one hash key")
    sealed = sealer.seal_secret(secret)
    assert len(sealed) <= 64 and secret not in sealed
    assert sealer.unseal_secret(sealed) == secret
    assert PyotpSecondFactor("another hash key").unseal_secret(sealed) is None
    tampered = ("A" if sealed[20] != "A" else "B").join((sealed[:20], sealed[21:]))
    assert sealer.unseal_secret(tampered) is None
    assert sealer.unseal(sealed, purpose="totp-enrolment") is None  # bound to its purpose
    uri = urlsplit(sealer.provisioning_uri(secret, name="a@example.org", issuer="Gopy"))
    assert uri.scheme == "otpauth" and uri.netloc == "totp" and f"secret={secret}" in uri.query
