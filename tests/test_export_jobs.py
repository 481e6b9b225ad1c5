"""Background export jobs: the runner writes the file page by page in short transactions with its
progress committed after every page, holds no connection between pages, recovers from a restart
(interrupted → failed, retryable), and the API queues, follows and serves a job; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from api.export_jobs import ExportJobRunner
from core import errors
from core.clock import FixedClock
from core.config import Settings
from core.exports import EXPORT_COLUMNS, ExportFormat, FeedbackFilters, LabelMode
from core.staff import export_jobs as jobs
from storage.models_api import AuditLogRow
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.staff_api import HASH_KEY, make_keys, seed, serve


def _settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, hash_key=HASH_KEY, exports_dir=tmp_path / "exports")


async def _queue(sessions, fmt: ExportFormat, filters: FeedbackFilters | None = None, **kw) -> int:  # type: ignore[no-untyped-def]
    async with SqlUnitOfWork(sessions) as uow:
        job = await jobs.start_export_job(
            uow=uow,
            actor="staff:test",
            filters=filters or FeedbackFilters(),
            fmt=fmt,
            labels=kw.get("labels", LabelMode.CODES),
            language="vi",
            pii=False,
            now=NOW,
        )
    assert job.status is jobs.JobStatus.QUEUED and job.progress is None
    return job.id


async def test_the_runner_writes_page_by_page_with_committed_progress(
    loaded, engine, database_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    data = await seed(loaded, count=40)
    expected = {r["receipt_code"] for r in data.rows}
    job_id = await _queue(loaded, ExportFormat.CSV)
    seen: list[tuple[int, int, int]] = []

    async def on_progress(job: int, done: int) -> None:
        held = engine.pool.checkedout()  # between pages the runner holds no connection
        async with SqlUnitOfWork(loaded) as uow:  # and what it did is committed: another one sees it
            stored = await jobs.get_export_job(uow=uow, job_id=job)
        seen.append((done, stored.rows_done, held))
        assert stored.status is jobs.JobStatus.RUNNING and stored.rows_total == len(expected)

    runner = ExportJobRunner(
        loaded, _settings(database_url, tmp_path), FixedClock(NOW), page_size=7, on_progress=on_progress
    )
    runner.submit(job_id)
    await runner.wait()
    assert [done for done, _, _ in seen] == [7, 14, 21, 28, 35, 42, 43]
    assert all(done == stored and held == 0 for done, stored, held in seen)
    async with SqlUnitOfWork(loaded) as uow:
        job = await jobs.get_export_job(uow=uow, job_id=job_id)
    assert job.status is jobs.JobStatus.DONE and job.progress == 1.0 and job.rows_done == 43
    assert job.file_path is not None and Path(job.file_path).parent == tmp_path / "exports"
    rows = list(csv.reader(io.StringIO(Path(job.file_path).read_bytes().decode("utf-8-sig"))))
    assert tuple(rows[0]) == EXPORT_COLUMNS and {r[0] for r in rows[1:]} == expected
    assert not [p for p in (tmp_path / "exports").iterdir() if p.name.startswith(".")]  # no partial file
    async with loaded() as session:
        audit = list(
            await session.execute(select(AuditLogRow.action, AuditLogRow.row_count).order_by(AuditLogRow.id))
        )
    assert [tuple(a) for a in audit if a[0].startswith("export")] == [
        ("export.job", None),
        ("export.feedback", 43),
    ]


async def test_an_xlsx_job_for_people_and_a_filtered_jsonl_job(loaded, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = await seed(loaded, count=20)
    xlsx = await _queue(loaded, ExportFormat.XLSX, labels=LabelMode.LABELS)
    jsonl = await _queue(loaded, ExportFormat.JSONL, FeedbackFilters(stance="agree", q="phat trien"))  # type: ignore[arg-type]
    runner = ExportJobRunner(loaded, _settings(database_url, tmp_path), FixedClock(NOW), page_size=6)
    runner.submit(xlsx)
    runner.submit(jsonl)
    await runner.wait()
    async with SqlUnitOfWork(loaded) as uow:
        done = {j.id: j for j in await jobs.list_export_jobs(uow=uow)}
    book = load_workbook(done[xlsx].file_path, read_only=True)
    assert book.sheetnames == ["Ý kiến", "Thống kê"]
    assert sum(1 for _ in book["Ý kiến"].iter_rows()) == len(data.rows) + 1
    lines = Path(str(done[jsonl].file_path)).read_text(encoding="utf-8").splitlines()
    wanted = {r["receipt_code"] for r in data.rows if r["stance"] == "agree" and "phát triển" in r["text"]}
    assert {json.loads(line)["receipt_code"] for line in lines} == wanted and done[jsonl].rows_done == len(
        wanted
    )


async def test_a_restart_fails_the_interrupted_job_which_a_retry_runs_again(
    loaded, database_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    await seed(loaded, count=10)
    interrupted = await _queue(loaded, ExportFormat.CSV)
    queued = await _queue(loaded, ExportFormat.JSONL)
    clock = FixedClock(NOW)
    async with SqlUnitOfWork(loaded) as uow:  # a runner took it, then its process died
        assert await jobs.claim_export_job(uow=uow, job_id=interrupted, now=NOW) is not None
    settings = _settings(database_url, tmp_path)
    runner = ExportJobRunner(loaded, settings, clock)
    clock.advance(seconds=settings.export_job_stale_seconds - 1)  # still fresh: another process may run it
    await runner.start()
    await runner.wait()
    async with SqlUnitOfWork(loaded) as uow:
        assert (await jobs.get_export_job(uow=uow, job_id=interrupted)).status is jobs.JobStatus.RUNNING
        assert (await jobs.get_export_job(uow=uow, job_id=queued)).status is jobs.JobStatus.DONE
    clock.advance(seconds=2)
    await ExportJobRunner(loaded, settings, clock).start()
    async with SqlUnitOfWork(loaded) as uow:
        failed = await jobs.get_export_job(uow=uow, job_id=interrupted)
        assert failed.status is jobs.JobStatus.FAILED and failed.error == "interrupted" and failed.retryable
        with pytest.raises(errors.ExportJobNotReady):
            await jobs.open_export_job_file(uow=uow, actor="s", job_id=interrupted, pii_allowed=True, now=NOW)
    async with SqlUnitOfWork(loaded) as uow:
        again = await jobs.retry_export_job(uow=uow, actor="staff:test", job_id=interrupted, now=NOW)
    assert again.status is jobs.JobStatus.QUEUED and again.error is None
    runner.submit(interrupted)
    await runner.wait()
    async with SqlUnitOfWork(loaded) as uow:
        assert (await jobs.get_export_job(uow=uow, job_id=interrupted)).status is jobs.JobStatus.DONE
        with pytest.raises(errors.ExportJobNotReady):  # only a failed job is retried
            await jobs.retry_export_job(uow=uow, actor="s", job_id=interrupted, now=NOW)
        with pytest.raises(errors.ExportJobNotFound):
            await jobs.get_export_job(uow=uow, job_id=999)


async def test_a_failing_job_is_failed_without_a_partial_file(loaded, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await seed(loaded, count=10)
    job_id = await _queue(loaded, ExportFormat.CSV)
    (tmp_path / "exports").write_text("a file where the folder should be")
    runner = ExportJobRunner(loaded, _settings(database_url, tmp_path), FixedClock(NOW))
    runner.submit(job_id)
    await runner.wait()
    async with SqlUnitOfWork(loaded) as uow:
        job = await jobs.get_export_job(uow=uow, job_id=job_id)
    assert job.status is jobs.JobStatus.FAILED and job.error == "FileExistsError" and job.file_path is None


async def test_export_jobs_over_http(database_url, loaded, clock, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GOPY_EXPORTS_DIR", str(tmp_path / "http-exports"))
    monkeypatch.setenv("GOPY_EXPORT_BACKGROUND_ROWS", "30")
    keys = await make_keys(loaded)
    data = await seed(loaded, count=40)
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            estimate = await client.get("/v1/exports/estimate", headers=keys.auth("reader"))
            assert estimate.json() == {"rows": len(data.rows), "background": True, "background_rows": 30}
            small = await client.get(
                "/v1/exports/estimate", params={"stance": "agree"}, headers=keys.auth("reader")
            )
            assert small.json()["background"] is False
            assert (await client.post("/v1/exports/jobs", headers=keys.auth("reports"))).status_code == 403
            started = await client.post(
                "/v1/exports/jobs",
                params={"format": "xlsx", "stance": "disagree"},
                headers=keys.auth("reader"),
            )
            assert started.status_code == 202, started.text
            job = started.json()
            assert job["status"] in {"queued", "running", "done"} and job["filters"] == {"stance": "disagree"}
            deadline = asyncio.get_running_loop().time() + 30
            while job["status"] not in {"done", "failed"}:
                assert asyncio.get_running_loop().time() < deadline, job
                await asyncio.sleep(0.05)
                job = (await client.get(f"/v1/exports/jobs/{job['id']}", headers=keys.auth("reader"))).json()
            wanted = {r["receipt_code"] for r in data.rows if r["stance"] == "disagree"}
            assert job["status"] == "done" and job["rows_done"] == job["rows_total"] == len(wanted)
            assert job["progress"] == 1.0
            file = await client.get(f"/v1/exports/jobs/{job['id']}/file", headers=keys.auth("reader"))
            assert file.status_code == 200 and file.headers["content-type"] == ExportFormat.XLSX.media_type
            book = load_workbook(io.BytesIO(file.content), read_only=True)
            assert sum(1 for _ in book.worksheets[0].iter_rows()) == len(wanted) + 1
            listed = await client.get("/v1/exports/jobs", headers=keys.auth("reader"))
            assert [j["id"] for j in listed.json()] == [job["id"]]
            missing = await client.get("/v1/exports/jobs/999", headers=keys.auth("reader"))
            assert missing.status_code == 404 and missing.json()["error"]["message_vi"]
            (tmp_path / "http-exports" / f"export-{job['id']}.xlsx").unlink()
            gone = await client.get(f"/v1/exports/jobs/{job['id']}/file", headers=keys.auth("reader"))
            assert gone.status_code == 409 and gone.json()["error"]["message_en"]
            retry_done = await client.post(f"/v1/exports/jobs/{job['id']}/retry", headers=keys.auth("reader"))
            assert retry_done.status_code == 409
    async with loaded() as session:
        actions = list(
            await session.scalars(select(AuditLogRow.action).where(AuditLogRow.action.like("export.%")))
        )
    assert actions == ["export.job", "export.feedback", "export.download"]  # the refused one: no row


async def test_a_graceful_stop_fails_the_job_in_hand_as_interrupted(loaded, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await seed(loaded, count=20)
    job_id = await _queue(loaded, ExportFormat.CSV)
    writing = asyncio.Event()

    async def stall(_job: int, _done: int) -> None:
        writing.set()
        await asyncio.Event().wait()  # the process is stopped while the job is under way

    runner = ExportJobRunner(
        loaded, _settings(database_url, tmp_path), FixedClock(NOW), page_size=5, on_progress=stall
    )
    runner.submit(job_id)
    await writing.wait()
    await runner.stop()
    async with SqlUnitOfWork(loaded) as uow:
        job = await jobs.get_export_job(uow=uow, job_id=job_id)
    assert job.status is jobs.JobStatus.FAILED and job.error == "interrupted" and job.rows_done == 5
    assert list((tmp_path / "exports").iterdir()) == []  # the partial file is gone


async def test_the_app_starts_with_queued_jobs_and_runs_them(
    database_url, loaded, clock, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A job queued before the process started (e.g. a restart) is run by the app's runner."""
    monkeypatch.setenv("GOPY_EXPORTS_DIR", str(tmp_path / "restart"))
    keys = await make_keys(loaded)
    await seed(loaded, count=5)
    job_id = await _queue(loaded, ExportFormat.JSONL)
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                job = (await client.get(f"/v1/exports/jobs/{job_id}", headers=keys.auth("reader"))).json()
                if job["status"] == "done":
                    break
                assert asyncio.get_running_loop().time() < deadline, job
                await asyncio.sleep(0.05)
    assert (tmp_path / "restart" / f"export-{job_id}.jsonl").exists()


async def test_the_app_starts_on_a_database_not_migrated(tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    with serve(url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            assert (await client.get("/healthz")).status_code == 200
