"""The compliance table of the reporting periods as a workbook (``gopy periods status --xlsx``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import xlsxwriter

from core.reporting.compliance import ComplianceTable

WIDTHS = (22, 16, 48, 34, 16, 9, 17, 12, 10, 11)


def write_compliance_xlsx(table: ComplianceTable, path: Path | BinaryIO) -> None:
    """One sheet: bold frozen header with an autofilter, widths, real dates; to a file or a buffer."""
    target = str(path) if isinstance(path, Path) else path
    options = {
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "in_memory": not isinstance(path, Path),
    }
    workbook = xlsxwriter.Workbook(target, options)
    header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    date = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm", "valign": "top"})
    sheet = workbook.add_worksheet(table.title[:31])
    for col, width in enumerate(WIDTHS[: len(table.headers)]):
        sheet.set_column(col, col, width)
    sheet.write_row(0, 0, table.headers, header)
    for row, values in enumerate(table.rows, start=1):
        for col, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(row, col, value, date)
            elif isinstance(value, int | float):
                sheet.write_number(row, col, value)
            else:
                sheet.write_string(row, col, str(value), wrap)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(table.rows), 1), len(table.headers) - 1)
    workbook.close()
