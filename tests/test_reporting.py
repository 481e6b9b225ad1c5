"""Reporting units: reminder planning (deterministic preview for the bundled plan), invites, submission,
compliance, the outbox and the scheduler lease — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cli.reporting import preview_lines
from core import errors
from core.config import BUNDLED_DATA_DIR, Settings
from core.reporting import (
    ComplianceStatus,
    ReminderPolicy,
    StoredReportFile,
    bind_contact,
    detect_report_type,
    hash_invite,
    invite_contact,
    materialise_reminders,
    open_report_file,
    period_compliance,
    plan_messages,
    reminder_policy,
    store_report_file,
    submit_report,
)
from storage.loaders import load_file
from storage.models_reporting import OutboxRow
from storage.repositories_reporting import LocalFileStore, acquire_lease
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.reporting_helpers import PDF, bound_contact, load_with_units, office_zip

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
STAFF = 900
PERIOD = "national-14-before"  # due 2025-12-05 00:00 local (month 2025-12, due day 5)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=HCM).astimezone(UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(staff_chat_ids=[STAFF], _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def plan(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Bundled plan and units; contacts bound for the Front (chat 501) and District 1 (chat 502)."""
    await load_with_units(sessions, NOW)
    return {
        "mttq": await bound_contact(sessions, unit="mttq", chat_id=501, now=NOW),
        "du-p-hong-bang": await bound_contact(
            sessions, unit="du-p-hong-bang", chat_id=502, now=NOW, name="Minh"
        ),
    }


async def _plan_at(sessions: async_sessionmaker[AsyncSession], settings: Settings, at: datetime) -> list:  # type: ignore[type-arg]
    async with SqlUnitOfWork(sessions) as uow:
        return await plan_messages(
            uow=uow, policy=reminder_policy(settings), staff_chat_ids=settings.staff_chat_ids, now=at
        )


def _summary(planned: list) -> list[tuple[str, str, str | None, int]]:  # type: ignore[type-arg]
    return sorted((p.step, p.period_code, p.unit_code, p.message.chat_id) for p in planned)


async def test_preview_t_minus_7(sessions, settings, plan) -> None:  # type: ignore[no-untyped-def]
    planned = await _plan_at(sessions, settings, local("2025-11-28 08:00"))
    assert _summary(planned) == [("t-7", PERIOD, "du-p-hong-bang", 502), ("t-7", PERIOD, "mttq", 501)]
    text = planned[0].message.text
    assert "Hạn cuối: hết ngày 04/12/2025 (còn 6 ngày)" in text and "00:00" not in text
    assert [b[1] for row in planned[0].message.buttons for b in row] == [
        f"rp:r:{planned[0].message.period_id}",
        f"rp:o:{planned[0].message.period_id}",
        f"rp:z:{planned[0].message.period_id}",
    ]
    # a minute earlier nothing is due yet
    assert await _plan_at(sessions, settings, local("2025-11-28 07:59")) == []


async def test_preview_t_minus_1_due_day_and_overdue(sessions, settings, plan) -> None:  # type: ignore[no-untyped-def]
    t1 = await _plan_at(sessions, settings, local("2025-12-04 08:00"))
    assert {p.step for p in t1} == {"t-1"} and len(t1) == 2
    assert "còn 16 giờ" in t1[0].message.text
    due = await _plan_at(sessions, settings, local("2025-12-05 08:00"))
    assert {p.step for p in due} == {"due"}
    overdue = await _plan_at(sessions, settings, local("2025-12-07 09:00"))
    assert {(p.step, p.unit_code) for p in overdue} == {
        ("late-2", "mttq"),
        ("late-2", "du-p-hong-bang"),
        ("digest", None),
    }
    assert "đã quá hạn 2 ngày" in overdue[0].message.text
    escalation = await _plan_at(sessions, settings, local("2025-12-09 08:00"))
    reminders = [p for p in escalation if p.message.kind == "reminder"]
    staff = [p for p in escalation if p.message.kind == "escalation"]
    assert reminders == [] and len(staff) == 1 and staff[0].message.chat_id == STAFF
    assert staff[0].message.text.count("•") == 13  # every bundled unit is still missing
    assert (
        "(hạn nộp: hết ngày 04/12/2025)" in staff[0].message.text
    )  # due 00:00 on the 5th, read as people do
    # the daily digest to staff at 08:30
    digest = [p for p in await _plan_at(sessions, settings, local("2025-12-06 08:30")) if p.step == "digest"]
    assert len(digest) == 1 and "chưa nộp 13" in digest[0].message.text
    assert "hạn nộp: hết ngày 04/12/2025" in digest[0].message.text and "00:00" not in digest[0].message.text


