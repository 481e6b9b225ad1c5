"""``gopy mood``: staff commands of the public-mood feature (per-period summary, DOCX report draft)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from cli.unit_of_work import cli_actor, run
from core.config import get_settings
from core.i18n import t
from core.mood import SUMMARY_DIMENSIONS, MoodSummary
from core.staff.mood import UnitLine, export_mood_report, export_mood_summary
from formats.reports_docx import build_mood_report_docx

mood_app = typer.Typer(
    help="Tình hình Nhân dân / Public mood: summaries and report drafts per reporting period",
    no_args_is_help=True,
)


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
    now = get_settings().clock().now()
    summary = run(
        lambda uow: export_mood_summary(
            uow=uow, actor=cli_actor(), period_code=period, now=now, language=language
        )
    )
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

    def render(summary: MoodSummary, units: Sequence[UnitLine]) -> bytes:
        return build_mood_report_docx(
            summary,
            units=units,
            now=now,
            timezone=settings.timezone,
            language=language,
            issuer=settings.report_issuer_of(),
        )

    summary, content = run(
        lambda uow: export_mood_report(
            uow=uow, actor=cli_actor(), period_code=period, now=now, render=render, language=language
        )
    )
    output.write_bytes(content)
    typer.echo(t("mood.report.saved", language, path=str(output), total=summary.total))
