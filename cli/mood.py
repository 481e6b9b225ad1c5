"""``gopy mood``: staff commands of the public-mood feature (per-period summary, DOCX report draft)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from core.config import get_settings
from core.errors import GopyError
from core.i18n import t
from core.mood import SUMMARY_DIMENSIONS, MoodSummary, summarise_mood_period
from core.mood_report import units_of_period
from core.ports import UnitOfWork
from formats.reports_docx import build_mood_report_docx

mood_app = typer.Typer(
    help="Tình hình Nhân dân / Public mood: summaries and report drafts per reporting period",
    no_args_is_help=True,
)

T = TypeVar("T")


async def _with_uow(fn: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWork

    engine = create_engine(get_settings().database_url)
    try:
        async with SqlUnitOfWork(session_factory(engine)) as uow:
            return await fn(uow)
    finally:
        await engine.dispose()


def _run(fn: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    from cli.main import fail

    try:
        return asyncio.run(_with_uow(fn))
    except GopyError as exc:
        raise fail(exc) from exc


def format_summary(summary: MoodSummary, language: str = "vi") -> str:
    """The summary as plain text for a terminal."""
    tz = get_settings().tz
    lines = [
        t(
            "mood.summary.heading",
            language,
            title=summary.period.title(language),
            code=summary.period.code,
            due=summary.period.due_at.astimezone(tz).strftime("%d/%m/%Y %H:%M"),
            total=summary.total,
            withdrawn=summary.withdrawn,
        )
    ]
    for dim in SUMMARY_DIMENSIONS:
        lines.append("")
        lines.append(t(f"mood.summary.by.{dim}", language))
        for code, count in summary.counts[dim].items():
            lines.append(f"  {count:>6}  {summary.label(dim, code)}")
    lines.append("")
    lines.append(t("mood.summary.groups", language))
    repeated = [g for g in summary.groups if g.count > 1]
    for group in repeated:
        text = group.representative if len(group.representative) <= 100 else group.representative[:99] + "…"
        lines.append(f"  {group.count:>6}  [{summary.label('kind', group.kind.value)}] {text}")
    if not repeated:
        lines.append("  " + t("mood.summary.no_groups", language))
    return "\n".join(lines)


@mood_app.command("summary")
def summary_command(
    period: Annotated[str, typer.Argument(help="reporting period code, e.g. city-17-before")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of text")] = False,
    language: Annotated[str, typer.Option("--lang", help="vi | en")] = "vi",
) -> None:
    """Counts by congress, kind, topic, category, organisation, locality and near-identical groups."""
    summary = _run(lambda uow: summarise_mood_period(uow=uow, period_code=period, language=language))
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_summary(summary, language))


@mood_app.command("report")
def report_command(
    period: Annotated[str, typer.Argument(help="reporting period code, e.g. city-17-before")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the DOCX file to write")],
    language: Annotated[str, typer.Option("--lang", help="vi | en")] = "vi",
) -> None:
    """Write the DOCX draft of "Báo cáo tình hình Nhân dân trước/sau Đại hội …" for one period."""
    settings = get_settings()
    now = get_settings().clock().now()

    async def build(uow: UnitOfWork) -> tuple[MoodSummary, bytes]:
        summary = await summarise_mood_period(uow=uow, period_code=period, language=language)
        units = await units_of_period(uow=uow, period_code=period, now=now)  # type: ignore[arg-type]
        docx = build_mood_report_docx(
            summary, units=units, now=now, timezone=settings.timezone, language=language
        )
        return summary, docx

    summary, content = _run(build)
    output.write_bytes(content)
    typer.echo(t("mood.report.saved", language, path=str(output), total=summary.total))
