"""The meeting sheet: the XLSX template staff fill in at meetings, and reading a filled-in one back."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import xlsxwriter
from openpyxl import load_workbook

from core import errors
from core.archives import ArchiveLimits, check_archive, check_sheet_rows
from core.i18n import t
from core.staff.meeting_rows import MEETING_COLUMNS


class UnreadableMeetingFile(Exception):
    """The upload is not the template: ``reason`` is ``bad_file`` or ``bad_header``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def build_meeting_template(sections: list[dict[str, Any]], document_code: str | None) -> bytes:
    """The template: a data sheet with the header row, a help sheet, and the sections of a document."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True})
    data = workbook.add_worksheet("data")
    data.write_row(0, 0, MEETING_COLUMNS, bold)
    data.set_column(0, len(MEETING_COLUMNS) - 1, 18)
    data.set_column(3, 3, 60)
    if document_code:
        data.write_string(1, 0, document_code)
    data.freeze_panes(1, 0)
    help_sheet = workbook.add_worksheet(t("api.meeting.help_sheet", "vi"))  # a sheet name: 31 characters
    help_sheet.write_string(0, 0, t("api.meeting.help_title", "vi"), bold)  # the full title, in the sheet
    help_sheet.write_string(1, 0, t("api.meeting.help_title", "en"), bold)
    help_sheet.write_row(3, 0, ("column", "Tiếng Việt", "English"), bold)
    for row, column in enumerate(MEETING_COLUMNS, start=4):
        help_sheet.write_row(
            row, 0, (column, t(f"api.meeting.help.{column}", "vi"), t(f"api.meeting.help.{column}", "en"))
        )
    help_sheet.set_column(0, 0, 18)
    help_sheet.set_column(1, 2, 70)
    listing = workbook.add_worksheet(t("api.meeting.sections_sheet", "vi"))
    listing.write_row(0, 0, ("section_id", "number", "title"), bold)
    for row, section in enumerate(sections, start=1):
        listing.write_number(row, 0, section["id"])
        listing.write_string(row, 1, section["number"] or "")
        listing.write_string(row, 2, section["title"])
    listing.set_column(2, 2, 80)
    workbook.close()
    return buffer.getvalue()


def read_meeting_rows(raw: bytes, *, limits: ArchiveLimits, max_rows: int) -> list[tuple[Any, ...]]:
    """The data rows of the first sheet (its template columns).

    A file that is not a readable XLSX (``bad_file``) or has another header (``bad_header``) raises
    :class:`UnreadableMeetingFile`; a zip bomb, or more than ``max_rows`` data rows, is refused
    (ArchiveRejected, TooManyRows) without unpacking or reading it all: rows are counted while streaming.
    """
    rows: list[tuple[Any, ...]] = []
    try:
        check_archive(raw, limits)
        check_sheet_rows(raw, max_rows=max_rows)
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            for row in sheet.iter_rows(max_col=len(MEETING_COLUMNS), values_only=True):
                if len(rows) > max_rows:  # the header and max_rows data rows are in already
                    raise errors.TooManyRows(max_rows=max_rows)
                rows.append(tuple(row))
        finally:
            workbook.close()
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise UnreadableMeetingFile("bad_file") from exc
    header = tuple(str(c).strip() if c is not None else "" for c in (rows[0] if rows else ()))
    if header[: len(MEETING_COLUMNS)] != MEETING_COLUMNS:
        raise UnreadableMeetingFile("bad_header")
    return rows[1:]
