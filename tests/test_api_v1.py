"""The staff API through real HTTP (uvicorn on loopback), on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.exports import EXPORT_COLUMNS, pseudonym
from core.text import fold_for_matching
from storage.models import FeedbackRow
from storage.models_api import AuditLogRow
from tests.conftest import NOW
from tests.staff_api import FORMULAS, HASH_KEY, Keys, Seeded, make_keys, seed, serve


@dataclass
class Api:
    client: httpx.AsyncClient
    keys: Keys
    data: Seeded
    sessions: object

    async def get(self, path: str, key: str = "reader", **params: object) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.keys.auth(key))

    async def all_receipts(self, key: str = "reader", **params: object) -> list[str]:
        receipts: list[str] = []
        cursor = None
        while True:
            query = dict(params, limit=500)
            if cursor:
                query["cursor"] = cursor
            response = await self.get("/v1/feedback", key, **query)
            assert response.status_code == 200, response.text
            body = response.json()
            receipts += [item["receipt_code"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return receipts


@pytest.fixture
async def api(database_url, loaded, clock) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    keys = await make_keys(loaded)
    data = await seed(loaded)
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            yield Api(client, keys, data, loaded)


async def _audit_rows(sessions, action: str) -> list[AuditLogRow]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return list(await session.scalars(select(AuditLogRow).where(AuditLogRow.action == action)))


def _assert_error(response: httpx.Response, status: int, code: str) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message_vi"] and error["message_en"] and error["message_vi"] != error["message_en"]
    return error  # type: ignore[no-any-return]


async def test_auth_matrix(api: Api) -> None:
    c = api.client
    _assert_error(await c.get("/v1/feedback"), 401, "api.error.unauthorized")
    bad = {"Authorization": "Bearer gopy_00000000_not-a-real-key"}
    _assert_error(await c.get("/v1/feedback", headers=bad), 401, "api.error.unauthorized")
    _assert_error(
        await c.get("/v1/feedback", headers={"Authorization": "Bearer x"}), 401, "api.error.unauthorized"
    )
    # a real key's prefix with a wrong secret
    forged = api.keys.reader.rsplit("_", 1)[0] + "_forged"
    _assert_error(
        await c.get("/v1/feedback", headers={"Authorization": f"Bearer {forged}"}),
        401,
        "api.error.unauthorized",
    )
    _assert_error(await api.get("/v1/documents", "revoked"), 401, "api.error.unauthorized")
    error = _assert_error(await api.get("/v1/feedback", "reports"), 403, "api.error.forbidden")
    assert "feedback:read" in error["message_en"]
    _assert_error(await api.get("/v1/exports/feedback", "reports"), 403, "api.error.forbidden")
    _assert_error(await api.get("/v1/audit", "reader"), 403, "api.error.forbidden")
    response = await c.post(
        "/v1/documents", json={"code": "x", "title": "X"}, headers=api.keys.auth("reader")
    )
    _assert_error(response, 403, "api.error.forbidden")
    assert (await api.get("/v1/documents", "reports")).status_code == 200
    assert (await api.get("/v1/feedback", "reader")).status_code == 200
    assert (await api.get("/v1/audit", "admin")).status_code == 200  # admin implies every scope
    assert (await api.get("/v1/feedback", "admin")).status_code == 200


async def test_every_filter_matches_the_database(api: Api) -> None:
    d = api.data
    expected_all = {r["receipt_code"] for r in d.rows}
    assert set(await api.all_receipts()) == expected_all
    cases: list[tuple[dict[str, object], set[str]]] = [
        ({"kind": "concern"}, d.receipts(kind="concern")),
        ({"kind": "draft_opinion"}, d.receipts(kind="draft_opinion")),
        ({"document_id": d.other_document_id}, d.receipts(document_id=d.other_document_id)),
        ({"section_id": d.section_ids[2]}, d.receipts(section_id=d.section_ids[2])),
        ({"stance": "partial"}, d.receipts(stance="partial")),
        ({"category": "farmer"}, d.receipts(category="farmer")),
        ({"organisation": "cd"}, d.receipts(organisation="cd")),
        ({"locality": "p-ngo-quyen"}, d.receipts(locality="p-ngo-quyen")),
        ({"channel": "web"}, d.receipts(channel="web")),
        ({"source": "meeting"}, d.receipts(source="meeting")),
        ({"status": "withdrawn"}, d.receipts(status="withdrawn")),
        ({"congress_id": d.congress_id}, d.receipts(congress_id=d.congress_id)),
        ({"period_id": d.period_id}, d.receipts(period_id=d.period_id)),
        ({"topic": "economy"}, d.receipts(topic="economy")),
        ({"unit_code": "u-quan-1"}, d.receipts(unit_code="u-quan-1")),
        (
            {"stance": "agree", "channel": "telegram", "document_id": d.document_id},
            d.receipts(stance="agree", channel="telegram", document_id=d.document_id),
        ),
    ]
    start, end = NOW - timedelta(days=30), NOW - timedelta(days=10)
    cases.append(
        (
            {"created_from": start.isoformat(), "created_to": end.isoformat()},
            {r["receipt_code"] for r in d.rows if start <= r["created_at"] < end},
        )
    )
    # naive datetimes are local (Asia/Ho_Chi_Minh): 08:30 local is 01:30 UTC
    since = NOW - timedelta(hours=1, minutes=30)
    cases.append(
        (
            {"created_from": "2025-11-20T08:30:00"},
            {r["receipt_code"] for r in d.rows if r["created_at"] >= since},
        )
    )
    # text search ignores case, tone-mark placement and punctuation
    needle = "PHÁT TRIỂN, kinh tế"
    cases.append(
        (
            {"text_contains": needle},
            {r["receipt_code"] for r in d.rows if fold_for_matching(needle) in r["text_folded"]},
        )
    )
    for params, expected in cases:
        assert expected, params  # every case selects something
        assert expected != expected_all or "kind" in params, params
        got = await api.all_receipts(**params)
        assert len(got) == len(set(got))
        assert set(got) == expected, params
    # the same filters drive the exports
    response = await api.get("/v1/exports/feedback", format="jsonl", stance="partial", channel="web")
    exported = {json.loads(line)["receipt_code"] for line in response.text.splitlines()}
    assert exported == d.receipts(stance="partial", channel="web")


async def test_pagination_has_no_gaps_or_repeats_under_concurrent_inserts(api: Api) -> None:
    before = {r["receipt_code"] for r in api.data.rows}
    inserted: list[str] = []
    stop = asyncio.Event()

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            async with api.sessions() as session:  # type: ignore[operator]
                code = f"GY-C{n:05d}"
                session.add(
                    FeedbackRow(
                        receipt_code=code,
                        kind="draft_opinion",
                        text="Ý kiến mới",
                        text_folded="ý kiến mới",
                        channel="web",
                        source="web",
                        stance="other",
                        created_at=NOW,
                    )
                )
                await session.commit()
            inserted.append(code)
            n += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(writer())
    seen: list[str] = []
    cursor = None
    try:
        while True:
            params: dict[str, object] = {"limit": 7}
            if cursor:
                params["cursor"] = cursor
            body = (await api.get("/v1/feedback", **params)).json()
            seen += [item["receipt_code"] for item in body["items"]]
            cursor = body["next_cursor"]
            await asyncio.sleep(0.01)  # let the writer insert between pages
            if cursor is None:
                break
    finally:
        stop.set()
        await task
    assert len(inserted) > 3
    assert len(seen) == len(set(seen)), "a page repeated an entry"
    assert before <= set(seen), "an entry that existed before the listing was skipped"
    assert set(seen) <= before | set(inserted)


async def test_csv_xlsx_jsonl_exports_with_formula_escaping_and_audit(api: Api) -> None:
    d = api.data
    params = {"document_id": d.document_id, "labels": "codes"}
    expected = d.receipts(document_id=d.document_id)

    response = await api.get("/v1/exports/feedback", format="csv", **params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {r["receipt_code"] for r in rows} == expected and len(rows) == len(expected)
    by_code = {r["receipt_code"]: r for r in rows}
    for source in d.rows:
        if source["receipt_code"] in expected:
            text = by_code[source["receipt_code"]]["text"]
            if source["text"].startswith(FORMULAS):
                assert text == "'" + source["text"].replace("\r", "\n") or text == "'" + source["text"]
            else:
                assert text == source["text"]
    everything = (await api.get("/v1/exports/feedback", format="csv", labels="codes")).content
    everything = everything.decode("utf-8-sig")
    texts = {r["text"] for r in csv.DictReader(io.StringIO(everything))}
    assert {"'" + formula for formula in FORMULAS} <= texts
    assert not any(text.startswith(("=", "+", "-", "@", "\t", "\r")) for text in texts)

    response = await api.get("/v1/exports/feedback", format="xlsx", **params)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    data_sheet, counts_sheet = workbook.worksheets[0], workbook.worksheets[-1]
    sheet_rows = list(data_sheet.iter_rows(values_only=True))
    assert sheet_rows[0] == EXPORT_COLUMNS
    assert {r[0] for r in sheet_rows[1:]} == expected
    text_col = EXPORT_COLUMNS.index("text")
    by_code_xlsx = {r[0].value: r[text_col] for r in list(data_sheet.iter_rows())[1:]}
    for source in d.rows:
        if source["receipt_code"] in expected and source["text"]:
            cell = by_code_xlsx[source["receipt_code"]]
            # a text cell as typed: no formula, no apostrophe (OOXML writes a CR as _x000D_)
            assert cell.data_type == "s", cell
            assert cell.value.replace("_x000D_", "\r") == source["text"], cell.value
    counts = list(counts_sheet.iter_rows(values_only=True))[1:]
    active = {"document_id": d.document_id, "kind": "draft_opinion", "status": "active"}
    assert sum(c[3] for c in counts) == len(d.receipts(**active))  # withdrawn opinions are not counted
    partial = sum(c[3] for c in counts if c[2] == "partial")
    assert partial == len(d.receipts(**active, stance="partial"))

    response = await api.get("/v1/exports/feedback", format="jsonl", **params)
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert {line["receipt_code"] for line in lines} == expected
    assert any(line["text"] == "@cmd" for line in lines)  # JSON keeps the value as stored

    audits = await _audit_rows(api.sessions, "export.feedback")
    assert [a.details["format"] for a in audits] == ["csv", "csv", "xlsx", "jsonl"]
    assert audits[1].row_count == len(d.rows) and audits[1].details["filters"] == {}
    for audit in audits[:1] + audits[2:]:
        assert audit.row_count == len(expected)
        assert audit.details["filters"] == {"document_id": str(d.document_id)}
        assert audit.actor.endswith(":reader") and audit.at == NOW
        assert audit.details["pii"] is False


async def test_pseudonyms_without_pii_scope_and_ids_with_it(api: Api) -> None:
    d = api.data
    items = {i["receipt_code"]: i for i in (await api.get("/v1/feedback", limit=500)).json()["items"]}
    by_respondent: dict[int, set[str]] = {}
    for row in d.rows:
        if row["respondent_id"] is not None:
            by_respondent.setdefault(row["respondent_id"], set()).add(
                items[row["receipt_code"]]["respondent"]
            )
        else:
            assert items[row["receipt_code"]]["respondent"] is None
    pseudonyms = [next(iter(v)) for v in by_respondent.values()]
    assert all(len(v) == 1 for v in by_respondent.values()), "a respondent must keep one pseudonym"
    assert len(set(pseudonyms)) == len(pseudonyms)
    for rid, values in by_respondent.items():
        assert values == {pseudonym(key=HASH_KEY, respondent_id=rid)}
        assert str(rid) not in next(iter(values))[2:3]
    assert not await _audit_rows(api.sessions, "feedback.read_pii")

    items = (await api.get("/v1/feedback", "pii", limit=500)).json()["items"]
    ids = {i["respondent"] for i in items if i["respondent"]}
    assert ids == {str(r) for r in d.respondent_ids}
    one = await api.get(f"/v1/feedback/{d.rows[1]['receipt_code'].lower()}", "pii")
    assert one.json()["respondent"] == str(d.rows[1]["respondent_id"])
    audits = await _audit_rows(api.sessions, "feedback.read_pii")
    assert [a.row_count for a in audits] == [len(d.rows), 1]
    csv_text = (await api.get("/v1/exports/feedback", "pii", format="csv", labels="codes")).content
    csv_text = csv_text.decode("utf-8-sig")
    assert {r["respondent"] for r in csv.DictReader(io.StringIO(csv_text)) if r["respondent"]} == ids
    assert (await _audit_rows(api.sessions, "export.feedback"))[0].details["pii"] is True


async def test_get_by_receipt_and_malformed_queries_are_422_not_500(api: Api) -> None:
    code = api.data.rows[3]["receipt_code"]
    assert (await api.get(f"/v1/feedback/{code}")).json()["receipt_code"] == code
    _assert_error(await api.get("/v1/feedback/GY-NOPE99"), 404, "error.feedback_not_found")
    for params in (
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJhZnRlciI6ICJ4In0"},
        {"stance": "maybe"},
        {"limit": 0},
        {"document_id": 2**40},
        {"created_from": "yesterday"},
        {"created_from": NOW.isoformat(), "created_to": (NOW - timedelta(days=1)).isoformat()},
        {"created_from": "0001-01-01T00:00:00+05:00"},
    ):
        response = await api.get("/v1/feedback", **params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["message_vi"]
    _assert_error(await api.get("/v1/documents/999999"), 404, "error.document_not_found")
    _assert_error(await api.get("/v1/nowhere"), 404, "api.error.not_found")


async def test_documents_admin_and_import(api: Api) -> None:
    auth = api.keys.auth("admin")
    listed = (await api.get("/v1/documents")).json()
    assert {d["code"] for d in listed} >= {"sample-political-report", "other-draft"}
    detail = (await api.get(f"/v1/documents/{api.data.document_id}")).json()
    assert len(detail["sections"]) == 10
    created = await api.client.post(
        "/v1/documents", json={"code": "new-draft", "title": "Dự thảo mới"}, headers=auth
    )
    assert created.status_code == 201 and created.json()["status"] == "draft"
    doc_id = created.json()["id"]
    _assert_error(
        await api.client.post("/v1/documents", json={"code": "new-draft", "title": "Again"}, headers=auth),
        409,
        "api.error.code_taken",
    )
    _assert_error(
        await api.client.post(f"/v1/documents/{doc_id}/close", headers=auth), 409, "api.error.status_change"
    )
    assert (await api.client.post(f"/v1/documents/{doc_id}/publish", headers=auth)).json()["status"] == "open"
    assert (await api.client.post(f"/v1/documents/{doc_id}/close", headers=auth)).json()["status"] == "closed"
    markdown = "# Dự thảo thử\n\n## Phần một\n\nNội dung.\n\n## Phần hai\n\nNội dung hai.\n".encode()
    imported = await api.client.post(
        "/v1/documents/import",
        files={"file": ("du-thao.md", markdown, "text/markdown")},
        data={"code": "imported-draft", "status": "open"},
        headers=auth,
    )
    assert imported.status_code == 201, imported.text
    document = imported.json()["document"]
    assert document["code"] == "imported-draft" and document["status"] == "open"
    sections = (await api.get(f"/v1/documents/{document['id']}")).json()["sections"]
    assert [s["title"] for s in sections] == ["Phần một", "Phần hai"]
    bad = await api.client.post(
        "/v1/documents/import", files={"file": ("x.pdf", b"%PDF", "application/pdf")}, headers=auth
    )
    _assert_error(bad, 422, "error.document_import")
    actions = {a.action for a in await _audit_rows(api.sessions, "document.import")}
    assert actions == {"document.import"}


async def test_meeting_template_and_all_or_nothing_import(api: Api) -> None:
    import xlsxwriter

    template = await api.get("/v1/meetings/template.xlsx", document_id=api.data.document_id)
    assert template.status_code == 200
    workbook = load_workbook(io.BytesIO(template.content), read_only=True)
    header = next(workbook.worksheets[0].iter_rows(values_only=True))
    assert header[:4] == ("document_code", "section_id", "stance", "text")
    section_rows = list(workbook.worksheets[2].iter_rows(values_only=True))[1:]
    assert {r[0] for r in section_rows} == set(api.data.section_ids)

    def xlsx(rows: list[list[object]]) -> bytes:
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, header)
        for i, row in enumerate(rows, start=1):
            sheet.write_row(i, 0, row)
        book.close()
        return buffer.getvalue()

    section = api.data.section_ids[3]
    good = [
        [
            "sample-political-report",
            section,
            "Tán thành",
            "",
            "worker",
            "dtn",
            "p-hong-bang",
            "u-phuong-1",
            "2025-11-18",
        ],
        [
            "sample-political-report",
            section,
            "đề xuất",
            "Cần tăng đầu tư cho giáo dục",
            None,
            None,
            None,
            "u-phuong-1",
            None,
        ],
        [
            "sample-political-report",
            None,
            "disagree",
            "Chưa rõ lộ trình",
            "farmer",
            None,
            None,
            "u-phuong-2",
            None,
        ],
    ]
    bad = good + [
        ["no-such-draft", section, "agree", "", None, None, None, "u-1", None],
        ["sample-political-report", 999999, "maybe", "", "alien", None, None, "", "2099-01-01"],
    ]
    auth = api.keys.auth("admin")
    async with api.sessions() as session:  # type: ignore[operator]
        before = await session.scalar(select(func.count()).select_from(FeedbackRow))
    rejected = await api.client.post(
        "/v1/meetings/import", files={"file": ("m.xlsx", xlsx(bad), "application/octet-stream")}, headers=auth
    )
    error = _assert_error(rejected, 422, "api.error.meeting_import")
    problems = {(e["row"], e["column"]) for e in error["errors"]}
    assert problems == {
        (5, "document_code"),
        (6, "section_id"),
        (6, "stance"),
        (6, "category"),
        (6, "unit_code"),
        (6, "meeting_date"),
    }
    assert all(e["message_vi"] and e["message_en"] for e in error["errors"])
    async with api.sessions() as session:  # type: ignore[operator]
        assert await session.scalar(select(func.count()).select_from(FeedbackRow)) == before

    not_xlsx = await api.client.post("/v1/meetings/import", files={"file": ("m.xlsx", b"junk")}, headers=auth)
    assert _assert_error(not_xlsx, 422, "api.error.meeting_import")["errors"][0]["reason"] == "bad_file"

    accepted = await api.client.post(
        "/v1/meetings/import", files={"file": ("m.xlsx", xlsx(good))}, headers=auth
    )
    assert accepted.status_code == 201, accepted.text
    receipts = accepted.json()["receipt_codes"]
    assert len(receipts) == 3
    got = await api.all_receipts(source="meeting", unit_code="u-phuong-1")
    assert set(receipts[:2]) == set(got)
    one = (await api.get(f"/v1/feedback/{receipts[0]}")).json()
    assert (one["channel"], one["source"], one["stance"], one["category"]) == (
        "meeting",
        "meeting",
        "agree",
        "worker",
    )
    assert one["created_at"].startswith("2025-11-18T12:00:00+07:00")
    assert [a.row_count for a in await _audit_rows(api.sessions, "import.meeting")] == [3]


async def test_metrics_count_exports_and_submissions(api: Api) -> None:
    def value(text: str, name: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and "{" in line
        )

    before = (await api.client.get("/metrics")).text
    await api.get("/v1/exports/feedback", format="jsonl")
    after = (await api.client.get("/metrics")).text
    assert value(after, "gopy_exports_total") == value(before, "gopy_exports_total") + 1
    assert "gopy_submissions_total" in after and "gopy_outbox_backlog" in after
    assert (await api.client.get("/readyz")).json() == {"status": "ok", "database": "ok"}
