"""``gopy staff create|list``: staff console accounts; and the first admin made when ``gopy run`` or
``gopy api`` starts with no account (development: a random password printed once; production: from
``GOPY_STAFF_ADMIN_EMAIL`` and ``GOPY_STAFF_ADMIN_PASSWORD_FILE``, or a refusal to start)."""

from __future__ import annotations

import logging
import secrets
import sys
from typing import Annotated

import typer

from cli.unit_of_work import cli_actor, fail, run
from core.config import Settings, get_settings
from core.errors import GopyError
from core.i18n import t

app = typer.Typer(help="Staff console accounts / Tài khoản cán bộ", no_args_is_help=True)
log = logging.getLogger("gopy")
DEMO_ADMIN_EMAIL = "admin@gopy.local"


@app.command("create")
def create(
    email: Annotated[str, typer.Option("--email", help="the staff member's email (sign-in name)")],
    role: Annotated[str, typer.Option("--role", help="viewer | analyst | admin")] = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a console account; the password is prompted for (or read from stdin), stored hashed."""
    from core.staff.accounts import create_staff_account
    from storage.passwords import Argon2PasswordHasher

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            f"{t('staff.cli.password_prompt', 'vi')} / {t('staff.cli.password_prompt', 'en')}",
            hide_input=True,
            confirmation_prompt=True,
        )
    now = get_settings().clock().now()
    try:
        run(
            lambda uow: create_staff_account(
                uow=uow,
                hasher=Argon2PasswordHasher(),
                actor=cli_actor(),
                email=email,
                role=role,
                password=password,
                now=now,
            )
        )
    except GopyError as exc:
        raise fail(exc) from exc
    params = {"email": email.strip().lower(), "role": role}
    typer.echo(t("staff.cli.created", "vi", **params))
    typer.echo(t("staff.cli.created", "en", **params))


@app.command("list")
def list_accounts() -> None:
    """Every account: id, email, role, state (never a password hash)."""
    from core.staff.accounts import list_staff_accounts

    for account in run(lambda uow: list_staff_accounts(uow=uow)):
        state = f"disabled {account.disabled_at:%Y-%m-%d %H:%M}" if account.disabled_at else "active"
        locked = f" locked-until {account.locked_until:%Y-%m-%d %H:%M}" if account.locked_until else ""
        totp = " totp" if account.totp_secret else ""
        typer.echo(f"{account.id}\t{account.email}\t{account.role}\t{state}{locked}{totp}")


@app.command("reset-totp")
def reset_totp_command(
    email: Annotated[str, typer.Option("--email", help="the account whose second factor to remove")],
) -> None:
    """Remove an account's TOTP second factor (a lost phone, e.g. of the only admin); audited."""
    from core.errors import StaffAccountNotFound
    from core.staff.accounts import normalize_email
    from core.staff.second_factor import reset_totp

    address = normalize_email(email)
    now = get_settings().clock().now()

    async def reset(uow):  # type: ignore[no-untyped-def]
        account = await uow.staff_accounts.by_email(address)
        if account is None:
            raise StaffAccountNotFound()
        await reset_totp(uow=uow, actor=cli_actor(), account_id=account.id, now=now)

    run(reset)
    typer.echo(t("staff.account.admin.totp_reset_done", "vi"))
    typer.echo(t("staff.account.admin.totp_reset_done", "en"))


def ensure_first_admin(settings: Settings) -> None:
    """Before serving: when no staff account exists, create the configured first admin; in development
    without one, a demo admin whose random password is logged once; in production, refuse (exit 2)."""
    from sqlalchemy.exc import IntegrityError

    from core.errors import StaffAccountExists
    from core.staff.accounts import count_staff_accounts, create_staff_account
    from storage.passwords import Argon2PasswordHasher

    if run(lambda uow: count_staff_accounts(uow=uow)) > 0:
        return
    email = settings.staff_admin_email.strip()
    password_file = settings.staff_admin_password_file
    generated = False
    if email and password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").strip()
        except OSError:
            password = ""
    elif settings.env == "development":
        email = email or DEMO_ADMIN_EMAIL
        password = secrets.token_urlsafe(12)
        generated = True
    else:
        password = ""
    if not email or not password:
        typer.echo(f"{t('staff.cli.no_account', 'vi')} / {t('staff.cli.no_account', 'en')}", err=True)
        raise typer.Exit(2)
    now = settings.clock().now()
    try:
        run(
            lambda uow: create_staff_account(
                uow=uow,
                hasher=Argon2PasswordHasher(),
                actor="system:first-admin",
                email=email,
                role="admin",
                password=password,
                now=now,
            )
        )
    except GopyError as exc:
        if isinstance(exc, StaffAccountExists):  # another worker (compose replicas) made it first
            return
        raise fail(exc) from exc
    except IntegrityError:  # the same race, caught by the unique email at insert
        if run(lambda uow: count_staff_accounts(uow=uow)) > 0:
            return
        raise
    if generated:  # the demo's one-time password: shown once, never stored in clear
        log.warning("%s", t("staff.cli.first_admin", "vi", email=email, password=password))
        log.warning("%s", t("staff.cli.first_admin", "en", email=email, password=password))
    else:
        log.info("first staff admin created from GOPY_STAFF_ADMIN_EMAIL")
