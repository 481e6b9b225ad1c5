"""Consolidation of one document's opinions: counts per section and groups of near-identical texts.

:func:`consolidation_export` lays the result out as the rows of the staff workbook, which
``formats.consolidation_xlsx`` writes.

The numbers are computed from the rows handed in (the active draft opinions of the document), so they
agree with the database by construction; the grouping is :func:`core.near_duplicates.group_near_duplicates`,
and the themes of each section are :func:`core.themes.group_themes` with the staff's stored edits applied
(:func:`core.theme_edits.apply_theme_edits`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.near_duplicates import OpinionText, count_by, group_near_duplicates
from core.theme_edits import StoredTheme, ThemeView, current_themes, section_scope
from core.themes import SentenceEmbedder

DIMENSIONS: tuple[str, ...] = ("stance", "category", "organisation", "locality", "channel")
STANCES: tuple[str, ...] = ("agree", "disagree", "partial", "other")
# Lists whose Vietnamese names label each dimension (stance and channel come from the catalog).
LIST_OF_DIMENSION = {"category": "categories", "organisation": "organisations", "locality": "localities"}


@dataclass(frozen=True)
class Group:
    representative: str
    count: int
    receipt_codes: tuple[str, ...]
    stance: str | None = None  # the stance of more than half of its members, if any (the report's verb)


@dataclass
class SectionSummary:
    section_id: int | None
    number: str | None
    title: str
    total: int
    counts: dict[str, dict[str, int]]
    groups: list[Group] = field(default_factory=list)
    themes: list[ThemeView] = field(default_factory=list)
    parents: tuple[str, ...] = ()  # the numbers (or titles) of the sections above, outermost first

    @property
    def label(self) -> str:
        return f"{self.number}. {self.title}" if self.number and self.number != self.title else self.title


@dataclass
class Consolidation:
    document_id: int
    document_code: str
    document_title: str
    total: int
    counts: dict[str, dict[str, int]]
    sections: list[SectionSummary]
    hidden: int = 0  # opinions hidden by moderation: in no figure above, counted apart

    def as_json(self) -> dict[str, Any]:
        return {
            "document": {"id": self.document_id, "code": self.document_code, "title": self.document_title},
            "total": self.total,
            "hidden": self.hidden,
            "counts": self.counts,
            "sections": [
                {
                    "section_id": s.section_id,
                    "number": s.number,
                    "title": s.title,
                    "total": s.total,
                    "counts": s.counts,
                    "groups": [
                        {
                            "representative": g.representative,
                            "count": g.count,
                            "receipt_codes": list(g.receipt_codes),
                        }
                        for g in s.groups
                    ],
                    "themes": [theme.as_json() for theme in s.themes],
                }
                for s in self.sections
            ],
        }


def _counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    return {dimension: count_by(rows, dimension) for dimension in DIMENSIONS}


def opinion_texts(rows: Sequence[Mapping[str, Any]]) -> list[OpinionText]:
    """The opinions of ``rows`` that have a text, keyed by receipt code (what is grouped)."""
    return [OpinionText(str(r["receipt_code"]), str(r["text"])) for r in rows if str(r.get("text") or "")]


def consolidate(
    *,
    document: Mapping[str, Any],
    sections: Sequence[Mapping[str, Any]],
    opinions: Sequence[Mapping[str, Any]],
    threshold: float = 0.7,
    theme_edits: Mapping[str, Sequence[StoredTheme]] | None = None,
    embedder: SentenceEmbedder | None = None,
) -> Consolidation:
    """Counts per section and overall, the groups of near-identical texts and the themes of every section.

    Sections are kept in document order; only sections with opinions are listed, plus a final
    "whole document" entry (``section_id`` ``None``) when some opinions name no section. Opinions with
    no text (a plain "agree") are counted but not grouped. ``theme_edits`` are the staff's stored
    themes by scope (:func:`core.theme_edits.section_scope`); ``embedder`` the optional sentence-embedding
    model of the themes (:class:`core.themes.SentenceEmbedder`).
    """
    by_section: dict[int | None, list[Mapping[str, Any]]] = {}
    for row in opinions:
        by_section.setdefault(row.get("section_id"), []).append(row)
    ordered: list[tuple[int | None, str | None, str]] = [
        (s["id"], s.get("number"), s["title"]) for s in sorted(sections, key=lambda s: s["ordinal"])
    ]
    ordered.append((None, None, str(document.get("title", ""))))
    parents = _parents(sections)
    summaries: list[SectionSummary] = []
    for section_id, number, title in ordered:
        rows = by_section.get(section_id)
        if not rows:
            continue
        texts = opinion_texts(rows)
        stances = {str(r["receipt_code"]): str(r.get("stance") or "") for r in rows}
        groups = group_near_duplicates(texts, threshold=threshold, workers=1) if texts else []
        stored = (theme_edits or {}).get(section_scope(int(document["id"]), section_id), ())
        themes = current_themes(texts, stored, embedder)
        summaries.append(
            SectionSummary(
                section_id=section_id,
                number=number,
                title=title,
                total=len(rows),
                counts=_counts(rows),
                groups=[
                    Group(g.representative, g.count, g.keys, _stance_of(g.keys, stances)) for g in groups
                ],
                themes=themes,
                parents=parents.get(section_id, ()) if section_id is not None else (),
            )
        )
    return Consolidation(
        document_id=int(document["id"]),
        document_code=str(document["code"]),
        document_title=str(document["title"]),
        total=len(opinions),
        counts=_counts(opinions),
        sections=summaries,
    )


def _stance_of(codes: Sequence[str], stance_by_code: Mapping[str, str]) -> str | None:
    """The stance more than half of the opinions ``codes`` took, or ``None``."""
    counts = Counter(stance_by_code.get(code, "") for code in codes)
    best, count = max(counts.items(), key=lambda item: (item[1], item[0]), default=("", 0))
    return best if best and count * 2 > len(codes) else None


def _parents(sections: Sequence[Mapping[str, Any]]) -> dict[int, tuple[str, ...]]:
    """Each section's parent path: the parents' numbers ("Phần thứ nhất"), or titles when unnumbered."""
    by_id = {s["id"]: s for s in sections}
    out: dict[int, tuple[str, ...]] = {}
    for section in sections:
        path: list[str] = []
        parent = by_id.get(section.get("parent_id"))
        while parent is not None and len(path) < len(by_id):
            path.append(str(parent.get("number") or parent["title"]))
            parent = by_id.get(parent.get("parent_id"))
        out[section["id"]] = tuple(reversed(path))
    return out


def label_of(labels: Mapping[str, Mapping[str, str]], dimension: str, code: str) -> str:
    """The Vietnamese name of a code (stance and channel names are passed under those keys too)."""
    names = labels.get(LIST_OF_DIMENSION.get(dimension, dimension), {})
    return names.get(code, code)


@dataclass(frozen=True)
class CountRow:
    """One line of the counts sheet: a section (or the whole document), a dimension, a value, a count."""

    section: str
    dimension: str
    value: str
    count: int


@dataclass(frozen=True)
class GroupRow:
    """One line of the groups sheet: a group of near-identical opinions of a section."""

    section: str
    representative: str
    count: int
    receipts: str


@dataclass(frozen=True)
class ConsolidationExport:
    """The consolidation as two tables, already worded: counts per section and dimension, and groups."""

    headers: Mapping[str, str]
    counts: list[CountRow]
    groups: list[GroupRow]


def consolidation_export(
    result: Consolidation, *, labels: Mapping[str, Mapping[str, str]], headers: Mapping[str, str]
) -> ConsolidationExport:
    """The rows of the consolidation workbook; ``headers`` names the sheets, columns and dimensions."""
    blocks = [(headers["whole_document"], result.counts)] + [(s.label, s.counts) for s in result.sections]
    counts = [
        CountRow(label, headers[f"dim.{dimension}"], label_of(labels, dimension, code), count)
        for label, block in blocks
        for dimension in DIMENSIONS
        for code, count in block.get(dimension, {}).items()
    ]
    groups = [
        GroupRow(section.label, group.representative, group.count, ", ".join(group.receipt_codes))
        for section in result.sections
        for group in section.groups
    ]
    return ConsolidationExport(headers=headers, counts=counts, groups=groups)
