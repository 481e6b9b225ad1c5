"""Exports for people: Vietnamese (or English) headers and names, section paths, real local dates, widths,
a frozen filtered header, formula-looking text kept as text, and a counts sheet equal to the consolidation."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select

from core.exports import EXPORT_COLUMNS, WORDED_COLUMNS, section_paths
from core.i18n import t
from storage.models import SectionRow
from storage.views import SqlViewRepository
from tests.staff_api import FORMULAS
from tests.test_api_v1 import Api, api  # noqa: F401  (the served API with seeded entries)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _headers(lang: str) -> tuple[str, ...]:
    return tuple(t(f"export.column.{c}", lang) for c in WORDED_COLUMNS)


async def _paths(served: Api) -> dict[int, str]:
    async with served.sessions() as session:  # type: ignore[operator]
        return section_paths(await SqlViewRepository(session).section_outline())


async def test_xlsx_for_people_by_default(api: Api) -> None:  # noqa: F811
    d = api.data
    response = await api.get("/v1/exports/feedback", format="xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    assert book.sheetnames == ["Ý kiến", "Thống kê"]
    rows = list(sheet.iter_rows())
    assert tuple(c.value for c in rows[0]) == _headers("vi")
    col = {c: i for i, c in enumerate(WORDED_COLUMNS)}
    by_code = {r[0].value: r for r in rows[1:]}
    assert set(by_code) == {r["receipt_code"] for r in d.rows}
    paths = await _paths(api)
    sources = {r["receipt_code"]: r for r in d.rows}
    for code, cells in by_code.items():
        source = sources[code]
        stance = cells[col["stance"]].value
        assert stance == (t(f"api.stance.{source['stance']}", "vi") if source["stance"] else None)
        section = cells[col["section"]].value
        if source["section_id"] is not None:
            assert section == paths[source["section_id"]] and "›" in section or "." in section
        elif source["document_id"] is not None:
            assert section == t("api.xlsx.whole_document", "vi")  # not "'-"
        else:
            assert section is None  # a mood entry is about no draft
        # a real date in local time, shown as a date
        created = cells[col["created_at"]]
        assert isinstance(created.value, datetime)
        assert created.value == source["created_at"].astimezone(TZ).replace(tzinfo=None)
        assert "yy" in created.number_format
        # formula-looking text: a text cell as typed, no apostrophe
        text = cells[col["text"]]
        assert text.data_type == "s" and text.value.replace("_x000D_", "\r") == source["text"]
    names = {r["receipt_code"]: r for r in d.rows}
    worker = next(c for c, r in names.items() if r["category"] == "worker")
    assert by_code[worker][col["category"]].value == "Công nhân"
    meeting = next(c for c, r in names.items() if r["channel"] == "meeting")
    assert by_code[meeting][col["channel"]].value == t("api.channel.meeting", "vi")
    withdrawn = next(c for c, r in names.items() if r["status"] == "withdrawn")
    assert by_code[withdrawn][col["status"]].value == "Đã rút"
    mood = by_code["GY-M00000"]
    assert mood[col["kind"]].value == "Tâm tư" and mood[col["topic"]].value == "Kinh tế và việc làm"
    assert {FORMULAS[0], FORMULAS[3]} <= {c[col["text"]].value for c in rows[1:]}
    # widths, wrapped text, frozen header, autofilter
    assert sheet.freeze_panes == "A2"
    last = sheet.cell(row=1, column=len(WORDED_COLUMNS)).column_letter
    assert sheet.auto_filter.ref == f"A1:{last}{len(rows)}"
    text_letter = sheet.cell(row=1, column=col["text"] + 1).column_letter
    assert sheet.column_dimensions[text_letter].width >= 60
    assert rows[1][col["text"]].alignment.wrap_text
    assert rows[0][0].font.bold


async def test_counts_sheet_equals_the_consolidation_without_withdrawn(api: Api) -> None:  # noqa: F811
    d = api.data
    response = await api.get("/v1/exports/feedback", format="xlsx", document_id=d.document_id)
    counts_sheet = load_workbook(io.BytesIO(response.content)).worksheets[-1]
    assert counts_sheet.freeze_panes == "A2" and counts_sheet.auto_filter.ref
    lines = list(counts_sheet.iter_rows(values_only=True))
    assert lines[0] == tuple(
        t(f"export.counts.{c}", "vi") for c in ("document_code", "section", "stance", "count")
    )
    sheet = Counter({(section, stance): count for _doc, section, stance, count in lines[1:]})

    consolidation_response = await api.get(f"/v1/documents/{d.document_id}/consolidation", "admin")
    assert consolidation_response.status_code == 200, consolidation_response.text
    consolidation = consolidation_response.json()
    paths = await _paths(api)
    expected: Counter[tuple[str, str]] = Counter()
    for section in consolidation["sections"]:
        label = paths[section["section_id"]] if section["section_id"] else t("api.xlsx.whole_document", "vi")
        for stance, count in section["counts"]["stance"].items():
            expected[(label, t(f"api.stance.{stance}", "vi"))] = count
    assert sheet == expected
    assert sum(sheet.values()) == consolidation["total"]
    all_rows = len(d.receipts(document_id=d.document_id))
    assert consolidation["total"] < all_rows  # some were withdrawn: in the data sheet, not in the counts


async def test_csv_labels_codes_and_english(api: Api) -> None:  # noqa: F811
    d = api.data
    params = {"document_id": d.document_id, "format": "csv"}

    labelled = (await api.get("/v1/exports/feedback", **params)).content
    assert labelled.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(labelled.decode("utf-8-sig"))))
    assert tuple(rows[0]) == _headers("vi")
    col = {c: i for i, c in enumerate(WORDED_COLUMNS)}
    sources = {r["receipt_code"]: r for r in d.rows}
    for row in rows[1:]:
        source = sources[row[0]]
        assert row[col["stance"]] == t(f"api.stance.{source['stance']}", "vi")
        assert row[col["created_at"]] == source["created_at"].astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")
        if source["text"].startswith(FORMULAS):  # the CSV keeps the OWASP prefix
            assert row[col["text"]].startswith("'")
    assert "disagree" not in labelled.decode("utf-8-sig")

    codes = (await api.get("/v1/exports/feedback", labels="codes", **params)).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(codes)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert {r[EXPORT_COLUMNS.index("stance")] for r in rows[1:]} == {"agree", "disagree", "partial", "other"}
    assert all("T" in r[EXPORT_COLUMNS.index("created_at")] for r in rows[1:])  # ISO 8601 for machines

    english = (await api.get("/v1/exports/feedback", lang="en", **params)).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(english)))
    assert tuple(rows[0]) == _headers("en") and rows[0][0] == "Receipt code"
    assert "Disagree" in {r[col["stance"]] for r in rows[1:]}

    bad = await api.get("/v1/exports/feedback", labels="names", **params)
    assert bad.status_code == 422
    assert (await api.get("/v1/exports/feedback", lang="fr", **params)).status_code == 422


async def test_jsonl_stays_machine_oriented(api: Api) -> None:  # noqa: F811
    body = (await api.get("/v1/exports/feedback", format="jsonl")).text
    first = body.splitlines()[0]
    assert '"stance"' in first and '"receipt_code"' in first and "Mã biên nhận" not in body


async def test_section_paths_name_the_parts(api: Api) -> None:  # noqa: F811
    paths = await _paths(api)
    async with api.sessions() as session:  # type: ignore[operator]
        child = await session.scalar(select(SectionRow).where(SectionRow.parent_id.is_not(None)).limit(1))
        assert child is not None
        parent = await session.get(SectionRow, child.parent_id)
    assert paths[child.id].startswith((parent.number or parent.title)[:10])  # type: ignore[union-attr]
    assert paths[child.id].endswith(child.title)


def test_consolidation_workbook_keeps_formula_looking_text_as_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from core.document_consolidation import consolidate
    from formats.consolidation_xlsx import write_consolidation_xlsx

    document = {"id": 1, "code": "d", "title": "- Dự thảo"}
    opinions = [
        {"receipt_code": f"GY-{i}", "section_id": None, "stance": "other", "text": "=1+1 đề nghị sửa"}
        for i in range(2)
    ]
    result = consolidate(document=document, sections=[], opinions=opinions)
    headers = {k: k for k in ("counts_sheet", "groups_sheet", "section", "dimension", "value", "count")}
    headers |= {"representative": "r", "receipts": "c", "whole_document": "-"}
    headers |= {f"dim.{d}": d for d in ("stance", "category", "organisation", "locality", "channel")}
    path = tmp_path / "c.xlsx"
    write_consolidation_xlsx(result, path, labels={}, headers=headers)
    book = load_workbook(path)
    groups = book["groups_sheet"]
    cell = groups.cell(row=2, column=2)
    assert (cell.value, cell.data_type) == ("=1+1 đề nghị sửa", "s")
    assert groups.cell(row=2, column=1).value == "- Dự thảo"  # not "'- Dự thảo"
    assert groups.freeze_panes == "A2" and book["counts_sheet"].auto_filter.ref
