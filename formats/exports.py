"""The feedback export as files: CSV (UTF-8 with a BOM), JSON Lines and XLSX, page by page.

Every encoder takes the pages of plain rows that :func:`core.exports.present_row` makes (``dict`` keyed
by :data:`core.exports.EXPORT_COLUMNS`), so an export of any size runs in constant memory: CSV and JSONL
turn each page into bytes, XLSX writes worksheet rows straight to disk (XlsxWriter ``constant_memory``).
The columns and headers come from an :class:`core.exports.ExportLayout` (machine codes by default, or
the worded layout of a file for people). Formula-looking text is neutralised: the CSV prefixes it with
an apostrophe (OWASP), the XLSX stores it as a text cell (``write_string``, nothing added to the value).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from core.exports import CODES_LAYOUT, EXPORT_COLUMNS, FORMULA_TRIGGERS, ExportLayout

XLSX_MAX_ROWS = 1_048_576
"""Rows of one worksheet in Excel (the header row included)."""


def escape_formula(value: str) -> str:
    """Neutralise a spreadsheet formula: a cell starting with = + - @ (or TAB / CR) gets a leading '."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


# one encoder for every line (json.dumps with options builds a new JSONEncoder on each call)
_json = json.JSONEncoder(ensure_ascii=False).encode

CSV_TIME = "%Y-%m-%d %H:%M:%S"
"""Local times in a CSV for people: what Excel and LibreOffice read as a date and time."""
XLSX_TIME = "dd/mm/yyyy hh:mm"

# Widths (in characters) of the spreadsheet columns; a column not named here gets DEFAULT_WIDTH.
WIDTHS = {
    "receipt_code": 12,
    "kind": 18,
    "document_code": 14,
    "section": 45,
    "section_number": 10,
    "section_title": 40,
    "stance": 20,
    "text": 70,
    "respondent": 16,
    "category": 24,
    "organisation": 26,
    "locality": 24,
    "unit_code": 32,
    "created_at": 17,
    "updated_at": 17,
    "withdrawn_at": 17,
}
DEFAULT_WIDTH = 14
WRAPPED = ("text", "section", "section_title")


def _cell(value: Any) -> str:
    if value.__class__ is str:  # most cells: no conversion, only the formula check
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(CSV_TIME)
    return escape_formula(str(value))


def csv_header(layout: ExportLayout = CODES_LAYOUT) -> bytes:
    """The first bytes of a CSV export: the UTF-8 BOM (Excel then reads Vietnamese right) and the headers."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(layout.headers)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


async def csv_chunks(
    pages: AsyncIterable[Iterable[Mapping[str, Any]]], layout: ExportLayout = CODES_LAYOUT
) -> AsyncIterator[bytes]:
    """CSV in UTF-8 with a BOM (Excel then reads Vietnamese right), one chunk per page, formulas escaped."""
    yield csv_header(layout)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    async for page in pages:
        buffer.seek(0)
        buffer.truncate()
        columns = layout.columns
        writer.writerows([_cell(get(c)) for c in columns] for get in (row.get for row in page))
        if buffer.tell():
            yield buffer.getvalue().encode("utf-8")


async def jsonl_chunks(pages: AsyncIterable[Iterable[Mapping[str, Any]]]) -> AsyncIterator[bytes]:
    """JSON Lines, one object per entry (values as stored: JSON is not a spreadsheet)."""
    async for page in pages:
        lines = [_json({c: row.get(c) for c in EXPORT_COLUMNS}) for row in page]
        if lines:
            yield ("\n".join(lines) + "\n").encode("utf-8")


class XlsxExport:
    """An XLSX workbook written row by row to ``path`` in XlsxWriter's constant-memory mode.

    Data sheets roll over to a new sheet when one is full (``max_rows`` rows, header included); each has
    a bold frozen header with an autofilter, column widths, wrapped long text, real dates (local time).
    :meth:`close` adds the sheet of counts per section and stance.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = XLSX_MAX_ROWS,
        layout: ExportLayout = CODES_LAYOUT,
    ) -> None:
        import xlsxwriter

        if max_rows < 2:
            raise ValueError("max_rows must leave room for a header and a row")
        self.workbook = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        self.header = self.workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        self.wrap = self.workbook.add_format({"text_wrap": True, "valign": "top"})
        self.top = self.workbook.add_format({"valign": "top"})
        self.date = self.workbook.add_format({"num_format": XLSX_TIME, "valign": "top"})
        self.layout = layout
        self.max_rows = max_rows
        self.sheets = 0
        self.rows = 0
        self._row = max_rows  # forces a sheet on the first row
        self._sheet: Any = None
        self._formats = [self.wrap if c in WRAPPED else self.top for c in layout.columns]

    def _finish_sheet(self) -> None:
        if self._sheet is not None:
            self._sheet.autofilter(0, 0, max(self._row - 1, 0), len(self.layout.columns) - 1)

    def _new_sheet(self) -> None:
        self._finish_sheet()
        self.sheets += 1
        name = self.layout.data_sheet
        self._sheet = self.workbook.add_worksheet(name if self.sheets == 1 else f"{name} ({self.sheets})")
        for col, column in enumerate(self.layout.columns):
            self._sheet.set_column(col, col, WIDTHS.get(column, DEFAULT_WIDTH))
        self._sheet.write_row(0, 0, self.layout.headers, self.header)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        # Per cell: one class check for a text cell (most of them; "=1+1" stays text, nothing added to
        # it), the column's format looked up once per page, and XlsxWriter's undecorated writers (the
        # public ones first convert "A1" arguments: a third of the cost of a cell); the public ones where
        # a version of XlsxWriter lacks them.
        plan = list(enumerate(zip(self.layout.columns, self._formats, strict=True)))
        date = self.date
        sheet: Any = None
        for row in rows:
            if self._row >= self.max_rows:
                self._new_sheet()
            if sheet is not self._sheet:
                sheet = self._sheet
                string = getattr(sheet, "_write_string", sheet.write_string)
                number = getattr(sheet, "_write_number", sheet.write_number)
                moment = getattr(sheet, "_write_datetime", sheet.write_datetime)
            get = row.get
            at = self._row
            for col, (column, fmt) in plan:
                value = get(column)
                if value is None:
                    continue
                if value.__class__ is str:
                    string(at, col, value, fmt)
                elif isinstance(value, datetime):
                    moment(at, col, value.replace(tzinfo=None), date)
                elif isinstance(value, bool | int | float):
                    number(at, col, value, fmt)
                else:
                    string(at, col, str(value), fmt)
            self._row = at + 1
            self.rows += 1

    def close(self, counts: Iterable[tuple[str, str, str, int]]) -> None:
        """Add the counts sheet (document, section, stance, count) and finish the file."""
        if self._sheet is None:
            self._new_sheet()
        self._finish_sheet()
        sheet = self.workbook.add_worksheet(self.layout.counts_sheet)
        for col, width in enumerate((14, 60, 22, 10)):
            sheet.set_column(col, col, width)
        sheet.write_row(0, 0, self.layout.counts_headers, self.header)
        sheet.freeze_panes(1, 0)
        index = 0
        for index, (document, section, stance, count) in enumerate(counts, start=1):
            sheet.write_string(index, 0, document, self.top)
            sheet.write_string(index, 1, section, self.wrap)
            sheet.write_string(index, 2, stance, self.top)
            sheet.write_number(index, 3, count, self.top)
        sheet.autofilter(0, 0, index, 3)
        self.workbook.close()
