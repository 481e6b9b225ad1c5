"""The consolidation workbook: one sheet of counts (per section and dimension), one of groups."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import xlsxwriter

from core.document_consolidation import Consolidation, ConsolidationExport, consolidation_export


def write_consolidation_xlsx(
    result: Consolidation, path: Path, *, labels: Mapping[str, Mapping[str, str]], headers: Mapping[str, str]
) -> None:
    """Write the workbook of ``result`` to ``path``."""
    write_export_xlsx(consolidation_export(result, labels=labels, headers=headers), path)


def write_export_xlsx(export: ConsolidationExport, path: Path) -> None:
    """Text cells as typed (a text beginning with "=" stays text: no formula, no apostrophe), bold frozen
    headers with autofilters."""
    headers = export.headers
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    counts = workbook.add_worksheet(headers["counts_sheet"])
    counts.write_row(0, 0, [headers[k] for k in ("section", "dimension", "value", "count")], bold)
    for row, line in enumerate(export.counts, start=1):
        counts.write_string(row, 0, line.section)
        counts.write_string(row, 1, line.dimension)
        counts.write_string(row, 2, line.value)
        counts.write_number(row, 3, line.count)
    counts.set_column(0, 0, 50)
    counts.set_column(1, 2, 30)
    counts.freeze_panes(1, 0)
    counts.autofilter(0, 0, max(len(export.counts), 1), 3)
    groups = workbook.add_worksheet(headers["groups_sheet"])
    groups.write_row(0, 0, [headers[k] for k in ("section", "representative", "count", "receipts")], bold)
    for row, group in enumerate(export.groups, start=1):
        groups.write_string(row, 0, group.section, wrap)
        groups.write_string(row, 1, group.representative, wrap)
        groups.write_number(row, 2, group.count)
        groups.write_string(row, 3, group.receipts, wrap)
    groups.set_column(0, 0, 40)
    groups.set_column(1, 1, 80)
    groups.set_column(3, 3, 40)
    groups.freeze_panes(1, 0)
    groups.autofilter(0, 0, max(len(export.groups), 1), 3)
    workbook.close()
