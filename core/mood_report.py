"""The Commission's mood report ("Báo cáo tình hình Nhân dân trước/sau Đại hội …") as plain data.

An :class:`~core.admin_document.AdminDocument` in the administrative layout of Party documents: the
letterhead, the title, numbered parts (overview with count tables, the main contents by kind, the
units' reports, the assessment left for staff), and the recipients block. It is a *draft*: staff
complete the assessment and sign it. ``formats.mood_docx`` renders it as DOCX.

The units section takes a plain list of :class:`UnitReportLine` (or ``(name, status, submitted_at)``
tuples): the units' own reports live in another module, and the caller feeds them here. ``None`` or an
empty list renders "no unit data".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from core.admin_document import (
    ROMAN,
    AdminDocument,
    Block,
    Heading,
    Issuer,
    Paragraph,
    Part,
    Table,
    closing_of,
    letterhead_of,
)
from core.i18n import t
from core.mood import MOOD_KINDS, MoodGroup, MoodSummary
from core.report_phrases import Wording, phrase, reported_themes, theme_blocks, theme_wordings
from core.reporting import ReportingUnitOfWork, period_compliance

TOP_GROUPS_PER_KIND = 10  # groups worded in the body; every group and single entry is in the appendix
MAX_THEMES_PER_TOPIC = 8  # themes with a heading in the body; every theme is in the themes appendix
MAX_WORDINGS_PER_THEME = 3  # representative wordings under a theme's heading
UNIT_STATUSES = ("on_time", "late", "claimed", "missing")


def _wording(group: MoodGroup) -> Wording:
    return Wording(group.representative, group.count, group.receipt_codes, group.kind.value)


class UnitReportLine(NamedTuple):
    """One reporting unit for the period: ``status`` is ``on_time``, ``late``, ``claimed`` or ``missing``."""

    name: str
    status: str
    submitted_at: datetime | None = None


def mood_report(
    summary: MoodSummary,
    *,
    units: Sequence[UnitReportLine | tuple[str, str, datetime | None]] | None,
    now: datetime,
    issuer: Issuer,
    timezone: str = "Asia/Ho_Chi_Minh",
    language: str = "vi",
) -> AdminDocument:
    """The report draft of ``summary`` and the units' lines, dated ``now`` in ``timezone``."""
    words = _Words(language, ZoneInfo(timezone), issuer)
    _ = words.get
    local = now.astimezone(words.tz)
    sections = (
        ("part_overview", words.overview(summary)),
        ("part_contents", words.main_contents(summary)),
        ("part_units", words.units(None if units is None else [UnitReportLine(*u) for u in units])),
        ("part_assessment", (Paragraph(_("assessment_placeholder"), italic=True),)),
    )
    appendices = [a for a in (words.appendix(summary),) if a]
    themes = words.themes_appendix(summary, len(appendices) + 1)
    if themes:
        appendices.append(themes)
    return AdminDocument(
        letterhead=letterhead_of(issuer, local, language),
        title=_("title"),
        subject=words.subject(summary).upper(),
        note=t("report.draft_mark", language),
        intro=(words.intro(summary),),
        parts=tuple(
            Part(f"{ROMAN[number]}. {_(key)}", blocks) for number, (key, blocks) in enumerate(sections)
        ),
        closing=closing_of(issuer, language),
        appendices=tuple(appendices),
        generator=issuer.generator,
    )


