"""``gopy apikey create|list|revoke``: staff API keys (shown once, stored hashed, revocable)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from core.config import get_settings
from core.errors import GopyError
from core.i18n import t

app = typer.Typer(help="Staff API keys / Khóa API cho cán bộ", no_args_is_help=True)


def _fail(exc: GopyError) -> typer.Exit:
    from cli.main import fail

    return fail(exc)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="who or what uses the key")],
    scopes: Annotated[
        str,
        typer.Option("--scopes", help="comma-separated: feedback:read, reports:read, feedback:pii, admin"),
    ] = "feedback:read",
) -> None:
    """Create a key; it is printed once and only its hash is kept."""
    from cli.main import _in_transaction
    from core.api_keys import parse_scopes
    from storage.staff import create_api_key, record_audit

    try:
        scope_list = parse_scopes(scopes)
    except GopyError as exc:
        raise _fail(exc) from exc
    now = get_settings().clock().now()

    async def work(session):  # type: ignore[no-untyped-def]
        key_id, key = await create_api_key(session, name=name, scopes=scope_list, now=now)
        await record_audit(
            session,
            actor="cli",
            action="apikey.create",
            target=str(key_id),
            details={"scopes": scope_list},
            now=now,
        )
        return key_id, key

    key_id, key = asyncio.run(_in_transaction(work))
    params = {"id": key_id, "name": name, "scopes": ",".join(scope_list)}
    typer.echo(t("api.cli.key_created", "vi", **params), err=True)
    typer.echo(t("api.cli.key_created", "en", **params), err=True)
    typer.echo(key.secret)


@app.command("list")
def list_keys() -> None:
    """Every key: id, prefix, name, scopes, created, revoked (never the key itself)."""
    from cli.main import _in_transaction
    from storage.staff import list_api_keys

    for key in asyncio.run(_in_transaction(list_api_keys)):
        revoked = f" revoked {key['revoked_at']:%Y-%m-%d %H:%M}" if key["revoked_at"] else ""
        typer.echo(f"{key['id']}\t{key['prefix']}\t{key['name']}\t{','.join(key['scopes'])}{revoked}")


@app.command("revoke")
def revoke(key: Annotated[str, typer.Argument(help="the key's id, prefix, or the key itself")]) -> None:
    """Revoke a key at once: every later request with it gets 401."""
    from cli.main import _in_transaction
    from storage.staff import record_audit, revoke_api_key

    now = get_settings().clock().now()

    async def work(session):  # type: ignore[no-untyped-def]
        done = await revoke_api_key(session, key=key, now=now)
        if done:
            await record_audit(session, actor="cli", action="apikey.revoke", target=key[:20], now=now)
        return done

    shown = key if len(key) <= 12 else key[:12] + "…"
    if not asyncio.run(_in_transaction(work)):
        typer.echo(
            f"{t('api.cli.key_not_found', 'vi', key=shown)}\n{t('api.cli.key_not_found', 'en', key=shown)}"
        )
        raise typer.Exit(1)
    typer.echo(f"{t('api.cli.key_revoked', 'vi', key=shown)}\n{t('api.cli.key_revoked', 'en', key=shown)}")
