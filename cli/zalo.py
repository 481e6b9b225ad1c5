"""``gopy zalo connect|status``: the Zalo OA's first token pair (OAuth consent with PKCE) and its state."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from cli.startup import checked_settings
from core.config import Settings
from core.i18n import t

app = typer.Typer(help="Zalo Official Account / Tài khoản Zalo OA", no_args_is_help=True)


def _both(key: str, **params: object) -> None:
    typer.echo(f"{t(key, 'vi', **params)}\n{t(key, 'en', **params)}", err=True)


def _pending_file(settings: Settings) -> Path:
    return settings.home / "zalo-consent.json"


def _require(settings: Settings) -> None:
    if not settings.zalo_configured:
        _both("zalo.cli.not_configured")
        raise typer.Exit(2)


@app.command("connect")
def connect(
    redirect_uri: Annotated[
        str, typer.Option("--redirect-uri", help="the callback URL registered in the Zalo app")
    ] = "",
    code: Annotated[str, typer.Option("--code", help="the code Zalo appended to the callback URL")] = "",
) -> None:
    """Step 1 (--redirect-uri): print the consent URL. Step 2 (--code): store the first token pair."""
    from bot.zalo.client import consent

    settings = checked_settings()
    _require(settings)
    pending = _pending_file(settings)
    if not code:
        if not redirect_uri:
            _both("zalo.cli.need_redirect")
            raise typer.Exit(2)
        page = consent(
            oauth_base=settings.zalo_oauth_base, app_id=settings.zalo_app_id or "", redirect_uri=redirect_uri
        )
        pending.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"code_verifier": page.code_verifier, "state": page.state}, fh)
        _both("zalo.cli.open_url")
        typer.echo(page.url)
        return
    if not pending.exists():
        _both("zalo.cli.no_pending")
        raise typer.Exit(2)
    verifier = json.loads(pending.read_text())["code_verifier"]
    asyncio.run(_exchange(settings, code.strip(), verifier))
    pending.unlink()
    _both("zalo.cli.connected")


async def _exchange(settings: Settings, code: str, verifier: str) -> None:
    import aiohttp

    from bot.zalo.client import ZaloError, exchange_code
    from storage import zalo as store
    from storage.db import create_engine, session_factory

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        try:
            access, refresh, expires_in = await exchange_code(
                http,
                oauth_base=settings.zalo_oauth_base,
                app_id=settings.zalo_app_id or "",
                app_secret=settings.zalo_app_secret.get_secret_value() if settings.zalo_app_secret else "",
                code=code,
                code_verifier=verifier,
            )
        except ZaloError as exc:
            _both("zalo.cli.refused", code=exc.code)
            raise typer.Exit(2) from None
    now = settings.clock().now()
    engine = create_engine(settings.database_url)
    try:
        await store.store_first_pair(
            session_factory(engine),
            access=access,
            refresh=refresh,
            expires_at=now + timedelta(seconds=expires_in),
            now=now,
        )
    finally:
        await engine.dispose()


@app.command("status")
def status() -> None:
    """The token's age and expiry, the webhook's last event, the events waiting."""
    settings = checked_settings()
    typer.echo(asyncio.run(_status(settings)))


async def _status(settings: Settings) -> str:
    from sqlalchemy import func, select

    from storage import zalo as store
    from storage.db import create_engine, session_factory
    from storage.models_zalo import ZaloInboxRow, ZaloUserRow

    now = settings.clock().now()
    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        pair = await store.read_token(sessions)
        async with sessions() as session:
            last = await store.last_event_at(session)
            pending = await session.scalar(
                select(func.count(ZaloInboxRow.id)).where(ZaloInboxRow.processed_at.is_(None))
            )
            followers = await session.scalar(
                select(func.count(ZaloUserRow.id)).where(ZaloUserRow.followed.is_(True))
            )
    finally:
        await engine.dispose()
    lines = [f"configured: {'yes' if settings.zalo_configured else 'no'}"]
    if pair is None:
        lines.append("token: none (run `gopy zalo connect`)")
    else:
        age = now - pair.refreshed_at
        left = pair.expires_at - now
        lines.append(f"token: refreshed {pair.refreshed_at:%Y-%m-%d %H:%M} UTC ({_span(age)} ago)")
        lines.append(
            f"token expires: {pair.expires_at:%Y-%m-%d %H:%M} UTC"
            + (f" (in {_span(left)})" if left.total_seconds() > 0 else " (EXPIRED)")
        )
        if pair.refreshing_until and pair.refreshing_until > now:
            lines.append("token refresh: in progress")
    lines.append(f"last webhook event: {f'{last:%Y-%m-%d %H:%M:%S} UTC' if last else 'none yet'}")
    lines.append(f"events waiting: {pending or 0}")
    lines.append(f"followers seen: {followers or 0}")
    return "\n".join(lines)


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m"
