"""The synthesis report of one document ("Báo cáo tổng hợp ý kiến góp ý của Nhân dân vào dự thảo …").

Built from a :class:`~core.document_consolidation.Consolidation` as an :class:`~core.admin_document.AdminDocument`:
totals by stance, two bar charts (by stance, by respondent category), tables by category,
organisation, locality and channel, then each section's groups of near-identical opinions.
``formats.synthesis_docx`` turns it into the Word draft.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from core.admin_document import (
    AdminDocument,
    BarChart,
    Block,
    Closing,
    Heading,
    Letterhead,
    Paragraph,
    Part,
    Table,
)
from core.document_consolidation import Consolidation, label_of
from core.i18n import t
from core.text import normalize_input

MAX_GROUPS_PER_SECTION = 10
CHARTS = (("stance", "api.docx.chart_stance"), ("category", "api.docx.chart_category"))
TABLES = ("category", "organisation", "locality", "channel")


def _share(count: int, total: int) -> str:
    return f"{(100.0 * count / total):.1f}".replace(".", ",") if total else "0"


def synthesis_report(
    result: Consolidation,
    *,
    labels: Mapping[str, Mapping[str, str]],
    today: datetime,
    language: str = "vi",
) -> AdminDocument:
    """The report of ``result`` dated ``today`` (a local time), its names taken from ``labels``."""

    def _(key: str, **params: object) -> str:
        return t(f"api.docx.{key}", language, **params)

    def name(dim: str, code: str) -> str:  # stored names and titles may predate input normalisation
        return normalize_input(label_of(labels, dim, code))

    def para(text: str, *, italic: bool = False) -> Paragraph:
        return Paragraph(normalize_input(text), italic=italic)

    totals: list[Block] = [para(_("totals", total=result.total, sections=len(result.sections)))]
    for code, count in result.counts.get("stance", {}).items():
        share = _share(count, result.total)
        totals.append(para(_("stance_line", label=name("stance", code), count=count, share=share)))

    breakdowns: list[Block] = []
    for dim, caption_key in CHARTS:
        counts = result.counts.get(dim, {})
        if counts:
            bars = tuple((name(dim, code), count) for code, count in counts.items())
            breakdowns.append(BarChart(t(caption_key, language), bars))
    for dim in TABLES:
        counts = result.counts.get(dim, {})
        if not counts:
            continue
        caption = t(f"api.dim.{dim}", language)
        rows = tuple(
            (name(dim, code), str(count), _share(count, result.total)) for code, count in counts.items()
        )
        breakdowns.append(Heading(caption, italic=True))
        breakdowns.append(Table((caption, t("api.xlsx.count", language), "%"), rows))

    by_section: list[Block] = []
    if not result.sections:
        by_section.append(para(_("no_opinions")))
    for section in result.sections:
        by_section.append(Heading(normalize_input(section.label)))
        stances = "; ".join(
            f"{name('stance', code)}: {count}" for code, count in section.counts.get("stance", {}).items()
        )
        by_section.append(para(_("section_total", total=section.total, stances=stances)))
        for group in section.groups[:MAX_GROUPS_PER_SECTION]:
            key = "group_many" if group.count > 1 else "group_one"
            by_section.append(para("- " + _(key, count=group.count, text=group.representative)))
        rest = sum(g.count for g in section.groups[MAX_GROUPS_PER_SECTION:])
        if rest:
            by_section.append(para(_("groups_more", count=rest), italic=True))

    return AdminDocument(
        letterhead=Letterhead(
            issuer=_("agency"),
            party=_("motto"),
            place_date=_("place_date", day=today.day, month=today.month, year=today.year),
        ),
        title=_("title"),
        subject=normalize_input(result.document_title.upper()),
        note=_("draft_mark"),
        parts=(
            Part(_("part_totals"), tuple(totals)),
            Part(_("part_breakdowns"), tuple(breakdowns)),
            Part(_("part_sections"), tuple(by_section)),
        ),
        closing=Closing(recipients=_("receiver"), signer=(_("signature"),)),
    )
