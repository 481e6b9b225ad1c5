"""What every long-running or hashing command checks before it starts."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any

import typer
from pydantic import ValidationError

from core.config import Settings, get_settings
from core.errors import InsecureHashKey
from core.i18n import t

log = logging.getLogger("gopy")


def checked_settings() -> Settings:
    """The settings; one line in Vietnamese and English and exit status 2 when one does not validate."""
    try:
        return get_settings()
    except ValidationError as exc:
        names = ", ".join(sorted({"GOPY_" + str(e["loc"][0]).upper() for e in exc.errors() if e["loc"]}))
        typer.echo(
            f"{t('error.invalid_settings', 'vi')} / {t('error.invalid_settings', 'en')}: {names}", err=True
        )
        raise typer.Exit(2) from None


def hashing_settings() -> Settings:
    """The settings of a command that hashes chat ids or pseudonymises respondents.

    With the public development key outside ``GOPY_ENV=development``: one line in Vietnamese and English
    on stderr and exit status 2 (no traceback); likewise for a setting that does not validate.
    """
    settings = checked_settings()
    try:
        settings.require_hash_key()
    except InsecureHashKey as exc:
        typer.echo(f"{t(exc.code, 'vi')} / {t(exc.code, 'en')}", err=True)
        raise typer.Exit(2) from None
    return settings


def warn_development_key(settings: Settings) -> None:
    """Say once in the log that the development key is in use (after logging is set up)."""
    if settings.development_hash_key:
        log.warning(
            "%s / %s", t("startup.development_hash_key", "vi"), t("startup.development_hash_key", "en")
        )


def run_until_signalled(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main`` until it returns or SIGINT/SIGTERM cancels it (its ``finally`` blocks run); exit 0."""

    async def runner() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with suppress(asyncio.CancelledError):
            await main()

    asyncio.run(runner())


def service_settings(*, needs_bot: bool = False) -> Settings:
    """The settings of a long-running process (`gopy run`, `api`, `bot`, `scheduler`), with logging set
    up; with ``needs_bot`` and no Telegram token, one line on how to connect a bot and exit status 2."""
    from cli.logs import setup_logging

    settings = hashing_settings()
    setup_logging(settings.log_level, settings.log_format)
    warn_development_key(settings)
    if needs_bot and not settings.bot_token:
        typer.echo(f"{t('bot.connect_hint', 'vi')}\n{t('bot.connect_hint', 'en')}", err=True)
        raise typer.Exit(2)
    return settings
