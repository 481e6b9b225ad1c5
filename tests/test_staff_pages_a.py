"""The drafts, opinions and consolidation pages of the staff console over HTTP (real app, SQLite and
PostgreSQL): every action, its refusals and its audit rows."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from storage.models import DocumentRow, FeedbackRow
from storage.models_api import AuditLogRow
from tests.staff_api import Seeded, seed
from tests.staff_console import Console, console_app


def make_docx(title: str, headings: list[tuple[int, str, str]]) -> bytes:
    """A Word draft: a title, then (level, heading, paragraph) items."""
    from docx import Document

    document = Document()
    document.core_properties.title = title
    for level, heading, body in headings:
        document.add_heading(heading, level=level)
        document.add_paragraph(body)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


DOCX = make_docx(
    "Dự thảo Quy chế thử nghiệm",
    [
        (1, "Chương I. Quy định chung", "Nội dung chương I."),
        (2, "Điều 1. Phạm vi điều chỉnh", "Quy chế này quy định việc lấy ý kiến."),
        (2, "Điều 2. Đối tượng áp dụng", "Áp dụng đối với các cơ quan, tổ chức."),
        (1, "Chương II. Tổ chức thực hiện", "Nội dung chương II."),
    ],
)


@pytest.fixture
async def pages(
    database_url: str, loaded: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Console]:
    async with console_app(database_url, clock, home=tmp_path, export_background_rows=20) as console:
        yield console


@pytest.fixture
async def seeded(pages: Console) -> Seeded:
    return await seed(pages.sessions)


async def audit_rows(console: Console, action: str) -> list[AuditLogRow]:
    async with console.sessions() as session:
        return list(await session.scalars(select(AuditLogRow).where(AuditLogRow.action == action)))


def upload_token(location: str) -> str:
    found = re.fullmatch(r"/staff/drafts/preview/([A-Za-z0-9_-]+)", location)
    assert found, location
    return found.group(1)


# --- drafts -----------------------------------------------------------------------------------------


async def test_upload_preview_confirm_publish_close_reopen(pages: Console, tmp_path: Path) -> None:
    admin = await pages.client("admin")
    listing = await admin.get("/staff/drafts")
    assert listing.status_code == 200 and "sample-political-report" in listing.text
    files = {"file": ("quy-che.docx", DOCX, "application/octet-stream")}
    sent = await admin.http.post("/staff/drafts/upload", data={"csrf_token": admin.csrf}, files=files)
    assert sent.status_code == 303
    token = upload_token(sent.headers["location"])
    assert list((tmp_path / "staff-uploads").iterdir())  # kept server-side until confirmed
    async with pages.sessions() as session:  # nothing stored before the confirmation
        assert await session.scalar(select(DocumentRow).where(DocumentRow.title.like("%thử nghiệm%"))) is None
    preview = await admin.get(f"/staff/drafts/preview/{token}")
    assert preview.status_code == 200
    for heading in ("Chương I. Quy định chung", "Điều 1. Phạm vi điều chỉnh", "Chương II. Tổ chức thực hiện"):
        assert heading.split(". ")[1] in preview.text
    assert "Số phần: " in preview.text
    done = await admin.post(
        f"/staff/drafts/preview/{token}/confirm", data={"code": "quy-che-thu", "title": ""}
    )
    assert done.status_code == 303
    doc_url = done.headers["location"]
    document_id = int(doc_url.rsplit("/", 1)[1])
    assert not list((tmp_path / "staff-uploads").iterdir())
    reading = await admin.get(doc_url)
    assert reading.status_code == 200 and "Bản nháp" in reading.text and "Phạm vi điều chỉnh" in reading.text
    again = await admin.get(f"/staff/drafts/preview/{token}")  # used up
    assert again.status_code == 404
    published = await admin.post(
        f"/staff/drafts/{document_id}/publish",
        data={"opens_at": "2025-11-21T08:00", "closes_at": "2025-12-21T17:00"},
    )
    assert published.status_code == 303
    async with pages.sessions() as session:
        row = await session.get(DocumentRow, document_id)
        assert row is not None and row.status == "open"
        assert row.opens_at is not None and row.closes_at is not None
        assert row.closes_at.replace(tzinfo=None).hour == 10  # 17:00 in Hanoi is 10:00 UTC
    page = await admin.get(doc_url)
    assert "Đang lấy ý kiến" in page.text and "21/12/2025 17:00" in page.text
    assert (await admin.post(f"/staff/drafts/{document_id}/close")).status_code == 303
    assert (await admin.post(f"/staff/drafts/{document_id}/reopen")).status_code == 303
    refused = await admin.post(f"/staff/drafts/{document_id}/publish")  # already open
    assert refused.status_code == 409 and "flash-error" in refused.text
    assert [r.target for r in await audit_rows(pages, "document.import")] == ["quy-che-thu"]
    publish = await audit_rows(pages, "document.publish")
    assert publish[0].actor.endswith(admin.email) and publish[0].details["closes_at"].startswith(
        "2025-12-21T17"
    )
    assert (
        len(await audit_rows(pages, "document.close")) == len(await audit_rows(pages, "document.reopen")) == 1
    )


async def test_bad_uploads_are_refused_with_a_translated_sentence(
    pages: Console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await pages.client("admin")

    async def upload(name: str, raw: bytes) -> Any:
        return await admin.http.post(
            "/staff/drafts/upload", data={"csrf_token": admin.csrf}, files={"file": (name, raw, "text/plain")}
        )

    wrong = await upload("draft.pdf", b"%PDF-1.4")
    assert wrong.status_code == 422 and "flash-error" in wrong.text
    broken = await upload("draft.docx", b"PK\x03\x04 not really a zip")
    assert broken.status_code == 422
    from api.staff import drafts

    monkeypatch.setattr(drafts, "MAX_UPLOAD", 1024)
    large = await upload("draft.md", b"# Heading\n" + b"x" * 2000)
    assert large.status_code == 413 and "Tệp quá lớn: tối đa 0 MB." in large.text
    none = await admin.http.post("/staff/drafts/upload", data={"csrf_token": admin.csrf})
    assert none.status_code == 422 and "chọn một tệp" in none.text
    assert not (tmp_path / "staff-uploads").exists() or not list((tmp_path / "staff-uploads").iterdir())
    bad_date = await admin.post("/staff/drafts/1/publish", data={"opens_at": "tomorrow"})
    assert bad_date.status_code == 422 and "Ngày không hợp lệ." in bad_date.text
    viewer = await pages.client("viewer")
    assert (await viewer.get("/staff/drafts")).status_code == 200
    assert "draft-file" not in (await viewer.get("/staff/drafts")).text  # no upload form for a viewer
    assert (await viewer.post("/staff/drafts/1/close")).status_code == 403


async def test_reading_shows_per_section_counts(pages: Console, seeded: Seeded) -> None:
    viewer = await pages.client("viewer")
    page = await viewer.get(f"/staff/drafts/{seeded.document_id}")
    assert page.status_code == 200
    active = [r for r in seeded.rows if r["document_id"] == seeded.document_id and r["status"] == "active"]
    assert f"<dd>{len(active)}</dd>" in page.text
    assert "Toàn văn dự thảo" in page.text


# --- opinions ---------------------------------------------------------------------------------------


async def test_table_filters_search_pages_and_pseudonyms(pages: Console, seeded: Seeded) -> None:
    viewer = await pages.client("viewer")
    page = await viewer.get("/staff/opinions")
    assert page.status_code == 200 and "GY-T00001" in page.text
    assert "Độ tuổi" not in page.text  # no profile column for a viewer
    filtered = await viewer.get(
        f"/staff/opinions?document_id={seeded.document_id}&stance=agree&channel=&kind=draft_opinion"
    )
    codes = set(re.findall(r"GY-T\d{5}", filtered.text))
    assert codes and codes <= seeded.receipts(stance="agree", document_id=seeded.document_id)
    search = await viewer.get("/staff/opinions?q=so+12+KINH-te")
    assert set(re.findall(r"GY-T\d{5}", search.text)) == {"GY-T00012"}
    bad = await viewer.get("/staff/opinions?stance=nonsense")
    assert bad.status_code == 422 and "flash-error" in bad.text
    small = await viewer.get("/staff/opinions?created_from=2025-11-01&created_to=2025-11-05")
    assert small.status_code == 200
    assert not await audit_rows(pages, "feedback.read_pii")


async def test_cursor_pages_cover_every_row_once(pages: Console) -> None:
    await seed(pages.sessions, count=120)
    viewer = await pages.client("viewer")
    seen: list[str] = []
    url: str | None = "/staff/opinions?hidden=include"
    while url:
        page = await viewer.get(url)
        seen += re.findall(r'href="/staff/opinions/(GY-[TM]\d{5})"', page.text)
        found = re.search(r'href="(/staff/opinions\?[^"]+)" rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert len(seen) == len(set(seen)) == 123


async def test_analyst_sees_profiles_audited_and_moderates(pages: Console, seeded: Seeded) -> None:
    analyst = await pages.client("analyst")
    page = await analyst.get("/staff/opinions")
    assert "Độ tuổi" in page.text
    assert [r.actor.endswith(analyst.email) for r in await audit_rows(pages, "feedback.read_pii")] == [True]
    receipt = "GY-T00003"
    one = await analyst.get(f"/staff/opinions/{receipt}")
    assert one.status_code == 200 and "hide-reason" in one.text
    empty = await analyst.post(f"/staff/opinions/{receipt}/hide", data={"reason": "   "})
    assert empty.status_code == 422 and "flash-error" in empty.text
    hidden = await analyst.post(f"/staff/opinions/{receipt}/hide", data={"reason": "Quảng cáo rác"})
    assert hidden.status_code == 303 and hidden.headers["location"] == f"/staff/opinions/{receipt}"
    shown = await analyst.get(f"/staff/opinions/{receipt}")
    assert "Lý do: Quảng cáo rác" in shown.text and "Đã ẩn ý kiến." in shown.text
    listing = await analyst.get("/staff/opinions")
    assert receipt not in listing.text
    only = await analyst.get("/staff/opinions?hidden=only")
    assert receipt in only.text and "hidden-row" in only.text
    restored = await analyst.post(f"/staff/opinions/{receipt}/restore", data={"note": "nhầm"})
    assert restored.status_code == 303
    assert [r.details["reason"] for r in await audit_rows(pages, "feedback.hide")] == ["Quảng cáo rác"]
    assert len(await audit_rows(pages, "feedback.restore")) == 1
    async with pages.sessions() as session:
        row = await session.scalar(select(FeedbackRow).where(FeedbackRow.receipt_code == receipt))
        assert row is not None and row.hidden_at is None
    viewer = await pages.client("viewer")
    assert "hide-reason" not in (await viewer.get(f"/staff/opinions/{receipt}")).text
    assert (await viewer.post(f"/staff/opinions/{receipt}/hide", data={"reason": "x"})).status_code == 403


# --- consolidation ----------------------------------------------------------------------------------


async def test_consolidation_counts_charts_and_downloads(pages: Console, seeded: Seeded) -> None:
    viewer = await pages.client("viewer")
    page = await viewer.get(f"/staff/consolidation?document_id={seeded.document_id}")
    assert page.status_code == 200
    assert page.text.count('role="img"') == 5  # stance, category, organisation, locality, channel
    active = [r for r in seeded.rows if r["document_id"] == seeded.document_id and r["status"] == "active"]
    assert f'<dd id="total-count">{len(active)}</dd>' in page.text
    section = seeded.section_ids[1]
    one = await viewer.get(f"/staff/consolidation?document_id={seeded.document_id}&section_id={section}")
    assert one.status_code == 200
    docx = await viewer.get(f"/staff/consolidation/{seeded.document_id}/synthesis.docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    xlsx = await viewer.get(f"/staff/consolidation/{seeded.document_id}/consolidation.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert len(await audit_rows(pages, "export.synthesis")) == 1


async def test_small_export_streams_and_large_one_runs_as_a_job(pages: Console, seeded: Seeded) -> None:
    viewer = await pages.client("viewer")
    small = await viewer.post(
        f"/staff/consolidation/{seeded.other_document_id}/export", data={"format": "jsonl"}
    )
    assert small.status_code == 200
    lines = [json.loads(x) for x in small.text.splitlines() if x]
    assert lines and all(x["document_code"] == "other-draft" for x in lines)
    assert not any(str(x["respondent"]).isdigit() for x in lines)  # pseudonyms for a viewer
    bad = await viewer.post(f"/staff/consolidation/{seeded.document_id}/export", data={"format": "pdf"})
    assert bad.status_code == 422
    queued = await viewer.post(f"/staff/consolidation/{seeded.document_id}/export", data={"format": "xlsx"})
    assert queued.status_code == 303
    job_url = queued.headers["location"]
    assert re.fullmatch(r"/staff/consolidation/jobs/\d+", job_url)
    page = await viewer.get(job_url)
    assert page.status_code == 200 and "<progress" in page.text
    await pages.app.state.services.export_jobs.wait()
    fragment = await viewer.get(job_url + "/progress")
    assert "job-file" in fragment.text and "hx-trigger" not in fragment.text  # done: polling stops
    file = await viewer.get(job_url + "/file")
    assert file.status_code == 200 and file.content[:2] == b"PK"
    assert len(await audit_rows(pages, "export.job")) == 1
    assert len(await audit_rows(pages, "export.download")) == 1


async def test_theme_edits_need_an_analyst_and_are_audited(pages: Console, seeded: Seeded) -> None:
    analyst = await pages.client("analyst")
    url = f"/staff/consolidation?document_id={seeded.document_id}"
    page = await analyst.get(url)
    keys = re.findall(r'data-theme="([a-z0-9]+)"', page.text)
    assert keys, "the seeded opinions give themes"
    form = re.search(
        r'action="/staff/consolidation/(\d+)/themes/([a-z0-9]+)/rename".*?name="section_id" value="(\d*)"',
        page.text,
        re.S,
    )
    assert form
    key, section = form.group(2), form.group(3)
    renamed = await analyst.post(
        f"/staff/consolidation/{seeded.document_id}/themes/{key}/rename",
        data={"section_id": section, "name": "Phát triển kinh tế địa phương"},
    )
    assert renamed.status_code == 303
    assert "Phát triển kinh tế địa phương" in (await analyst.get(renamed.headers["location"])).text
    unknown = await analyst.post(
        f"/staff/consolidation/{seeded.document_id}/themes/a0000000000000000/rename",
        data={"section_id": section, "name": "x"},
    )
    assert unknown.status_code == 422
    assert len(await audit_rows(pages, "theme.rename")) == 1
    viewer = await pages.client("viewer")
    refused = await viewer.post(
        f"/staff/consolidation/{seeded.document_id}/themes/{key}/rename", data={"name": "y"}
    )
    assert refused.status_code == 403


async def test_a_failed_job_offers_a_retry(pages: Console, seeded: Seeded) -> None:
    from sqlalchemy import update

    from storage.models_staff import ExportJobRow

    viewer = await pages.client("viewer")
    queued = await viewer.post(f"/staff/consolidation/{seeded.document_id}/export", data={"format": "csv"})
    job_url = queued.headers["location"]
    await pages.app.state.services.export_jobs.wait()
    async with pages.sessions() as session:  # as a restart leaves it
        await session.execute(update(ExportJobRow).values(status="failed", error="interrupted"))
        await session.commit()
    page = await viewer.get(job_url)
    assert "Không tạo được tệp." in page.text and f'action="{job_url}/retry"' in page.text
    assert (await viewer.get(job_url + "/file")).status_code == 409
    retried = await viewer.post(job_url + "/retry")
    assert retried.status_code == 303
    await pages.app.state.services.export_jobs.wait()
    assert "job-file" in (await viewer.get(job_url + "/progress")).text
    assert len(await audit_rows(pages, "export.retry")) == 1


async def test_the_pages_have_no_inline_code_and_speak_english(pages: Console, seeded: Seeded) -> None:
    admin = await pages.client("admin")
    urls = [
        "/staff/drafts",
        f"/staff/drafts/{seeded.document_id}",
        "/staff/opinions?hidden=include",
        "/staff/opinions/GY-T00001",
        f"/staff/consolidation?document_id={seeded.document_id}",
    ]
    for url in urls:
        page = await admin.get(url)
        assert page.status_code == 200, url
        assert "<script>" not in page.text and " style=" not in page.text, url
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    await admin.get("/staff/drafts?lang=en")
    english = await admin.get(f"/staff/consolidation?document_id={seeded.document_id}")
    assert "Synthesis report (Word)" in english.text and "Báo cáo tổng hợp" not in english.text
