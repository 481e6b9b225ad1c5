"""Reading a draft with its opinions counted: the section tree, each section with the opinions on it by
stance (and those of the sections below it), as Decidim's participatory texts show them.

The figures are those of the consolidation: active draft opinions, hidden ones counted apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from core.document_consolidation import STANCES
from core.exports import FeedbackFilters
from core.staff.documents import get_document
from core.staff.ports import StaffUnitOfWork


def _no_counts() -> dict[str, int]:
    return dict.fromkeys(STANCES, 0)


@dataclass
class SectionReading:
    """One section as read: its text, the opinions on it by stance, and the total of its subtree."""

    id: int
    parent_id: int | None
    depth: int
    number: str | None
    title: str
    body: str
    counts: dict[str, int] = field(default_factory=_no_counts)  # stance → opinions on this section
    subtree_total: int = 0  # opinions on this section and every section below it
    children: list[SectionReading] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "depth": self.depth,
            "number": self.number,
            "title": self.title,
            "body": self.body,
            "counts": self.counts,
            "total": self.total,
            "subtree_total": self.subtree_total,
            "children": [child.as_json() for child in self.children],
        }


@dataclass
class DraftReading:
    """A document's section tree with counts; ``whole_document`` holds the opinions on no section."""

    document: dict[str, Any]
    sections: list[SectionReading]
    whole_document: dict[str, int]
    total: int
    hidden: int

    def walk(self) -> Iterator[SectionReading]:
        """Every section in reading order (depth first), for a flat page."""
        stack = list(reversed(self.sections))
        while stack:
            section = stack.pop()
            yield section
            stack.extend(reversed(section.children))

    def as_json(self) -> dict[str, Any]:
        return {
            "document": {k: self.document[k] for k in ("id", "code", "title", "status")},
            "total": self.total,
            "hidden": self.hidden,
            "whole_document": self.whole_document,
            "sections": [s.as_json() for s in self.sections],
        }


async def read_draft_with_counts(*, uow: StaffUnitOfWork, document_id: int) -> DraftReading:
    """The document's section tree with, beside each section, its opinions by stance."""
    document = await get_document(uow=uow, document_id=document_id)
    rows = sorted(document.pop("sections"), key=lambda s: s["ordinal"])
    by_id: dict[int, SectionReading] = {
        int(r["id"]): SectionReading(
            id=int(r["id"]),
            parent_id=r.get("parent_id"),
            depth=int(r.get("depth") or 1),
            number=r.get("number"),
            title=str(r["title"]),
            body=str(r.get("body") or ""),
        )
        for r in rows
    }
    whole = _no_counts()
    total = 0
    for _code, section_id, stance, count in await uow.views.counts_by_section_and_stance(
        FeedbackFilters(document_id=document_id)
    ):
        target = whole if section_id is None or section_id not in by_id else by_id[section_id].counts
        target[str(stance)] = target.get(str(stance), 0) + count
        total += count
    roots: list[SectionReading] = []
    for r in rows:
        section = by_id[int(r["id"])]
        parent = by_id.get(section.parent_id) if section.parent_id is not None else None
        (parent.children if parent is not None else roots).append(section)

    def fill(section: SectionReading) -> int:
        section.subtree_total = section.total + sum(fill(child) for child in section.children)
        return section.subtree_total

    for root in roots:
        fill(root)
    hidden = await uow.views.count_hidden_opinions(document_id)
    return DraftReading(document=document, sections=roots, whole_document=whole, total=total, hidden=hidden)
