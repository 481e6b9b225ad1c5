"""Exports of the gathered entries: filters, columns, pseudonyms, and CSV / JSONL / XLSX encoders.

Everything here works on plain rows (``dict``) delivered page by page, so an export of any size runs
in constant memory: the encoders turn each page into bytes (CSV, JSONL) or into worksheet rows written
straight to disk (XLSX, XlsxWriter ``constant_memory`` mode).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core import errors
from core.domain import Channel, FeedbackKind, FeedbackStatus, Source, Stance

XLSX_MAX_ROWS = 1_048_576
"""Rows of one worksheet in Excel (the header row included)."""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_TEXT_FILTER = 200


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"

    @property
    def media_type(self) -> str:
        return {
            ExportFormat.CSV: "text/csv; charset=utf-8",
            ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ExportFormat.JSONL: "application/x-ndjson",
        }[self]


@dataclass(frozen=True)
class FeedbackFilters:
    """The filters shared by the list endpoint, every export and ``gopy export feedback``.

    ``None`` means "no filter". ``created_from`` is inclusive, ``created_to`` exclusive;
    ``text_contains`` matches the folded text (case, tone-mark placement and punctuation ignored).
    """

    kind: FeedbackKind | None = None
    document_id: int | None = None
    section_id: int | None = None
    stance: Stance | None = None
    category: str | None = None
    organisation: str | None = None
    locality: str | None = None
    channel: Channel | None = None
    source: Source | None = None
    status: FeedbackStatus | None = None
    congress_id: int | None = None
    period_id: int | None = None
    topic: str | None = None
    unit_code: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text_contains: str | None = None

    def __post_init__(self) -> None:
        for name in ("created_from", "created_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise errors.InvalidQuery(field=name, reason="timezone")
        if self.created_from and self.created_to and self.created_from >= self.created_to:
            raise errors.InvalidQuery(field="created_to", reason="range")
        if self.text_contains is not None and len(self.text_contains) > MAX_TEXT_FILTER:
            raise errors.InvalidQuery(field="text_contains", reason="too_long")

    def as_audit(self) -> dict[str, Any]:
        """The filters actually set, JSON-ready, for the audit log."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if value is None:
                continue
            out[key] = value.isoformat() if isinstance(value, datetime) else str(value)
        return out

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


# Columns of every export, in order. ``respondent`` is a pseudonym unless the key may read PII.
EXPORT_COLUMNS: tuple[str, ...] = (
    "receipt_code",
    "kind",
    "document_code",
    "section_number",
    "section_title",
    "stance",
    "text",
    "respondent",
    "category",
    "organisation",
    "locality",
    "age_band",
    "gender",
    "channel",
    "source",
    "status",
    "congress_code",
    "period_code",
    "topic",
    "unit_code",
    "created_at",
    "updated_at",
    "withdrawn_at",
)


def pseudonym(*, key: str, respondent_id: int | None) -> str | None:
    """A stable pseudonym of a respondent: the same person always gets the same ``R-…`` code."""
    if respondent_id is None:
        return None
    digest = hmac.new(key.encode(), f"respondent:{respondent_id}".encode(), hashlib.sha256).hexdigest()
    return "R-" + digest[:12].upper()


def escape_formula(value: str) -> str:
    """Neutralise a spreadsheet formula: a cell starting with = + - @ (or TAB / CR) gets a leading '."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def present_row(row: Mapping[str, Any], *, pii: bool, hash_key: str, tz: ZoneInfo) -> dict[str, Any]:
    """One export row from a storage row: pseudonymised respondent, local ISO 8601 times."""
    out: dict[str, Any] = {}
    for column in EXPORT_COLUMNS:
        if column == "respondent":
            rid = row.get("respondent_id")
            value: Any = (
                (rid if rid is None else str(rid)) if pii else pseudonym(key=hash_key, respondent_id=rid)
            )
        else:
            value = row.get(column)
        if isinstance(value, datetime):
            value = value.astimezone(tz).isoformat()
        elif isinstance(value, StrEnum):
            value = value.value
        out[column] = value
    return out


def _cell(value: Any) -> str:
    return "" if value is None else escape_formula(str(value))


async def csv_chunks(pages: AsyncIterable[Iterable[Mapping[str, Any]]]) -> AsyncIterator[bytes]:
    """CSV in UTF-8 with a BOM (Excel then reads Vietnamese right), one chunk per page, formulas escaped."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    async for page in pages:
        buffer.seek(0)
        buffer.truncate()
        for row in page:
            writer.writerow([_cell(row.get(c)) for c in EXPORT_COLUMNS])
        if buffer.tell():
            yield buffer.getvalue().encode("utf-8")


