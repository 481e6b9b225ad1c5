"""The synthesis report of one document ("Báo cáo tổng hợp ý kiến góp ý của Nhân dân vào dự thảo …").

Built from a :class:`~core.document_consolidation.Consolidation` as an :class:`~core.admin_document.AdminDocument`:
I. the totals by stance; II. two bar charts and the tables by category, organisation, locality and
channel; III. each section under its parent path: its themes of two opinions or more (staff name, else
key phrases; :mod:`core.theme_edits`), each with its count and its representative wordings, then the
groups no theme gathered, every wording phrased by its share ("Đa số ý kiến …", "Nhiều ý kiến …", "Một
số ý kiến …", "Có ý kiến …") with a reporting verb that fits it (:mod:`core.report_phrases`) and the
representative text in indirect speech; IV. the assessment, left for staff. Nothing is hidden: every
group of two or more, every single opinion and every theme of two or more is listed in the appendices,
whatever the body had room for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from core.admin_document import (
    ROMAN,
    AdminDocument,
    BarChart,
    Block,
    Heading,
    Issuer,
    Paragraph,
    Part,
    Table,
    closing_of,
    letterhead_of,
)
from core.document_consolidation import Consolidation, Group, SectionSummary, label_of
from core.i18n import t
from core.report_phrases import Wording, reported_themes, theme_blocks, theme_wordings
from core.report_phrases import phrase as phrase_wording
from core.text import fold_for_matching, normalize_input
from core.theme_edits import ThemeView

MAX_GROUPS_PER_SECTION = 10  # groups of two or more worded in the body; all of them are in appendix 1
MAX_SINGLES_PER_SECTION = 5  # single opinions worded in the body; all of them are in appendix 2
MAX_THEMES_PER_SECTION = 8  # themes of two or more with a heading in the body; all of them in an appendix
MAX_WORDINGS_PER_THEME = 3  # representative wordings worded under a theme's heading
CHARTS = (("stance", "report.synthesis.chart_stance"), ("category", "report.synthesis.chart_category"))
TABLES = ("category", "organisation", "locality", "channel")
PATH_MARK = " › "


def share(count: int, total: int, language: str = "vi") -> str:
    """A percentage with one decimal, a decimal comma in Vietnamese."""
    text = f"{(100.0 * count / total):.1f}" if total else "0"
    return text.replace(".", ",") if language == "vi" else text


def phrase(group: Group, total: int, issuer: Issuer, language: str = "vi") -> str:
    """One group as official syntheses write it, e.g. "Đa số ý kiến (5/6 ý kiến) đề nghị …" (the verb
    by :func:`core.report_phrases.reporting_verb`)."""
    return phrase_wording(_wording(group), total, issuer, language)


def _wording(group: Group) -> Wording:
    return Wording(group.representative, group.count, group.receipt_codes, group.stance)


def _wordings(section: SectionSummary) -> list[Wording]:
    return [_wording(g) for g in section.groups]


def section_path(section: SectionSummary, language: str = "vi") -> str:
    """The section under its parents ("Phần thứ nhất › 1. Về phát triển kinh tế"); the opinions on the
    whole draft under their own name."""
    if section.section_id is None:
        return t("report.synthesis.whole_document", language)
    return normalize_input(PATH_MARK.join((*section.parents, section.label)))


def subject_of(title: str, language: str = "vi") -> str:
    """The subject in capitals; "dự thảo" is not repeated when the draft's title already says it."""
    title = normalize_input(title)
    key = "subject_of_draft" if "dự thảo" in fold_for_matching(title) else "subject"
    return normalize_input(t(f"report.synthesis.{key}", language, title=title)).upper()


