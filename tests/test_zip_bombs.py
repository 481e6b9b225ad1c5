"""Zip bombs against every archive upload: the guard (core/archives.py), each path's time and memory in a
child process, and how each edge answers: the contact's report in the bot, the meeting import and the
document import in the API, ``gopy documents import``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import func, select

from core import errors
from core.archives import MIB, ArchiveLimits, check_archive, check_sheet_rows
from core.config import Settings
from core.reporting import detect_report_type, invite_contact
from formats.drafts import parse_docx
from storage.models import DocumentRow, FeedbackRow
from storage.uow import SqlUnitOfWork
from tests import zipbombs
from tests.reporting_helpers import office_zip
from tests.staff_console import first_admin_env
from tests.test_api_v1 import Api, _assert_error, api  # noqa: F401  (the fixture)
from tests.test_cli import gopy
from tests.test_reporting_e2e import World, polling, world  # noqa: F401  (the fixtures)

ROOT = Path(__file__).resolve().parent.parent
ROOMY = ArchiveLimits(max_entries=10, max_entry_bytes=2**31, max_total_bytes=2**31, max_ratio=10**6)
MAX_GROWTH_MB = 100
MAX_SECONDS = 10


def _docx() -> bytes:
    document = Document()
    document.add_heading("I. Phần một", 1)
    document.add_paragraph("Nội dung " * 2000)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------- the guard


def test_real_office_files_pass() -> None:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.add_worksheet().write_row(0, 0, ["a", "b"])
    book.close()
    for content in (_docx(), buffer.getvalue(), office_zip("odt"), zipbombs.xlsx_rows(100)):
        check_archive(content, ArchiveLimits())
    check_sheet_rows(zipbombs.xlsx_rows(100), max_rows=100)


def test_central_directory_limits() -> None:
    with pytest.raises(errors.ArchiveTooManyEntries) as entries:
        check_archive(zipbombs.many_entries(1001), ArchiveLimits())
    assert entries.value.params == {"max_entries": 1000}
    check_archive(zipbombs.many_entries(900), ArchiveLimits())

    with pytest.raises(errors.ArchiveTooLarge) as entry:
        check_archive(zipbombs.docx_bomb(65), ArchiveLimits(max_ratio=10**6))
    assert entry.value.params == {"max_mb": 64}
    check_archive(zipbombs.docx_bomb(64), ArchiveLimits(max_ratio=10**6))

    five = zipbombs.build_zip([zipbombs.zeros(f"part{i}.xml", 60) for i in range(5)])
    with pytest.raises(errors.ArchiveTooLarge) as total:
        check_archive(five, ArchiveLimits(max_ratio=10**6))
    assert total.value.params == {"max_mb": 256}

    with pytest.raises(errors.ArchiveRatio) as ratio:
        check_archive(zipbombs.docx_bomb(2), ArchiveLimits())
    assert ratio.value.params == {"max_ratio": 100}


def test_lying_headers_are_caught_while_inflating() -> None:
    # the central directory says 1000 bytes; the stream inflates to 1 GiB: refused after 1001 bytes
    with pytest.raises(errors.ArchiveInconsistent):
        check_archive(zipbombs.docx_bomb(1024, declared=1000), ROOMY)
    # or it says more than there is
    honest = zipbombs.zeros("word/document.xml", 1)
    overstated = zipbombs.Entry(honest.name, honest.data, honest.size + 1, honest.crc)
    with pytest.raises(errors.ArchiveInconsistent):
        check_archive(zipbombs.build_zip([overstated]), ROOMY)
    stored = zipbombs.Entry("mimetype", b"application/vnd.oasis.opendocument.text", 5, 0, method=0)
    with pytest.raises(errors.ArchiveInconsistent):
        check_archive(zipbombs.build_zip([stored]), ROOMY)
    bzip2 = zipbombs.Entry("x.xml", b"BZh9", 4, 0, method=zipfile.ZIP_BZIP2)
    with pytest.raises(errors.ArchiveInconsistent):
        check_archive(zipbombs.build_zip([bzip2]), ROOMY)


def test_broken_zips_stay_bad_zips() -> None:
    for content in (b"PK\x03\x04 not really", office_zip("docx")[:-30]):
        with pytest.raises(zipfile.BadZipFile):
            check_archive(content, ArchiveLimits())
    honest = zipbombs.zeros("word/document.xml", 1)
    with pytest.raises(zipfile.BadZipFile):  # a deflate stream cut short
        check_archive(zipbombs.build_zip([zipbombs.Entry(honest.name, honest.data[:100], MIB, 0)]), ROOMY)


def test_rows_are_counted_while_streaming_and_refused_at_the_limit() -> None:
    check_sheet_rows(zipbombs.xlsx_rows(20_000), max_rows=20_000)
    with pytest.raises(errors.TooManyRows) as rows:
        check_sheet_rows(zipbombs.xlsx_rows(20_001), max_rows=20_000)
    assert rows.value.params == {"max_rows": 20_000}
    dtd = zipbombs.build_zip(
        [zipbombs.deflated("xl/worksheets/sheet1.xml", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')]
    )
    with pytest.raises(errors.ArchiveInconsistent):
        check_sheet_rows(dtd, max_rows=10)


def test_limits_are_settings() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        archive_max_entries=5,
        archive_max_entry_mb=2,
        archive_max_total_mb=3,
        archive_max_ratio=50,
    )
    assert ArchiveLimits.from_settings(settings) == ArchiveLimits(5, 2 * MIB, 3 * MIB, 50)
    assert ArchiveLimits.from_settings(Settings(_env_file=None)) == ArchiveLimits()  # type: ignore[call-arg]


def test_report_type_detection_refuses_bombs_and_keeps_the_rest() -> None:
    for kind in ("docx", "xlsx", "odt"):
        assert detect_report_type(office_zip(kind)) == kind
    with pytest.raises(errors.ArchiveTooLarge):
        detect_report_type(zipbombs.docx_bomb(1024))
    assert detect_report_type(b"PK\x03\x04 broken") is None


def test_document_parser_refuses_bombs() -> None:
    assert parse_docx(_docx(), limits=ArchiveLimits()).count() == 1
    with pytest.raises(errors.ArchiveTooLarge):
        parse_docx(zipbombs.docx_bomb(1024))  # the configured limits by default
    with pytest.raises(errors.ArchiveInconsistent):
        parse_docx(zipbombs.docx_bomb(1024, declared=1000))


# ------------------------------------------------------------------------- time and memory, per path

ROOMY_ENV = {
    "GOPY_ARCHIVE_MAX_ENTRY_MB": "2048",
    "GOPY_ARCHIVE_MAX_TOTAL_MB": "2048",
    "GOPY_ARCHIVE_MAX_RATIO": "1000000",
}
BOMBS = {
    "docx-1gib": lambda: zipbombs.docx_bomb(1024),
    "docx-1gib-lying": lambda: zipbombs.docx_bomb(1024, declared=1000),
    "docx-types-lying": lambda: zipbombs.docx_types_bomb(1024),
    "docx-1gib-understated": lambda: zipbombs.docx_bomb(1024, declared=1024 * MIB - 1),
    "xlsx-1gib": lambda: zipbombs.xlsx_bomb(1024),
    "xlsx-4m-rows": lambda: zipbombs.xlsx_rows(4_000_000),
}


@pytest.mark.parametrize(
    ("target", "bomb", "env", "expected"),
    [
        ("report", "docx-1gib", {}, "error.archive.too_large"),
        ("report", "docx-1gib-lying", {}, "error.archive.inconsistent"),
        ("report", "docx-types-lying", {}, "error.archive.inconsistent"),
        ("document", "docx-1gib", {}, "error.archive.too_large"),
        ("document", "docx-1gib-lying", {}, "error.archive.inconsistent"),
        ("meeting", "xlsx-1gib", {}, "error.archive.too_large"),
        ("meeting", "xlsx-4m-rows", {}, "error.archive.too_large"),
        # with size and ratio limits out of the way, the rows are what stops it
        ("meeting", "xlsx-4m-rows", ROOMY_ENV, "error.archive.rows"),
        # the guard inflates the whole GiB (in 256 KB chunks) before it finds the lie
        ("document", "docx-1gib-understated", ROOMY_ENV, "error.archive.inconsistent"),
    ],
)
def test_refused_within_seconds_and_100_mb(
    tmp_path: Path, target: str, bomb: str, env: dict[str, str], expected: str
) -> None:
    path = tmp_path / "bomb.bin"
    path.write_bytes(BOMBS[bomb]())
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
    child_env.update(env, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "tests.bomb_child", target, str(path)],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(target, bomb, f"{path.stat().st_size / 1024:.0f} KB", result)
    assert result["outcome"] == expected
    assert result["growth_mb"] < MAX_GROWTH_MB
    assert result["seconds"] < MAX_SECONDS


# ------------------------------------------------------------------------------------------- edges


async def test_api_meeting_import_answers_4xx_with_both_languages(api: Api) -> None:  # noqa: F811
    auth = api.keys.auth("admin")
    async with api.sessions() as session:  # type: ignore[attr-defined]
        before = await session.scalar(select(func.count()).select_from(FeedbackRow))
    bomb = await api.client.post(
        "/v1/meetings/import", files={"file": ("m.xlsx", zipbombs.xlsx_bomb(1024))}, headers=auth
    )
    error = _assert_error(bomb, 413, "error.archive.too_large")
    assert "64 MB" in error["message_vi"] and "64 MB" in error["message_en"]
    rows = await api.client.post(
        "/v1/meetings/import", files={"file": ("m.xlsx", zipbombs.xlsx_rows(20_001))}, headers=auth
    )
    error = _assert_error(rows, 413, "error.archive.rows")
    assert "20000" in error["message_vi"] and "20000" in error["message_en"]
    lying = await api.client.post(
        "/v1/meetings/import",
        files={"file": ("m.xlsx", zipbombs.docx_bomb(1024, declared=1000))},
        headers=auth,
    )
    _assert_error(lying, 422, "error.archive.inconsistent")
    async with api.sessions() as session:  # type: ignore[attr-defined]
        assert await session.scalar(select(func.count()).select_from(FeedbackRow)) == before


async def test_api_document_import_answers_4xx(api: Api) -> None:  # noqa: F811
    async with api.sessions() as session:  # type: ignore[attr-defined]
        before = await session.scalar(select(func.count()).select_from(DocumentRow))
    for content, status, code in (
        (zipbombs.docx_bomb(1024), 413, "error.archive.too_large"),
        (zipbombs.docx_bomb(1024, declared=1000), 422, "error.archive.inconsistent"),
        (zipbombs.many_entries(5000), 413, "error.archive.entries"),
    ):
        response = await api.client.post(
            "/v1/documents/import", files={"file": ("d.docx", content)}, headers=api.keys.auth("admin")
        )
        _assert_error(response, status, code)
    async with api.sessions() as session:  # type: ignore[attr-defined]
        assert await session.scalar(select(func.count()).select_from(DocumentRow)) == before


def test_cli_document_import_refuses_a_bomb_in_both_languages(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'gopy.db'}"
    assert gopy("db", "upgrade", cwd=tmp_path, db=db, process=False).returncode == 0
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(zipbombs.docx_bomb(1024))
    result = gopy("documents", "import", str(bomb), cwd=tmp_path, db=db, process=False)
    assert result.returncode == 2
    assert "Lỗi: Tệp khi giải nén quá lớn (tối đa 64 MB)" in result.stderr
    assert "Error: The file unpacks to too much data (at most 64 MB)" in result.stderr
    assert "Traceback" not in result.stderr


async def test_bot_tells_the_contact_and_stores_nothing(world: World, polling: object) -> None:  # noqa: F811
    async with SqlUnitOfWork(world.sessions) as uow:
        invite = await invite_contact(
            uow=uow, unit_code="mttq", name="Lan", now=world.clock.now(), ttl=timedelta(days=3)
        )
    lan = world.server.user(1001, first_name="Lan", language_code="vi")
    await lan.command_and_wait("start", invite.payload)
    await lan.tap("Xác nhận")
    assert await world.materialise() == 1
    assert await world.drain() == 1
    reminder = (await lan.wait_reply())[-1]
    reply = await lan.tap("Nộp báo cáo", reminder)
    assert "Gửi tệp báo cáo" in reply.text

    await lan.send_document("bao-cao.docx", zipbombs.docx_bomb(1024), "application/octet-stream")
    reply = (await lan.wait_reply())[-1]
    assert "Tệp khi giải nén quá lớn (tối đa 64 MB)" in reply.text
    assert reply.button_texts()  # a way on: back to the menu
    await lan.send_document(
        "bao-cao.docx", zipbombs.docx_bomb(1024, declared=1000), "application/octet-stream"
    )
    reply = (await lan.wait_reply())[-1]
    assert "khai sai kích thước" in reply.text
    assert not world.settings.files_dir.exists() or not any(world.settings.files_dir.rglob("*"))

    # the same conversation still takes a real report
    await lan.send_document("bao-cao.docx", office_zip("docx"), "application/octet-stream")
    reply = (await lan.wait_reply())[-1]
    assert "Đã nhận tệp DOCX" in reply.text


def _peak_and_rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


def test_the_api_process_stays_small(tmp_path: Path) -> None:
    """``gopy api`` as a real process: each bomb upload adds less than 100 MB to its peak memory."""
    import time

    import httpx

    from tests.webchat_client import free_port

    db = f"sqlite+aiosqlite:///{tmp_path / 'gopy.db'}"
    assert gopy("db", "upgrade", cwd=tmp_path, db=db, process=False).returncode == 0
    created = gopy(
        "apikey", "create", "--name", "bombs", "--scopes", "admin", cwd=tmp_path, db=db, process=False
    )
    assert created.returncode == 0, created.stderr
    auth = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
    env.update(GOPY_DATABASE_URL=db, GOPY_PORT=str(port), GOPY_HASH_KEY="bomb-test-key", PYTHONPATH=str(ROOT))
    env.update(first_admin_env(tmp_path))
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("REDIS_URL", None)
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "api"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.1)
        with httpx.Client(base_url=base, headers=auth, timeout=60) as client:

            def post(path: str, name: str, content: bytes) -> tuple[httpx.Response, float, float]:
                _peak, before = _peak_and_rss_mb(proc.pid)
                start = time.monotonic()
                response = client.post(path, files={"file": (name, content)})
                seconds = time.monotonic() - start
                peak, _rss = _peak_and_rss_mb(proc.pid)
                return response, seconds, peak - before

            # warm up: the first upload of each kind loads openpyxl and python-docx
            assert post("/v1/meetings/import", "m.xlsx", zipbombs.xlsx_rows(2))[0].status_code == 422
            assert post("/v1/documents/import", "d.docx", _docx())[0].status_code == 201
            for path, name, content, code in (
                ("/v1/meetings/import", "m.xlsx", zipbombs.xlsx_bomb(1024), "error.archive.too_large"),
                ("/v1/meetings/import", "m.xlsx", zipbombs.xlsx_rows(4_000_000), "error.archive.too_large"),
                ("/v1/documents/import", "d.docx", zipbombs.docx_bomb(1024), "error.archive.too_large"),
                (
                    "/v1/documents/import",
                    "d.docx",
                    zipbombs.docx_bomb(1024, declared=1000),
                    "error.archive.inconsistent",
                ),
            ):
                response, seconds, growth = post(path, name, content)
                print(path, code, f"{seconds:.2f} s", f"{growth:.1f} MB")
                assert response.json()["error"]["code"] == code
                assert growth < MAX_GROWTH_MB
                assert seconds < MAX_SECONDS
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
