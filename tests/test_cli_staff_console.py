"""``gopy staff create|list`` and the first admin at start (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from cli.staff import DEMO_ADMIN_EMAIL, ensure_first_admin
from core.config import get_settings
from storage.models_api import AuditLogRow
from storage.models_staff import StaffAccountRow
from storage.passwords import Argon2PasswordHasher
from tests.e2e_support import ROOT
from tests.staff_console import PASSWORD
from tests.webchat_client import free_port


@pytest.fixture
def cli_env(database_url, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GOPY_DATABASE_URL", database_url)
    monkeypatch.setenv("GOPY_HASH_KEY", "cli-test-key")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


async def _invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=stdin)


async def _accounts(sessions) -> list[StaffAccountRow]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return list(await session.scalars(select(StaffAccountRow).order_by(StaffAccountRow.id)))


async def test_staff_create_and_list(cli_env, sessions) -> None:  # type: ignore[no-untyped-def]
    made = await _invoke(
        "staff",
        "create",
        "--email",
        "Lan@Example.org",
        "--role",
        "analyst",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert made.exit_code == 0, made.output
    assert "lan@example.org" in made.stdout
    [row] = await _accounts(sessions)
    assert row.email == "lan@example.org" and row.role == "analyst"
    assert PASSWORD not in row.password_hash and Argon2PasswordHasher().verify(row.password_hash, PASSWORD)
    prompted = await _invoke(
        "staff", "create", "--email", "an@example.org", stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert prompted.exit_code == 0, prompted.output
    listed = await _invoke("staff", "list")
    assert "lan@example.org\tanalyst\tactive" in listed.stdout and "an@example.org\tviewer" in listed.stdout
    assert "$argon2" not in listed.stdout
    again = await _invoke("staff", "create", "--email", "lan@example.org", "--password-stdin", stdin=PASSWORD)
    assert again.exit_code == 2 and "Đã có tài khoản" in again.output
    short = await _invoke("staff", "create", "--email", "x@example.org", "--password-stdin", stdin="short")
    assert short.exit_code == 2
    wrong = await _invoke(
        "staff", "create", "--email", "y@example.org", "--role", "root", "--password-stdin", stdin=PASSWORD
    )
    assert wrong.exit_code == 2
    async with sessions() as session:
        actions = [r.action for r in await session.scalars(select(AuditLogRow))]
    assert actions.count("staff.account_create") == 2


async def test_staff_reset_totp(cli_env, sessions) -> None:  # type: ignore[no-untyped-def]
    made = await _invoke(
        "staff", "create", "--email", "lan@example.org", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )
    assert made.exit_code == 0, made.output
    async with sessions() as session:
        row = await session.scalar(select(StaffAccountRow))
        row.totp_secret, row.totp_last_step = "sealed-secret", 7
        await session.commit()
    assert "\tactive totp" in (await _invoke("staff", "list")).stdout
    reset = await _invoke("staff", "reset-totp", "--email", "LAN@example.org")
    assert reset.exit_code == 0, reset.output
    [row] = await _accounts(sessions)
    assert row.totp_secret is None and row.totp_last_step is None
    async with sessions() as session:
        audited = [(r.actor, r.action, r.target) for r in await session.scalars(select(AuditLogRow))]
    assert any(
        a.startswith("cli:") and act == "staff.totp_reset" and t == "lan@example.org" for a, act, t in audited
    )
    missing = await _invoke("staff", "reset-totp", "--email", "nobody@example.org")
    assert missing.exit_code == 2


def test_production_refuses_to_start_without_a_staff_account(database_url: str, tmp_path: Path) -> None:
    """A real `gopy api` process: one bilingual line on stderr, exit status 2, nothing served."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
    env.pop("REDIS_URL", None)
    env.update(
        GOPY_DATABASE_URL=database_url,
        GOPY_HASH_KEY="a-long-random-production-secret-0123456789",
        GOPY_ENV="production",
        GOPY_HOME=str(tmp_path),
        GOPY_PORT=str(free_port()),
        PYTHONPATH=str(ROOT),
    )
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "api"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert (
        "GOPY_STAFF_ADMIN_EMAIL" in lines[0]
        and "Chưa có tài khoản cán bộ" in lines[0]
        and "No staff account" in lines[0]
    )


async def test_first_admin_from_the_settings(cli_env, sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    cli_env.setenv("GOPY_ENV", "production")
    cli_env.setenv("GOPY_STAFF_ADMIN_EMAIL", "chief@example.org")
    cli_env.setenv("GOPY_STAFF_ADMIN_PASSWORD_FILE", str(secret))
    get_settings.cache_clear()
    await asyncio.to_thread(ensure_first_admin, get_settings())
    [row] = await _accounts(sessions)
    assert row.email == "chief@example.org" and row.role == "admin"
    assert Argon2PasswordHasher().verify(row.password_hash, PASSWORD)
    await asyncio.to_thread(ensure_first_admin, get_settings())  # once there is an account: nothing
    assert len(await _accounts(sessions)) == 1


async def test_development_makes_a_demo_admin_with_a_password_logged_once(  # type: ignore[no-untyped-def]
    cli_env, sessions, caplog
) -> None:
    cli_env.setenv("GOPY_ENV", "development")
    get_settings.cache_clear()
    with caplog.at_level(logging.INFO, logger="gopy"):
        await asyncio.to_thread(ensure_first_admin, get_settings())
    [row] = await _accounts(sessions)
    assert row.email == DEMO_ADMIN_EMAIL and row.role == "admin"
    logged = [r.getMessage() for r in caplog.records if DEMO_ADMIN_EMAIL in r.getMessage()]
    assert len(logged) == 2  # Vietnamese and English
    password = logged[1].rsplit(": ", 1)[1]
    assert Argon2PasswordHasher().verify(row.password_hash, password)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gopy"):
        await asyncio.to_thread(ensure_first_admin, get_settings())
    assert not [r for r in caplog.records if DEMO_ADMIN_EMAIL in r.getMessage()]


def test_production_with_an_unreadable_password_file_refuses(cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli_env.setenv("GOPY_ENV", "production")
    cli_env.setenv("GOPY_STAFF_ADMIN_EMAIL", "chief@example.org")
    cli_env.setenv("GOPY_STAFF_ADMIN_PASSWORD_FILE", str(tmp_path / "missing"))
    get_settings.cache_clear()
    with pytest.raises(typer.Exit):
        ensure_first_admin(get_settings())
