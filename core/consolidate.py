"""Consolidation of one document's opinions: counts per section and groups of near-identical texts.

The numbers are computed from the rows handed in (the active draft opinions of the document), so they
agree with the database by construction; the grouping is :func:`core.consolidation.group_near_duplicates`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.consolidation import OpinionText, count_by, group_near_duplicates
from core.exports import escape_formula

DIMENSIONS: tuple[str, ...] = ("stance", "category", "organisation", "locality", "channel")
STANCES: tuple[str, ...] = ("agree", "disagree", "partial", "other")
# Lists whose Vietnamese names label each dimension (stance and channel come from the catalog).
LIST_OF_DIMENSION = {"category": "categories", "organisation": "organisations", "locality": "localities"}


@dataclass(frozen=True)
class Group:
    representative: str
    count: int
    receipt_codes: tuple[str, ...]


@dataclass
class SectionSummary:
    section_id: int | None
    number: str | None
    title: str
    total: int
    counts: dict[str, dict[str, int]]
    groups: list[Group] = field(default_factory=list)

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

    def as_json(self) -> dict[str, Any]:
        return {
            "document": {"id": self.document_id, "code": self.document_code, "title": self.document_title},
            "total": self.total,
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
                }
                for s in self.sections
            ],
        }


def _counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    return {dimension: count_by(rows, dimension) for dimension in DIMENSIONS}


def consolidate(
    *,
    document: Mapping[str, Any],
    sections: Sequence[Mapping[str, Any]],
    opinions: Sequence[Mapping[str, Any]],
    threshold: float = 0.7,
) -> Consolidation:
    """Counts per section and overall, and the groups of near-identical texts of every section.

    Sections are kept in document order; only sections with opinions are listed, plus a final
    "whole document" entry (``section_id`` ``None``) when some opinions name no section. Opinions with
    no text (a plain "agree") are counted but not grouped.
    """
    by_section: dict[int | None, list[Mapping[str, Any]]] = {}
    for row in opinions:
        by_section.setdefault(row.get("section_id"), []).append(row)
    ordered: list[tuple[int | None, str | None, str]] = [
        (s["id"], s.get("number"), s["title"]) for s in sorted(sections, key=lambda s: s["ordinal"])
    ]
    ordered.append((None, None, str(document.get("title", ""))))
    summaries: list[SectionSummary] = []
    for section_id, number, title in ordered:
        rows = by_section.get(section_id)
        if not rows:
            continue
        texts = [
            OpinionText(str(r["receipt_code"]), str(r["text"])) for r in rows if str(r.get("text") or "")
        ]
        groups = group_near_duplicates(texts, threshold=threshold, workers=1) if texts else []
        summaries.append(
            SectionSummary(
                section_id=section_id,
                number=number,
                title=title,
                total=len(rows),
                counts=_counts(rows),
                groups=[Group(g.representative, g.count, g.keys) for g in groups],
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


def label_of(labels: Mapping[str, Mapping[str, str]], dimension: str, code: str) -> str:
    """The Vietnamese name of a code (stance and channel names are passed under those keys too)."""
    names = labels.get(LIST_OF_DIMENSION.get(dimension, dimension), {})
    return names.get(code, code)


def write_consolidation_xlsx(
    result: Consolidation, path: Path, *, labels: Mapping[str, Mapping[str, str]], headers: Mapping[str, str]
) -> None:
    """A workbook: one sheet of counts (per section and dimension), one of groups."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    counts = workbook.add_worksheet(headers["counts_sheet"])
    counts.write_row(0, 0, [headers[k] for k in ("section", "dimension", "value", "count")], bold)
    row = 1
    blocks = [(headers["whole_document"], result.counts)] + [(s.label, s.counts) for s in result.sections]
    for label, block in blocks:
        for dimension in DIMENSIONS:
            for code, count in block.get(dimension, {}).items():
                counts.write_string(row, 0, escape_formula(label))
                counts.write_string(row, 1, headers[f"dim.{dimension}"])
                counts.write_string(row, 2, escape_formula(label_of(labels, dimension, code)))
                counts.write_number(row, 3, count)
                row += 1
    counts.set_column(0, 0, 50)
    counts.set_column(1, 2, 30)
    groups = workbook.add_worksheet(headers["groups_sheet"])
    groups.write_row(0, 0, [headers[k] for k in ("section", "representative", "count", "receipts")], bold)
    row = 1
    for section in result.sections:
        for group in section.groups:
            groups.write_string(row, 0, escape_formula(section.label), wrap)
            groups.write_string(row, 1, escape_formula(group.representative), wrap)
            groups.write_number(row, 2, group.count)
            groups.write_string(row, 3, ", ".join(group.receipt_codes), wrap)
            row += 1
    groups.set_column(0, 0, 40)
    groups.set_column(1, 1, 80)
    groups.set_column(3, 3, 40)
    workbook.close()
