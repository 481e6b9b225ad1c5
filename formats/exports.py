"""The feedback export as files: CSV (UTF-8 with a BOM), JSON Lines and XLSX, page by page.

Every encoder takes the pages of plain rows that :func:`core.exports.present_row` makes (``dict`` keyed
by :data:`core.exports.EXPORT_COLUMNS`), so an export of any size runs in constant memory: CSV and JSONL
turn each page into bytes, XLSX writes worksheet rows straight to disk (XlsxWriter ``constant_memory``).
Spreadsheet cells are formula-escaped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

from core.exports import EXPORT_COLUMNS

XLSX_MAX_ROWS = 1_048_576
"""Rows of one worksheet in Excel (the header row included)."""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: str) -> str:
    """Neutralise a spreadsheet formula: a cell starting with = + - @ (or TAB / CR) gets a leading '."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


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
