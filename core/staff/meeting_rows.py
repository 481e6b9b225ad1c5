"""Opinions gathered at meetings: the template's columns and the checking of its rows (pure rules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from core.domain import Stance
from core.text import fold_for_matching, normalize_input, text_length

MEETING_COLUMNS: tuple[str, ...] = (
    "document_code",
    "section_id",
    "stance",
    "text",
    "category",
    "organisation",
    "locality",
    "unit_code",
    "meeting_date",
)
"""Header row of the meeting template (machine codes; the template's second sheet explains them)."""

MAX_MEETING_ROWS = 20_000

_STANCE_WORDS = {
    fold_for_matching(word): stance
    for stance, words in {
        Stance.AGREE: ("agree", "tán thành", "đồng ý"),
        Stance.DISAGREE: ("disagree", "không tán thành", "không đồng ý"),
        Stance.PARTIAL: ("partial", "đồng ý một phần", "tán thành một phần"),
        Stance.OTHER: ("other", "ý kiến khác", "đề xuất", "ý kiến khác đề xuất"),
    }.items()
    for word in words
}


@dataclass(frozen=True)
class MeetingContext:
    """What the rows are checked against: documents (code → id, section ids), the lists, limits."""

    documents: Mapping[str, int]
    sections: Mapping[int, int]  # section id → document id
    lists: Mapping[str, set[str]]  # categories, organisations, localities
    max_length: int
    tz: ZoneInfo
    now: datetime
    max_rows: int = MAX_MEETING_ROWS


@dataclass(frozen=True)
class MeetingEntry:
    row: int
    document_id: int
    section_id: int | None
    stance: Stance
    text: str
    category: str | None
    organisation: str | None
    locality: str | None
    unit_code: str
    created_at: datetime


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalize_input(str(value))


def _meeting_time(value: Any, ctx: MeetingContext) -> datetime | None:
    if value is None or value == "":
        return ctx.now
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(_str(value))
        except ValueError:
            return None
    at = datetime.combine(day, time(12, 0), ctx.tz)
    return at if at <= ctx.now else None


def check_meeting_rows(
    rows: Sequence[Sequence[Any]], ctx: MeetingContext
) -> tuple[list[MeetingEntry], list[RowError]]:
    """Check every data row (row 2 onwards of the sheet); return the entries and every error found.

    The caller imports the entries only when there is no error at all (all or nothing).
    """
    entries: list[MeetingEntry] = []
    problems: list[RowError] = []
    if len(rows) > ctx.max_rows:
        return [], [RowError(ctx.max_rows + 2, "*", "too_many_rows")]
    for offset, raw in enumerate(rows):
        number = offset + 2
        cells = {name: (raw[i] if i < len(raw) else None) for i, name in enumerate(MEETING_COLUMNS)}
        if all(_str(v) == "" for v in cells.values()):
            continue
        found: list[RowError] = []
        doc_id = ctx.documents.get(_str(cells["document_code"]))
        if doc_id is None:
            found.append(RowError(number, "document_code", "unknown_document"))
        section_id: int | None = None
        section_text = _str(cells["section_id"])
        if section_text:
            try:
                section_id = int(section_text)
            except ValueError:
                found.append(RowError(number, "section_id", "not_a_number"))
            else:
                if doc_id is not None and ctx.sections.get(section_id) != doc_id:
                    found.append(RowError(number, "section_id", "unknown_section"))
        stance = _STANCE_WORDS.get(fold_for_matching(_str(cells["stance"])))
        if stance is None:
            found.append(RowError(number, "stance", "unknown_stance"))
        text = _str(cells["text"])
        if stance is not None and stance.text_required and not text:
            found.append(RowError(number, "text", "text_required"))
        if text_length(text) > ctx.max_length:
            found.append(RowError(number, "text", "text_too_long"))
        codes: dict[str, str | None] = {}
        for column, list_name in (
            ("category", "categories"),
            ("organisation", "organisations"),
            ("locality", "localities"),
        ):
            code = _str(cells[column]) or None
            if code is not None and code not in ctx.lists.get(list_name, set()):
                found.append(RowError(number, column, "unknown_code"))
            codes[column] = code
        unit_code = _str(cells["unit_code"])
        if not unit_code or len(unit_code) > 64:
            found.append(RowError(number, "unit_code", "unit_required"))
        created_at = _meeting_time(cells["meeting_date"], ctx)
        if created_at is None:
            found.append(RowError(number, "meeting_date", "bad_date"))
        if found:
            problems.extend(found)
            continue
        assert doc_id is not None and stance is not None and created_at is not None
        entries.append(
            MeetingEntry(
                row=number,
                document_id=doc_id,
                section_id=section_id,
                stance=stance,
                text=text,
                category=codes["category"],
                organisation=codes["organisation"],
                locality=codes["locality"],
                unit_code=unit_code,
                created_at=created_at,
            )
        )
    if not entries and not problems:
        problems.append(RowError(2, "*", "no_rows"))
    return entries, problems
