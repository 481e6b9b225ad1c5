"""The ``gopy`` command: wires storage, bot, API and scheduler together; holds no rules."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.api_keys import app as api_keys_app
from cli.backup import app as backup_app
from cli.export import app as export_app
from cli.feedback import feedback_app
from cli.mood import mood_app
from cli.staff import app as staff_app
from cli.staff import ensure_first_admin
from cli.startup import checked_settings, service_settings
from cli.unit_of_work import cli_actor
from cli.unit_of_work import fail as fail
from cli.unit_of_work import run as run_use_case
from cli.zalo import app as zalo_app
from core.config import get_settings
from core.errors import GopyError
from core.i18n import t

app = typer.Typer(
    help="Gopy — góp ý của Nhân dân qua trò chuyện / public feedback through chat.", no_args_is_help=True
)
db_app = typer.Typer(help="Database / Cơ sở dữ liệu", no_args_is_help=True)
documents_app = typer.Typer(help="Draft documents / Dự thảo văn kiện", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(documents_app, name="documents")
app.add_typer(mood_app, name="mood")
app.add_typer(api_keys_app, name="apikey")
app.add_typer(export_app, name="export")
app.add_typer(staff_app, name="staff")
app.add_typer(feedback_app, name="feedback")
app.add_typer(zalo_app, name="zalo")
app.add_typer(backup_app)  # gopy backup FILE, gopy restore FILE

log = logging.getLogger("gopy")


# commands that create, copy or inspect the database themselves
NO_DATABASE_CHECK = {"db", "backup", "restore"}


@app.callback()
def _require_database(ctx: typer.Context) -> None:
    """Before any command that uses the database: one clear line when it is missing or not migrated."""
    from storage.migrate import check_ready

    if ctx.invoked_subcommand in NO_DATABASE_CHECK or ctx.resilient_parsing or "--help" in sys.argv:
        return
    try:
        asyncio.run(check_ready(checked_settings().database_url))
    except GopyError as exc:
        params = {k: v for k, v in exc.params.items() if isinstance(v, str)}
        typer.echo(f"Lỗi: {t(exc.code, 'vi', **params)} / Error: {t(exc.code, 'en', **params)}", err=True)
        raise typer.Exit(2) from None


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _serve(poll: bool) -> None:
    import uvicorn

    from api.app import create_app
    from scheduler.service import start_scheduler

    settings = service_settings()
    ensure_first_admin(settings)
    base = f"http://{settings.host}:{settings.port}"
    log.info("Gopy web chat: %s/chat", base)
    log.info("Gopy staff console: %s/staff", base)
    log.info("Gopy API docs: %s/docs", base)
    if not settings.bot_token:
        log.info("%s / %s", t("bot.connect_hint", "vi"), t("bot.connect_hint", "en"))
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again: exit 0 then
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(
        create_app(settings, poll=poll, background=start_scheduler if poll else None, settle=True),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,  # access lines carry client addresses: personal data stays out of the logs
        loop="uvloop",  # both are dependencies (issue 11: the event loop and HTTP parser in C)
        http="httptools",
    )


@app.command()
def run() -> None:
    """API + bot (polling unless a webhook URL is set) + scheduler in one process."""
    _serve(poll=True)


@app.command()
def api() -> None:
    """The API only (and the Telegram webhook endpoint)."""
    _serve(poll=False)


@app.command()
def bot() -> None:
    """The Telegram bot alone, by polling."""
    from bot.runtime import poll_until_signalled

    asyncio.run(poll_until_signalled(service_settings(needs_bot=True)))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the database migrations (Alembic)."""
    from storage.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"Database at revision {revision}.")


@app.command()
def load(
    files: Annotated[
        list[Path], typer.Argument(help="plan/lists YAML, localities CSV, Markdown/DOCX drafts")
    ],
) -> None:
    """Load data files (plan, lists, localities, units, documents); all or nothing per file."""
    from core.staff.documents import load_data_file
    from formats.drafts import read_draft

    now = get_settings().clock().now()
    for path in files:
        report = run_use_case(
            lambda uow, p=path: load_data_file(uow=uow, path=p, read_draft=read_draft, now=now)
        )
        typer.echo(" ".join([report.summary(), *report.notes]))


@documents_app.command("import")
def documents_import(
    file: Path,
    code: Annotated[str | None, typer.Option(help="document code (default: from the file)")] = None,
    title: Annotated[str | None, typer.Option(help="document title (default: from the file)")] = None,
    status: Annotated[str | None, typer.Option(help="draft | open | closed")] = None,
) -> None:
    """Import a Markdown or DOCX draft: headings become sections, paragraphs their text."""
    from core.staff.documents import import_document
    from formats.drafts import read_draft

    if not file.is_file():
        typer.echo(f"Không tìm thấy tệp / File not found: {file}", err=True)
        raise typer.Exit(2)
    now, raw = get_settings().clock().now(), file.read_bytes()
    done = run_use_case(
        lambda uow: import_document(
            uow=uow,
            actor=cli_actor(),
            raw=raw,
            filename=file.name,
            read_draft=read_draft,
            now=now,
            code=code,
            title=title,
            status=status,
        )
    )
    typer.echo(done.report.summary() + " " + " ".join(done.report.notes))


from cli import reporting as _reporting  # noqa: E402

_reporting.register(app)

if __name__ == "__main__":
    app()
