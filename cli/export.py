"""``gopy export feedback``: the same filtered exports as the API (CSV, XLSX, JSONL), with a progress bar."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.unit_of_work import cli_actor, fail
from core.domain import Channel, FeedbackKind, FeedbackStatus, Source, Stance
from core.errors import GopyError
from core.exports import ExportFormat, FeedbackFilters, HiddenFilter, utc_moment
from core.i18n import t
from core.staff.feedback import Presenter, export_wording, start_feedback_export


class Language(StrEnum):
    VI = "vi"
    EN = "en"


app = typer.Typer(help="Exports / Xuất dữ liệu", no_args_is_help=True)


async def run_export(
    *,
    database_url: str,
    filters: FeedbackFilters,
    document_code: str | None,
    fmt: ExportFormat,
    output: Path,
    present: Presenter,
    now: datetime,
    progress: bool = True,
    language: str | None = "vi",
) -> int:
    """Start the export (audited, as the API does), then write its bytes to ``output``; return the rows.
    ``language`` words a CSV or XLSX for people (``None``: codes, the machine layout)."""
    from tqdm import tqdm

    from api.v1.exports import export_chunks
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWork

    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with SqlUnitOfWork(sessions) as uow:
            if language is not None and fmt is not ExportFormat.JSONL:
                present = replace(present, wording=await export_wording(uow=uow, language=language))
            export = await start_feedback_export(
                uow=uow,
                actor=cli_actor(),
                filters=filters,
                fmt=fmt,
                present=present,
                now=now,
                document_code=document_code,
                file=output.name,
            )
        with tqdm(total=export.rows, unit="rows", disable=not progress, leave=False) as bar:
            with output.open("wb") as fh:
                async for chunk in export_chunks(sessions, export, fmt, on_page=bar.update):
                    fh.write(chunk)
        return export.rows
    finally:
        await engine.dispose()


@app.command("feedback")
def export_feedback(
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write")],
    format: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.CSV,
    kind: Annotated[FeedbackKind | None, typer.Option()] = None,
    document: Annotated[str | None, typer.Option(help="document code or id")] = None,
    section: Annotated[int | None, typer.Option(help="section id")] = None,
    stance: Annotated[Stance | None, typer.Option()] = None,
    category: Annotated[str | None, typer.Option()] = None,
    organisation: Annotated[str | None, typer.Option()] = None,
    locality: Annotated[str | None, typer.Option()] = None,
    channel: Annotated[Channel | None, typer.Option()] = None,
    source: Annotated[Source | None, typer.Option()] = None,
    status: Annotated[FeedbackStatus | None, typer.Option()] = None,
    congress: Annotated[int | None, typer.Option(help="congress id")] = None,
    period: Annotated[int | None, typer.Option(help="reporting period id")] = None,
    topic: Annotated[str | None, typer.Option()] = None,
    unit_code: Annotated[str | None, typer.Option()] = None,
    created_from: Annotated[
        str | None, typer.Option("--from", help="ISO date/time, local when no offset")
    ] = None,
    created_to: Annotated[str | None, typer.Option("--to", help="ISO date/time (exclusive)")] = None,
    text: Annotated[
        str | None, typer.Option(help="text contains (case and accent placement ignored)")
    ] = None,
    q: Annotated[
        str | None, typer.Option("--q", help="full-text search (case, diacritics and punctuation ignored)")
    ] = None,
    hidden: Annotated[
        HiddenFilter | None, typer.Option(help="entries hidden by moderation: exclude, include, only")
    ] = None,
    pii: Annotated[bool, typer.Option(help="respondent ids instead of pseudonyms (audited)")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    codes: Annotated[
        bool, typer.Option("--codes", help="machine layout: English column names and codes (CSV, XLSX)")
    ] = False,
    lang: Annotated[Language, typer.Option("--lang", help="language of headers and names")] = Language.VI,
) -> None:
    """Export entries (opinions and mood entries) with the API's filters; the export is audited."""
    from cli.startup import hashing_settings

    settings = hashing_settings()  # pseudonyms are keyed hashes
    document_id = int(document) if document and document.isdigit() else None
    document_code = document if document and not document.isdigit() else None
    try:
        filters = FeedbackFilters(
            kind=kind,
            document_id=document_id,
            section_id=section,
            stance=stance,
            category=category,
            organisation=organisation,
            locality=locality,
            channel=channel,
            source=source,
            status=status,
            congress_id=congress,
            period_id=period,
            topic=topic,
            unit_code=unit_code,
            created_from=utc_moment("created_from", created_from, settings.tz),
            created_to=utc_moment("created_to", created_to, settings.tz),
            text_contains=text,
            q=q,
            hidden=hidden,
        )
        rows = asyncio.run(
            run_export(
                database_url=settings.database_url,
                filters=filters,
                document_code=document_code,
                fmt=format,
                output=output,
                present=Presenter(pii=pii, hash_key=settings.hash_key.get_secret_value(), tz=settings.tz),
                now=settings.clock().now(),
                progress=not quiet,
                language=None if codes else lang.value,
            )
        )
    except GopyError as exc:
        raise fail(exc) from exc
    except ValueError as exc:
        typer.echo(f"Lỗi / Error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for language in ("vi", "en"):
        typer.echo(t("api.cli.exported", language, rows=rows, path=output))