def synthesis_report(
    result: Consolidation,
    *,
    labels: Mapping[str, Mapping[str, str]],
    today: datetime,
    issuer: Issuer,
    language: str = "vi",
) -> AdminDocument:
    """The report of ``result`` dated ``today`` (a local time), its names taken from ``labels``."""

    def _(key: str, **params: object) -> str:
        return t(f"report.synthesis.{key}", language, **params)

    def name(dim: str, code: str) -> str:  # stored names and titles may predate input normalisation
        return normalize_input(label_of(labels, dim, code))

    empty = not result.total
    totals: list[Block] = [Paragraph(_("totals", total=result.total, sections=len(result.sections)))]
    for code, count in result.counts.get("stance", {}).items():
        totals.append(
            Paragraph(
                _(
                    "stance_line",
                    label=name("stance", code),
                    count=count,
                    share=share(count, result.total, language),
                )
            )
        )

    breakdowns: list[Block] = []
    for dim, caption_key in CHARTS:
        counts = result.counts.get(dim, {})
        if counts and not empty:
            breakdowns.append(
                BarChart(t(caption_key, language), tuple((name(dim, c), n) for c, n in counts.items()))
            )
    for number, dim in enumerate((d for d in TABLES if result.counts.get(d) and not empty), start=1):
        counts = result.counts[dim]
        heading = t(f"api.dim.{dim}", language)
        breakdowns.append(
            Table(
                headings=(_("col_no"), heading, _("col_count"), _("col_share")),
                rows=tuple(
                    (str(i), name(dim, code), str(n), share(n, result.total, language))
                    for i, (code, n) in enumerate(counts.items(), start=1)
                ),
                widths_cm=(1.5, 9.0, 3.0, 3.0),
                caption=_("table_caption", number=number, dimension=heading.lower()),
                total=("", _("total_row"), str(result.total), share(result.total, result.total, language)),
            )
        )
    if not breakdowns:
        breakdowns.append(Paragraph(_("no_opinions")))

    by_section: list[Block] = []
    if not result.sections:
        by_section.append(Paragraph(_("no_opinions")))
    for section in result.sections:
        by_section.extend(_section_blocks(section, issuer, language))

    assessment: list[Block] = [Paragraph(_("assessment_placeholder"), italic=True)]
    parts: list[tuple[str, list[Block]]] = [
        ("part_totals", totals),
        ("part_breakdowns", breakdowns),
        ("part_sections", by_section),
        ("part_assessment", assessment),
    ]
    appendices = _appendices(result, language)
    return AdminDocument(
        letterhead=letterhead_of(issuer, today, language),
        title=_("title"),
        subject=subject_of(result.document_title, language),
        note=t("report.draft_mark", language),
        intro=(_("intro", title=normalize_input(result.document_title)),),
        parts=tuple(Part(f"{ROMAN[i]}. {_(key)}", tuple(blocks)) for i, (key, blocks) in enumerate(parts)),
        closing=closing_of(issuer, language),
        appendices=appendices,
        generator=issuer.generator,
    )


def _section_blocks(section: SectionSummary, issuer: Issuer, language: str) -> list[Block]:
    """A section: its total, then each theme of two or more (a heading, its representative wordings),
    then the groups and single opinions no theme gathered; whatever the body has no room for is
    counted and left to the appendices."""

    def _(key: str, **params: object) -> str:
        return t(f"report.synthesis.{key}", language, **params)

    stances = "; ".join(
        f"{t(f'api.stance.{code}', language)}: {count}"
        for code, count in section.counts.get("stance", {}).items()
    )
    blocks: list[Block] = [
        Heading(section_path(section, language)),
        Paragraph(_("section_total", total=section.total, stances=stances)),
    ]
    without_text = section.total - sum(g.count for g in section.groups)
    if without_text:
        blocks.append(Paragraph(_("without_text", count=without_text)))
    wordings = _wordings(section)
    themes = reported_themes(section.themes, wordings)
    if themes:
        blocks.append(Paragraph(_("themes_intro", count=len(themes))))
    body = theme_blocks(
        themes,
        wordings,
        total=section.total,
        issuer=issuer,
        language=language,
        max_themes=MAX_THEMES_PER_SECTION,
        max_wordings=MAX_WORDINGS_PER_THEME,
    )
    blocks.extend(body.blocks)
    if len(themes) > len(body.shown):
        more = themes[len(body.shown) :]
        blocks.append(
            Paragraph(_("more_themes", count=len(more), opinions=sum(th.count for th in more)), italic=True)
        )
    remaining = list(body.remaining)
    if themes and remaining:
        blocks.append(Heading(_("other_opinions"), italic=True))
    repeated = [w for w in remaining if w.count > 1]
    singles = [w for w in remaining if w.count == 1]
    for wording in repeated[:MAX_GROUPS_PER_SECTION] + singles[:MAX_SINGLES_PER_SECTION]:
        blocks.append(Paragraph("- " + phrase_wording(wording, section.total, issuer, language)))
    more_groups = repeated[MAX_GROUPS_PER_SECTION:]
    more_singles = singles[MAX_SINGLES_PER_SECTION:]
    if more_groups or more_singles:
        blocks.append(
            Paragraph(
                _(
                    "rest_in_appendix",
                    groups=len(more_groups),
                    grouped=sum(g.count for g in more_groups),
                    singles=len(more_singles),
                ),
                italic=True,
            )
        )
    return blocks


