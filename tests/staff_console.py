"""Helpers of the staff console tests: the real app over httpx (ASGI, lifespan run), accounts of each
role and signed-in clients carrying their CSRF token.

Use the ``staff_console`` fixture (tests/conftest.py: SQLite and PostgreSQL, bundled data loaded)::

    async def test_my_page(staff_console: Console) -> None:
        analyst = await staff_console.client("analyst")          # signed in, .csrf set
        page = await analyst.get("/staff/opinions")
        done = await analyst.post("/staff/opinions/1/hide", data={"reason": "spam"})  # csrf added
        anonymous = staff_console.anonymous()                     # no session
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from core.clock import FixedClock
from core.config import Settings
from core.staff.accounts import ROLES, create_staff_account
from storage.passwords import Argon2PasswordHasher
from storage.uow import SqlUnitOfWork

HASH_KEY = "test-hash-key-for-pseudonyms"
PASSWORD = "correct horse battery staple"
BASE_URL = "http://testserver"
#: cheap Argon2 parameters: the tests check the flow, not the cost
FAST_HASHER = Argon2PasswordHasher(time_cost=1, memory_cost=1024)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = CSRF_RE.search(html)
    if found is None:
        raise AssertionError("no csrf_token field on the page")
    return found.group(1)


@dataclass
class StaffClient:
    """An httpx client holding a console session; ``post`` adds the session's CSRF token to forms."""

    http: httpx.AsyncClient
    email: str
    role: str
    csrf: str = ""

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, **kwargs)

    async def post(
        self, url: str, *, data: dict[str, Any] | None = None, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf and "csrf_token" not in form:
            form["csrf_token"] = self.csrf
        return await self.http.post(url, data=form, **kwargs)

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get("gopy_staff")


@dataclass
class Console:
    """The app under test, its clock and database, and a way to make signed-in clients."""

    app: FastAPI
    clock: FixedClock
    sessions: async_sessionmaker[AsyncSession]
    _clients: list[httpx.AsyncClient] = field(default_factory=list)
    _count: int = 0

    def anonymous(self, base_url: str = BASE_URL) -> httpx.AsyncClient:
        """A client with no session (does not follow redirects); https base for Secure cookies."""
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=base_url)
        self._clients.append(http)
        return http

    async def create_account(self, role: str, *, email: str | None = None, password: str = PASSWORD) -> str:
        """A new account of ``role``; returns its email."""
        self._count += 1
        email = email or f"{role}{self._count}@example.org"
        async with SqlUnitOfWork(self.sessions) as uow:
            await create_staff_account(
                uow=uow,
                hasher=FAST_HASHER,
                actor="test",
                email=email,
                role=role,
                password=password,
                now=self.clock.now(),
            )
        return email

    async def sign_in(self, email: str, password: str = PASSWORD, *, role: str = "") -> StaffClient:
        """Sign in through the form; the client then holds the session cookie and its CSRF token."""
        http = self.anonymous()
        form = await http.get("/staff/login")
        response = await http.post(
            "/staff/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(form.text), "next": "/staff"},
        )
        if response.status_code != 303:
            raise AssertionError(f"sign-in failed: {response.status_code}")
        client = StaffClient(http=http, email=email, role=role)
        page = await http.get("/staff")
        client.csrf = csrf_of(page.text)
        return client

    async def client(self, role: str) -> StaffClient:
        """A new account of ``role`` (viewer, analyst or admin), signed in."""
        assert role in ROLES
        return await self.sign_in(await self.create_account(role), role=role)

    async def close(self) -> None:
        for http in self._clients:
            await http.aclose()


def console_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "hash_key": HASH_KEY,
        "telegram_bot_token": None,
        "env": "development",
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def console_app(database_url: str, clock: FixedClock, **overrides: Any) -> AsyncIterator[Console]:
    """The real app (create_app) on ``database_url``, its lifespan running, with a cheap hasher."""
    app = create_app(console_settings(database_url, **overrides), clock=clock)
    app.state.staff_hasher = FAST_HASHER
    async with app.router.lifespan_context(app):
        console = Console(app=app, clock=clock, sessions=app.state.services.sessions)
        try:
            yield console
        finally:
            await console.close()


def first_admin_env(folder: Path) -> dict[str, str]:
    """The settings of a configured first admin, for a production `gopy run`/`gopy api` child process
    (which refuses to start with no staff account and none configured)."""
    secret = folder / "staff-admin-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    return {"GOPY_STAFF_ADMIN_EMAIL": "admin@example.org", "GOPY_STAFF_ADMIN_PASSWORD_FILE": str(secret)}


@asynccontextmanager
async def served_console(
    database_url: str, clock: FixedClock, **overrides: Any
) -> AsyncIterator[tuple[str, Console]]:
    """The console served over real HTTP on loopback (for the browser): its base URL and the Console."""
    from tests.webchat_client import serve

    app = create_app(console_settings(database_url, **overrides), clock=clock)
    app.state.staff_hasher = FAST_HASHER
    async with serve(app) as base:
        console = Console(app=app, clock=clock, sessions=app.state.services.sessions)
        try:
            yield base, console
        finally:
            await console.close()


async def browser_sign_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real form in a Playwright page; waits for the overview."""
    await page.goto(f"{base}/staff")
    await page.get_by_label("Thư điện tử").fill(email)
    await page.get_by_label("Mật khẩu").fill(password)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url(f"{base}/staff")