class _Words:
    """The catalog's wording of each part, in one language and time zone."""

    def __init__(self, language: str, tz: ZoneInfo, issuer: Issuer) -> None:
        self.lang = language
        self.tz = tz
        self.issuer = issuer

    def get(self, key: str, **params: object) -> str:
        return t(f"mood.report.{key}", self.lang, **params)

    def date(self, value: datetime | None) -> str:
        return value.astimezone(self.tz).strftime("%d/%m/%Y") if value else "—"

    def subject(self, summary: MoodSummary) -> str:
        subject = summary.period.title(self.lang)
        prefix = self.get("title_prefix")
        if subject.lower().startswith(prefix.lower()):
            subject = subject[len(prefix) :].strip()
            subject = subject[:1].upper() + subject[1:]
        return subject

    def intro(self, summary: MoodSummary) -> str:
        congress = summary.congress.name(self.lang)
        if not summary.total:
            return self.get("intro_empty", congress=congress)
        first, last = self.date(summary.first_at), self.date(summary.last_at)
        return self.get("intro", congress=congress, first=first, last=last, total=summary.total)

    def overview(self, summary: MoodSummary) -> tuple[Block, ...]:
        by_kind = summary.counts.get("kind", {})
        kinds = "; ".join(f"{summary.label('kind', k.value)}: {by_kind.get(k.value, 0)}" for k in MOOD_KINDS)
        blocks: list[Block] = [
            Paragraph(self.get("totals", total=summary.total, kinds=kinds, withdrawn=summary.withdrawn))
        ]
        if not summary.total:
            return tuple(blocks)
        dims = (
            ("topic", "by_topic"),
            ("category", "by_category"),
            ("organisation", "by_organisation"),
            ("locality", "by_locality"),
        )
        for number, (dim, key) in enumerate(dims, start=1):
            blocks.append(Heading(f"{number}. {self.get(key)}"))
            blocks.append(self.counts_table(summary, dim, number))
        return tuple(blocks)

    def share(self, count: int, total: int) -> str:
        comma = "," if self.lang == "vi" else "."
        return f"{100 * count / total:.1f}%".replace(".", comma) if total else "0%"

    def counts_table(self, summary: MoodSummary, dim: str, number: int) -> Table:
        counts = list(summary.counts.get(dim, {}).items())
        return Table(
            headings=(self.get("col_no"), self.get("col_item"), self.get("col_count"), self.get("col_share")),
            rows=tuple(
                (str(i), summary.label(dim, code), str(n), self.share(n, summary.total))
                for i, (code, n) in enumerate(counts, start=1)
            ),
            widths_cm=(1.5, 9.0, 3.0, 3.0),
            caption=self.get("table_caption", number=number, what=self.get(f"by_{dim}").lower()),
            total=("", self.get("total_row"), str(summary.total), self.share(summary.total, summary.total)),
        )

    def phrase(self, group: MoodGroup, total: int) -> str:
        """A group by its share, with the verb of its kind ("phản ánh", "mong muốn", "kiến nghị")."""
        return phrase(_wording(group), total, self.issuer, self.lang)

    def themes(self, summary: MoodSummary, number: int) -> list[Block]:
        """Per topic, its themes of two or more (staff names, else key phrases) with their counts and
        representative wordings; nothing when no topic has any."""
        wordings = [_wording(g) for g in summary.groups]
        topics = [(b, reported_themes(b.themes, wordings)) for b in summary.themes]
        topics = [(b, themes) for b, themes in topics if themes]
        if not topics:
            return []
        blocks: list[Block] = [Heading(f"{number}. {self.get('by_theme')}")]
        for index, (block, themes) in enumerate(topics, start=1):
            total = summary.counts.get("topic", {}).get(block.topic) or sum(th.count for th in block.themes)
            name = summary.label("topic", block.topic)
            blocks.append(
                Heading(self.get("topic_heading", number=f"{number}.{index}", topic=name, count=total))
            )
            body = theme_blocks(
                themes,
                wordings,
                total=total,
                issuer=self.issuer,
                language=self.lang,
                max_themes=MAX_THEMES_PER_TOPIC,
                max_wordings=MAX_WORDINGS_PER_THEME,
            )
            blocks.extend(body.blocks)
            more = themes[len(body.shown) :]
            if more:
                count = sum(th.count for th in more)
                blocks.append(Paragraph(self.get("more_themes", themes=len(more), count=count), italic=True))
        return blocks

    def themes_appendix(self, summary: MoodSummary, number: int) -> Part | None:
        """Every theme of two or more, by topic, with its most frequent wording."""
        wordings = [_wording(g) for g in summary.groups]
        rows: list[tuple[str, str, str, str]] = []
        for block in summary.themes:
            for theme in reported_themes(block.themes, wordings):
                inside = theme_wordings(theme, wordings)
                label = theme.label or t("report.theme.unnamed", self.lang)
                example = inside[0].representative if inside else ""
                rows.append((summary.label("topic", block.topic), label, example, str(theme.count)))
        if not rows:
            return None
        counted = sum(int(row[3]) for row in rows)
        table = Table(
            headings=(
                self.get("col_no"),
                self.get("col_topic"),
                self.get("col_theme"),
                self.get("col_example"),
                self.get("col_count"),
            ),
            rows=tuple((str(i), *row) for i, row in enumerate(rows, start=1)),
            widths_cm=(1.2, 3.3, 4.2, 5.8, 2.0),
            caption=self.get("themes_appendix_caption", themes=len(rows), count=counted),
            total=("", self.get("total_row"), self.get("themes_total", themes=len(rows)), "", str(counted)),
        )
        return Part(self.get("themes_appendix", number=number), (table,))

    def main_contents(self, summary: MoodSummary) -> tuple[Block, ...]:
        if not summary.total:
            return (Paragraph(self.get("no_entries")),)
        blocks: list[Block] = []
        by_kind = summary.counts.get("kind", {})
        for number, kind in enumerate(MOOD_KINDS, start=1):
            groups = [g for g in summary.groups if g.kind is kind]
            blocks.append(Heading(f"{number}. {summary.label('kind', kind.value)}"))
            if not groups:
                blocks.append(Paragraph(self.get("none_of_kind")))
                continue
            total = by_kind.get(kind.value, sum(g.count for g in groups))
            for group in groups[:TOP_GROUPS_PER_KIND]:
                blocks.append(Paragraph(f"- {self.phrase(group, total)}"))
            if len(groups) > TOP_GROUPS_PER_KIND:
                rest = groups[TOP_GROUPS_PER_KIND:]
                count = sum(g.count for g in rest)
                blocks.append(Paragraph(self.get("more_groups", groups=len(rest), count=count), italic=True))
        blocks.extend(self.themes(summary, len(MOOD_KINDS) + 1))
        return tuple(blocks)

    def appendix(self, summary: MoodSummary) -> Part | None:
        """Every group and single entry, by kind: nothing the body had no room for is lost."""
        groups = [g for kind in MOOD_KINDS for g in summary.groups if g.kind is kind]
        if not groups:
            return None
        counted = sum(g.count for g in groups)
        table = Table(
            headings=(self.get("col_no"), self.get("col_kind"), self.get("col_item"), self.get("col_count")),
            rows=tuple(
                (str(i), summary.label("kind", g.kind.value), g.representative, str(g.count))
                for i, g in enumerate(groups, start=1)
            ),
            widths_cm=(1.5, 3.3, 9.2, 2.5),
            caption=self.get("appendix_caption", groups=len(groups), count=counted),
            total=("", self.get("total_row"), self.get("appendix_total", groups=len(groups)), str(counted)),
        )
        return Part(self.get("appendix", number=1), (table,))

    def units(self, units: list[UnitReportLine] | None) -> tuple[Block, ...]:
        if not units:
            return (Paragraph(self.get("no_unit_data")),)
        counts = {status: sum(1 for u in units if u.status == status) for status in UNIT_STATUSES}
        order = {status: i for i, status in enumerate(UNIT_STATUSES)}
        ordered = sorted(units, key=lambda u: (order.get(u.status, 9), u.name))
        return (
            Paragraph(self.get("units_totals", total=len(units), **counts)),
            Table(
                headings=(
                    self.get("col_no"),
                    self.get("col_unit"),
                    self.get("col_status"),
                    self.get("col_submitted"),
                ),
                rows=tuple(
                    (
                        str(i),
                        unit.name,
                        self.get(f"unit_{unit.status}") if unit.status in order else unit.status,
                        self.date(unit.submitted_at),
                    )
                    for i, unit in enumerate(ordered, start=1)
                ),
                widths_cm=(1.5, 7.7, 3.5, 3.3),
            ),
        )


async def units_of_period(
    *, uow: ReportingUnitOfWork, period_code: str, now: datetime
) -> list[UnitReportLine]:
    """The reporting units' lines for the mood report, from the period's compliance table."""
    rows = await period_compliance(uow=uow, period_code=period_code, now=now)
    return [UnitReportLine(row.unit_name, row.status.value, row.submitted_at) for row in rows]