def _appendices(result: Consolidation, language: str) -> tuple[Part, ...]:
    """Every group of two or more; every single opinion (with its receipt); every theme reported
    (:func:`core.report_phrases.reported_themes`) with its most frequent wording; each when any."""

    def _(key: str, **params: object) -> str:
        return t(f"report.synthesis.{key}", language, **params)

    repeated = [(s, g) for s in result.sections for g in s.groups if g.count > 1]
    singles = [(s, g) for s in result.sections for g in s.groups if g.count == 1]
    parts: list[Part] = []
    if repeated:
        rows = tuple(
            (str(i), section_path(s, language), normalize_input(g.representative), str(g.count))
            for i, (s, g) in enumerate(repeated, start=1)
        )
        grouped = sum(g.count for _s, g in repeated)
        table = Table(
            headings=(_("col_no"), _("col_section"), _("col_text"), _("col_count")),
            rows=rows,
            widths_cm=(1.5, 4.3, 8.2, 2.5),
            caption=_("appendix_groups_caption", groups=len(repeated), count=grouped),
            total=("", _("total_row"), _("groups_total", groups=len(repeated)), str(grouped)),
        )
        parts.append(Part(_("appendix_groups", number=len(parts) + 1), (table,)))
    if singles:
        rows = tuple(
            (str(i), section_path(s, language), normalize_input(g.representative), g.receipt_codes[0])
            for i, (s, g) in enumerate(singles, start=1)
        )
        table = Table(
            headings=(_("col_no"), _("col_section"), _("col_text"), _("col_receipt")),
            rows=rows,
            widths_cm=(1.5, 4.3, 7.7, 3.0),
            caption=_("appendix_singles_caption", count=len(singles)),
            total=("", _("total_row"), _("singles_total", count=len(singles)), ""),
        )
        parts.append(Part(_("appendix_singles", number=len(parts) + 1), (table,)))
    themes = [(s, th) for s in result.sections for th in reported_themes(s.themes, _wordings(s))]
    if themes:
        theme_rows = tuple(
            (
                str(i),
                section_path(s, language),
                normalize_input(th.label) if th.edited else (th.label or t("report.theme.unnamed", language)),
                _example(s, th),
                str(th.count),
            )
            for i, (s, th) in enumerate(themes, start=1)
        )
        counted = sum(th.count for _s, th in themes)
        table = Table(
            headings=(_("col_no"), _("col_section"), _("col_theme"), _("col_example"), _("col_count")),
            rows=theme_rows,
            widths_cm=(1.2, 3.5, 4.0, 5.8, 2.0),
            caption=_("appendix_themes_caption", themes=len(themes), count=counted),
            total=("", _("total_row"), _("themes_total", themes=len(themes)), "", str(counted)),
        )
        parts.append(Part(_("appendix_themes", number=len(parts) + 1), (table,)))
    return tuple(parts)


def _example(section: SectionSummary, theme: ThemeView) -> str:
    """The theme's most frequent wording."""
    inside = theme_wordings(theme, _wordings(section))
    return normalize_input(inside[0].representative) if inside else ""
