"""/v1 reporting-unit and public-mood endpoints over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from docx import Document as read_docx
from sqlalchemy import select

from core.domain import Channel, FeedbackKind
from core.feedback import record_consent
from core.mood import submit_mood_entry
from core.reporting import store_report_file, submit_report
from storage.models_api import AuditLogRow
from storage.repositories_reporting import LocalFileStore
from storage.uow import SqlUnitOfWork
from tests.reporting_helpers import PDF, bound_contact, load_with_units
from tests.staff_api import make_keys, serve

PERIOD = "city-17-before"
BEFORE_CONGRESS = datetime(2025, 9, 2, 3, 0, tzinfo=UTC)  # 2 Sep 10:00 local: before the due date (5 Sep)


@pytest.fixture
async def staff(database_url, sessions, clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    files = tmp_path / "files"
    monkeypatch.setenv("GOPY_FILES_DIR", str(files))
    await load_with_units(sessions, BEFORE_CONGRESS)
    contact = await bound_contact(sessions, unit="mttq", chat_id=7001, now=BEFORE_CONGRESS)
    async with SqlUnitOfWork(sessions) as uow:
        period = next(p for p in await uow.plan.list_periods() if p.code == PERIOD)
        stored = store_report_file(files=LocalFileStore(files), content=PDF)
        report = await submit_report(
            uow=uow,
            contact_id=contact,
            period_id=period.id,
            file=stored,
            summary="Ổn định",
            opinions_count=12,
            now=BEFORE_CONGRESS,
        )
    async with SqlUnitOfWork(sessions) as uow:
        respondent = await record_consent(
            uow=uow, channel=Channel.TELEGRAM, user_hash="m1", language="vi", version="v", now=BEFORE_CONGRESS
        )
        congress = next(c for c in await uow.plan.list_congresses() if c.code == "city-17")
        assert respondent.id is not None
        for text in ("Mong Đại hội chọn được người tài.", "Mong Đại hội chọn được người tài!"):
            await submit_mood_entry(
                uow=uow,
                respondent_id=respondent.id,
                congress_id=congress.id,
                kind=FeedbackKind.ASPIRATION,
                topic="personnel",
                text=text,
                channel=Channel.TELEGRAM,
                now=BEFORE_CONGRESS,
                max_length=4000,
            )
    keys = await make_keys(sessions)
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            yield client, keys, report.id, sessions


async def test_periods_compliance_and_report_download(staff) -> None:  # type: ignore[no-untyped-def]
    client, keys, report_id, sessions = staff
    assert (await client.get("/v1/periods")).status_code == 401
    assert (await client.get("/v1/periods", headers=keys.auth("reader"))).status_code == 403
    periods = (await client.get("/v1/periods", headers=keys.auth("reports"))).json()
    assert PERIOD in [p["code"] for p in periods]
    # the id of a period is the filter that pulls everything said in it
    period_id = next(p["id"] for p in periods if p["code"] == PERIOD)
    entries = await client.get("/v1/feedback", params={"period_id": period_id}, headers=keys.auth("reader"))
    assert entries.status_code == 200 and len(entries.json()["items"]) == 2
    rows = (await client.get(f"/v1/periods/{PERIOD}/compliance", headers=keys.auth("reports"))).json()
    by_unit = {r["unit_code"]: r for r in rows}
    assert by_unit["mttq"]["status"] == "on_time" and by_unit["mttq"]["report_id"] == report_id
    assert sum(1 for r in rows if r["status"] == "missing") == len(rows) - 1
    missing = await client.get("/v1/periods/nope/compliance", headers=keys.auth("reports"))
    assert missing.status_code == 404 and "error" in missing.json()
    bad = await client.get("/v1/periods/bad%20code!/compliance", headers=keys.auth("reports"))
    assert bad.status_code == 422
    download = await client.get(f"/v1/reports/{report_id}/file", headers=keys.auth("reports"))
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert (await client.get("/v1/reports/999999/file", headers=keys.auth("reports"))).status_code == 404
    async with sessions() as session:
        actions = [a.action for a in await session.scalars(select(AuditLogRow))]
    assert "read.compliance" in actions and "download.report" in actions


async def test_mood_summary_and_report_docx(staff) -> None:  # type: ignore[no-untyped-def]
    client, keys, _report_id, _sessions = staff
    summary = (await client.get(f"/v1/mood/periods/{PERIOD}/summary", headers=keys.auth("reader"))).json()
    assert summary["total"] == 2
    assert (
        await client.get(f"/v1/mood/periods/{PERIOD}/report.docx", headers=keys.auth("reader"))
    ).status_code == 403
    response = await client.get(f"/v1/mood/periods/{PERIOD}/report.docx", headers=keys.auth("admin"))
    assert response.status_code == 200
    text = "\n".join(p.text for p in read_docx(io.BytesIO(response.content)).paragraphs)
    assert "Báo cáo tình hình Nhân dân" in text or "BÁO CÁO" in text.upper()
    tables = read_docx(io.BytesIO(response.content)).tables
    cells = " ".join(c.text for t in tables for row in t.rows for c in row.cells)
    assert "Ủy ban Mặt trận Tổ quốc Việt Nam thành phố" in cells and "Chưa báo cáo" in cells
