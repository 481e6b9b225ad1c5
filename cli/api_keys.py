"""``gopy apikey create|list|revoke``: staff API keys (shown once, stored hashed, revocable)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.unit_of_work import fail, run
from core.config import get_settings
from core.errors import GopyError
from core.i18n import t

app = typer.Typer(help="Staff API keys / Khóa API cho cán bộ", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="who or what uses the key")],
    scopes: Annotated[
        str,
        typer.Option(
            "--scopes",
            help="comma-separated: feedback:read, reports:read, feedback:pii, feedback:moderate, themes:write, admin",
        ),
    ] = "feedback:read",
) -> None:
    """Create a key; it is printed once and only its hash is kept."""
    from core.api_keys import parse_scopes
    from core.staff.api_keys import create_api_key

    try:
        scope_list = parse_scopes(scopes)
    except GopyError as exc:
        raise fail(exc) from exc
    now = get_settings().clock().now()
    key_id, key = run(lambda uow: create_api_key(uow=uow, actor="cli", name=name, scopes=scope_list, now=now))
    params = {"id": key_id, "name": name, "scopes": ",".join(scope_list)}
    typer.echo(t("api.cli.key_created", "vi", **params), err=True)
    typer.echo(t("api.cli.key_created", "en", **params), err=True)
    typer.echo(key.secret)


@app.command("list")
def list_keys() -> None:
    """Every key: id, prefix, name, scopes, created, revoked (never the key itself)."""
    from core.staff.api_keys import list_api_keys

    for key in run(lambda uow: list_api_keys(uow=uow)):
        revoked = f" revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
        typer.echo(f"{key.id}\t{key.prefix}\t{key.name}\t{','.join(key.scopes)}{revoked}")


@app.command("revoke")
def revoke(key: Annotated[str, typer.Argument(help="the key's id, prefix, or the key itself")]) -> None:
    """Revoke a key at once: every later request with it gets 401."""
    from core.staff.api_keys import revoke_api_key

    now = get_settings().clock().now()
    shown = key if len(key) <= 12 else key[:12] + "…"
    if not run(lambda uow: revoke_api_key(uow=uow, actor="cli", key=key, now=now)):
        typer.echo(
            f"{t('api.cli.key_not_found', 'vi', key=shown)}\n{t('api.cli.key_not_found', 'en', key=shown)}"
        )
        raise typer.Exit(1)
    typer.echo(f"{t('api.cli.key_revoked', 'vi', key=shown)}\n{t('api.cli.key_revoked', 'en', key=shown)}")