async def jsonl_chunks(pages: AsyncIterable[Iterable[Mapping[str, Any]]]) -> AsyncIterator[bytes]:
    """JSON Lines, one object per entry (values as stored: JSON is not a spreadsheet)."""
    async for page in pages:
        lines = [json.dumps({c: row.get(c) for c in EXPORT_COLUMNS}, ensure_ascii=False) for row in page]
        if lines:
            yield ("\n".join(lines) + "\n").encode("utf-8")


class XlsxExport:
    """An XLSX workbook written row by row to ``path`` in XlsxWriter's constant-memory mode.

    Data sheets roll over to a new sheet when one is full (``max_rows`` rows, header included);
    :meth:`close` adds the sheet of counts per section and stance.
    """

    def __init__(self, path: Path, *, max_rows: int = XLSX_MAX_ROWS, sheet_name: str = "Ý kiến") -> None:
        import xlsxwriter

        if max_rows < 2:
            raise ValueError("max_rows must leave room for a header and a row")
        self.workbook = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        self.bold = self.workbook.add_format({"bold": True})
        self.max_rows = max_rows
        self.sheet_name = sheet_name
        self.sheets = 0
        self.rows = 0
        self._row = max_rows  # forces a sheet on the first row
        self._sheet: Any = None

    def _new_sheet(self) -> None:
        self.sheets += 1
        name = self.sheet_name if self.sheets == 1 else f"{self.sheet_name} ({self.sheets})"
        self._sheet = self.workbook.add_worksheet(name)
        self._sheet.write_row(0, 0, EXPORT_COLUMNS, self.bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            if self._row >= self.max_rows:
                self._new_sheet()
            values = [row.get(c) for c in EXPORT_COLUMNS]
            for col, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, bool | int | float):
                    self._sheet.write_number(self._row, col, value)
                else:
                    self._sheet.write_string(self._row, col, escape_formula(str(value)))
            self._row += 1
            self.rows += 1

    def close(self, counts: Iterable[tuple[str, str, int]], *, summary_name: str = "Thống kê") -> None:
        """Add the counts sheet (section, stance, count) and finish the file."""
        if self._sheet is None:
            self._new_sheet()
        sheet = self.workbook.add_worksheet(summary_name)
        sheet.write_row(0, 0, ("section", "stance", "count"), self.bold)
        for index, (section, stance, count) in enumerate(counts, start=1):
            sheet.write_string(index, 0, escape_formula(section))
            sheet.write_string(index, 1, escape_formula(stance))
            sheet.write_number(index, 2, count)
        self.workbook.close()


def parse_cursor(cursor: str | None) -> int | None:
    """Decode the opaque pagination cursor (the last id seen); a malformed one is an InvalidQuery."""
    if cursor is None or cursor == "":
        return None
    import base64
    import binascii

    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        data = json.loads(raw)
        last = data["after"] if isinstance(data, dict) else None
    except (ValueError, UnicodeError, binascii.Error, KeyError, TypeError) as exc:
        raise errors.InvalidQuery(field="cursor", reason="malformed") from exc
    if not isinstance(last, int) or isinstance(last, bool) or not 0 <= last < 2**62:
        raise errors.InvalidQuery(field="cursor", reason="malformed")
    return last


def make_cursor(last_id: int) -> str:
    """The opaque cursor that continues after ``last_id``."""
    import base64

    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")