async def test_preview_after_submission(sessions, settings, plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = LocalFileStore(tmp_path / "files")
    async with SqlUnitOfWork(sessions) as uow:
        period = next(p for p in await uow.plan.list_periods() if p.code == PERIOD)
        stored = store_report_file(files=files, content=PDF)
        report = await submit_report(
            uow=uow,
            contact_id=plan["mttq"],
            period_id=period.id,
            file=stored,
            summary="Tình hình ổn định",
            opinions_count=120,
            now=local("2025-12-03 10:00"),
        )
    assert report.version == 1 and not report.late
    planned = await _plan_at(sessions, settings, local("2025-12-04 08:00"))
    assert _summary(planned) == [("t-1", PERIOD, "du-p-hong-bang", 502)]
    async with SqlUnitOfWork(sessions) as uow:
        rows = await period_compliance(uow=uow, period_code=PERIOD, now=local("2025-12-04 08:00"))
        found, path = await open_report_file(uow=uow, files=files, report_id=report.id)
    by_unit = {r.unit_code: r for r in rows}
    assert by_unit["mttq"].status is ComplianceStatus.ON_TIME and by_unit["mttq"].version == 1
    assert (
        by_unit["du-p-hong-bang"].status is ComplianceStatus.MISSING
        and by_unit["du-p-hong-bang"].contacts == 1
    )
    assert len(rows) == 13 and path.read_bytes() == PDF and found.file_type == "pdf"


async def test_compliance_table_as_a_workbook(
    sessions, plan, database_url, monkeypatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`gopy periods status --xlsx`: Vietnamese headers, unit and kind names, status words, real dates."""
    import asyncio

    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from cli.main import app
    from core.config import get_settings
    from core.i18n import t
    from core.reporting.compliance import COMPLIANCE_COLUMNS

    files = LocalFileStore(tmp_path / "files")
    async with SqlUnitOfWork(sessions) as uow:
        period = next(p for p in await uow.plan.list_periods() if p.code == PERIOD)
        await submit_report(
            uow=uow,
            contact_id=plan["mttq"],
            period_id=period.id,
            file=store_report_file(files=files, content=PDF),
            summary="Tình hình ổn định",
            opinions_count=120,
            now=local("2025-12-03 10:00"),
        )
        units = {u.code: u for u in await uow.reporting.list_units()}
        kinds = {k.code: k.name("vi") for k in await uow.reference.list("unit_kinds")}
    monkeypatch.setenv("GOPY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    out = tmp_path / "status.xlsx"
    try:
        args = ["periods", "status", PERIOD, "--xlsx", str(out)]
        result = await asyncio.to_thread(CliRunner().invoke, app, args)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Đã ghi bảng tình hình báo cáo (13 đơn vị)" in result.output
    book = load_workbook(out)
    sheet = book.worksheets[0]
    assert sheet.title == t("reporting.compliance.sheet", "vi")
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(t(f"reporting.compliance.column.{c}", "vi") for c in COMPLIANCE_COLUMNS)
    by_unit = {r[1]: r for r in rows[1:]}
    assert len(by_unit) == 13
    front = by_unit["mttq"]
    assert front[2] == units["mttq"].name_vi and front[3] == kinds[units["mttq"].kind]
    assert front[4] == t("reporting.compliance.on_time", "vi") and front[5] == 1
    assert front[6] == datetime(2025, 12, 3, 10, 0)  # a real date, local time
    assert (
        by_unit["du-p-hong-bang"][4] == t("reporting.compliance.missing", "vi")
        and by_unit["du-p-hong-bang"][6] is None
    )
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:J{len(rows)}"


async def test_cli_names_reports_by_receipt_code_and_confirms_by_it(
    sessions, plan, database_url, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """`periods status` shows the BC- code the contact was given; `periods confirm BC-…` confirms that report."""
    import asyncio

    from typer.testing import CliRunner

    from cli.main import app
    from core.config import get_settings
    from core.reporting import claim_offchannel
    from core.reporting.model import report_receipt_code

    async with SqlUnitOfWork(sessions) as uow:
        period = next(p for p in await uow.plan.list_periods() if p.code == PERIOD)
        claimed = await claim_offchannel(
            uow=uow, contact_id=plan["mttq"], period_id=period.id, now=local("2025-12-03 10:00")
        )
    code = report_receipt_code(claimed.id)
    monkeypatch.setenv("GOPY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        status = await asyncio.to_thread(runner.invoke, app, ["periods", "status", PERIOD])
        unknown = await asyncio.to_thread(runner.invoke, app, ["periods", "confirm", "BC-???"])
        confirmed = await asyncio.to_thread(runner.invoke, app, ["periods", "confirm", code.lower()])
    finally:
        get_settings.cache_clear()
    assert status.exit_code == 0, status.output
    front = next(line for line in status.output.splitlines() if line.strip().startswith("mttq"))
    assert f"{code} (#{claimed.id})" in front
    assert unknown.exit_code == 2 and "mã biên nhận" in unknown.output
    assert confirmed.exit_code == 0, confirmed.output
    assert f"{code} (#{claimed.id}): confirmed (on time)" in confirmed.output
    async with SqlUnitOfWork(sessions) as uow:
        report = await uow.reporting.get_report(claimed.id)
    assert report is not None and report.confirmed_at is not None


async def test_preview_in_quiet_hours(sessions, settings, plan) -> None:  # type: ignore[no-untyped-def]
    at = local("2025-12-04 22:00")
    async with SqlUnitOfWork(sessions) as uow:
        lines = await preview_lines(uow=uow, settings=settings, moments=[at])
    reminder_lines = [line for line in lines if "reminder" in line and "(chat 50" in line]
    assert len(reminder_lines) == 2
    assert sum("(no contact: not sent)" in line for line in lines) == 11  # 13 units, 2 with a contact
    assert all("quiet hours — deferred until 07:00 05/12" in line for line in reminder_lines)
    assert reminder_policy(settings).in_quiet_hours(at)
    assert not reminder_policy(settings).in_quiet_hours(local("2025-12-05 07:00"))


async def test_materialise_is_idempotent_and_submission_stops_reminders(sessions, settings, plan) -> None:  # type: ignore[no-untyped-def]
    at = local("2025-11-28 08:05")
    policy = reminder_policy(settings)
    for expected in (2, 0):
        async with SqlUnitOfWork(sessions) as uow:
            assert (
                await materialise_reminders(uow=uow, policy=policy, staff_chat_ids=[STAFF], now=at)
                == expected
            )
    async with sessions() as session:
        keys = sorted(await session.scalars(select(OutboxRow.key)))
    assert len(keys) == 2 and all(k.startswith("rem:") and k.endswith(":t-7") for k in keys)


async def test_invite_states(sessions, plan) -> None:  # type: ignore[no-untyped-def]
    async with SqlUnitOfWork(sessions) as uow:
        invite = await invite_contact(
            uow=uow, unit_code="hoi-pn", name="Hoa", now=NOW, ttl=timedelta(hours=1)
        )
    assert len(invite.payload) <= 64 and invite.payload.startswith("u-")
    assert invite.link("gopy_bot").startswith("https://t.me/gopy_bot?start=u-")
    async with SqlUnitOfWork(sessions) as uow:
        with pytest.raises(errors.UnknownInvite):
            await bind_contact(uow=uow, invite_hash=hash_invite("nope"), chat_id=7, language="vi", now=NOW)
        with pytest.raises(errors.InviteExpired):
            await bind_contact(
                uow=uow,
                invite_hash=hash_invite(invite.token),
                chat_id=7,
                language="vi",
                now=NOW + timedelta(hours=2),
            )
        with pytest.raises(errors.UnitNotFound):
            await invite_contact(uow=uow, unit_code="nope", name="", now=NOW, ttl=timedelta(hours=1))
    async with SqlUnitOfWork(sessions) as uow:
        await bind_contact(uow=uow, invite_hash=hash_invite(invite.token), chat_id=7, language="vi", now=NOW)
    async with SqlUnitOfWork(sessions) as uow:
        with pytest.raises(errors.InviteUsed):
            await bind_contact(
                uow=uow, invite_hash=hash_invite(invite.token), chat_id=8, language="vi", now=NOW
            )


async def test_resubmission_late_and_wrong_period(sessions, plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        await load_file(session, BUNDLED_DATA_DIR / "plan-demo.yaml", now=NOW)
        await session.commit()
    async with SqlUnitOfWork(sessions) as uow:
        periods = {p.code: p for p in await uow.plan.list_periods()}
    stored = StoredReportFile("a" * 64, 10, "pdf")
    versions = []
    for at in (local("2025-12-04 10:00"), local("2025-12-06 10:00")):
        async with SqlUnitOfWork(sessions) as uow:
            versions.append(
                await submit_report(
                    uow=uow,
                    contact_id=plan["du-p-hong-bang"],
                    period_id=periods[PERIOD].id,
                    file=stored,
                    summary="",
                    opinions_count=None,
                    now=at,
                )
            )
    assert [(r.version, r.late) for r in versions] == [(1, False), (2, True)]
    async with SqlUnitOfWork(sessions) as uow:
        rows = {r.unit_code: r for r in await period_compliance(uow=uow, period_code=PERIOD, now=NOW)}
        assert rows["du-p-hong-bang"].status is ComplianceStatus.LATE and rows["du-p-hong-bang"].version == 2
        # the demo's overdue period is for front organisations only: District 1 does not report on it
        with pytest.raises(errors.PeriodNotForUnit):
            await submit_report(
                uow=uow,
                contact_id=plan["du-p-hong-bang"],
                period_id=periods["demo-national-overdue"].id,
                file=stored,
                summary="",
                opinions_count=None,
                now=NOW,
            )
        with pytest.raises(errors.ReportingPeriodNotFound):
            await period_compliance(uow=uow, period_code="nope", now=NOW)


async def test_scheduler_lease_is_exclusive(sessions: async_sessionmaker[AsyncSession]) -> None:
    ttl = timedelta(seconds=30)
    async with sessions() as s:
        assert await acquire_lease(s, name="reminders", holder="a", now=NOW, ttl=ttl)
        assert not await acquire_lease(
            s, name="reminders", holder="b", now=NOW + timedelta(seconds=10), ttl=ttl
        )
        assert await acquire_lease(s, name="reminders", holder="a", now=NOW + timedelta(seconds=20), ttl=ttl)
        assert not await acquire_lease(
            s, name="reminders", holder="b", now=NOW + timedelta(seconds=40), ttl=ttl
        )
        assert await acquire_lease(s, name="reminders", holder="b", now=NOW + timedelta(seconds=51), ttl=ttl)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PDF, "pdf"),
        (office_zip("docx"), "docx"),
        (office_zip("xlsx"), "xlsx"),
        (office_zip("odt"), "odt"),
        (b"PK\x03\x04 not really a zip", None),
        (b"MZ\x90\x00 an executable renamed to report.pdf", None),
        (b"", None),
    ],
)
def test_detect_report_type_by_content(content: bytes, expected: str | None) -> None:
    assert detect_report_type(content) == expected


def test_store_report_file_rejects_and_stores_nothing(tmp_path: Path) -> None:
    files = LocalFileStore(tmp_path)
    with pytest.raises(errors.ReportFileType):
        store_report_file(files=files, content=b"plain text, named report.docx")
    with pytest.raises(errors.ReportFileTooLarge):
        store_report_file(files=files, content=PDF + b"x" * 100, max_bytes=50)
    assert list(tmp_path.rglob("*")) == []
    stored = store_report_file(files=files, content=office_zip("docx"))
    assert files.path(stored.sha256).read_bytes() == office_zip("docx") and stored.type == "docx"


def test_policy_steps_are_in_local_time() -> None:
    policy = ReminderPolicy()
    steps = dict(policy.steps(local("2025-12-05 00:00")))
    assert steps["t-7"] == local("2025-11-28 08:00")
    assert steps["due"] == local("2025-12-05 08:00")
    assert steps["late-3"] == local("2025-12-08 08:00")
    assert steps["escalate"] == local("2025-12-09 08:00")
    assert policy.quiet_until(local("2025-12-04 23:30")) == local("2025-12-05 07:00")
