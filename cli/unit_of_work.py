"""How a CLI command runs a use case: one engine, one unit of work (one transaction), domain errors
printed in Vietnamese and English with exit status 2."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from core.config import get_settings
from core.errors import GopyError
from core.i18n import say

if TYPE_CHECKING:
    from storage.uow import SqlUnitOfWork

T = TypeVar("T")


def cli_actor() -> str:
    """Who the audit log names for a command: ``cli:<login>``."""
    return f"cli:{getpass.getuser()}"


def fail(exc: GopyError) -> typer.Exit:
    """Print a domain error in Vietnamese and English and exit with status 2."""
    params = {k: v for k, v in exc.params.items() if isinstance(v, str | int)}
    params.setdefault("reason", params.get("detail", ""))
    vi, en = (say(exc.message_keys(), language, params, fallback=exc.code) for language in ("vi", "en"))
    detail = f" ({exc.params})" if exc.params else ""
    typer.echo(f"Lỗi: {vi}\nError: {en}{detail}", err=True)
    return typer.Exit(2)


async def in_unit_of_work(fn: Callable[[SqlUnitOfWork], Awaitable[T]]) -> T:
    """Run ``fn(uow)`` in the command's one unit of work (the use case commits; leaving rolls back)."""
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWork

    engine = create_engine(get_settings().database_url)
    try:
        async with SqlUnitOfWork(session_factory(engine)) as uow:
            return await fn(uow)
    finally:
        await engine.dispose()


def run(fn: Callable[[SqlUnitOfWork], Awaitable[T]]) -> T:
    """:func:`in_unit_of_work` from a command: a domain error exits with status 2."""
    try:
        return asyncio.run(in_unit_of_work(fn))
    except GopyError as exc:
        raise fail(exc) from exc
