"""The contact's channel-neutral conversation against in-memory fakes: bind, submit, refusals, leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.conversation.contact import ContactContext, ContactConversation, IncomingFile
from core.conversation.model import Event, Outcome
from core.domain import ReportingPeriod
from core.reporting import Unit, hash_invite
from tests.fakes_reporting import FakeReportingData, FakeReportingUoW, MemoryFileStore
from tests.reporting_helpers import PDF

NOW = datetime(2025, 12, 1, 3, 0, tzinfo=UTC)
CHAT = 4242


class Harness:
    def __init__(self) -> None:
        self.data = FakeReportingData()
        self.data.units = [
            Unit(1, "mttq", "front_org", "Mặt trận", "Front"),
            Unit(2, "qu-1", "district", "Q1", "D1"),
        ]
        self.data.periods = [
            ReportingPeriod(
                1,
                "p-front",
                1,
                "before",
                datetime(2025, 12, 4, 17, tzinfo=UTC),
                "Kỳ A",
                "Period A",
                None,
                ("front_org",),
            ),
            ReportingPeriod(
                2,
                "p-district",
                1,
                "before",
                datetime(2025, 12, 4, 17, tzinfo=UTC),
                "Kỳ B",
                "Period B",
                None,
                ("district",),
            ),
        ]
        self.files = MemoryFileStore()
        self.state: dict[str, Any] = {}
        self.conversation = ContactConversation()

    async def send(self, event: Event, file: IncomingFile | None = None, now: datetime = NOW) -> Outcome:
        async with FakeReportingUoW(self.data) as uow:
            ctx = ContactContext(uow=uow, files=self.files, chat_id=CHAT, language="vi", now=now)  # type: ignore[arg-type]
            outcome = await self.conversation.handle(self.state, event, ctx, file)
        self.state = outcome.state
        return outcome

    async def invite(
        self, unit_id: int = 1, token: str = "tok", expires: timedelta = timedelta(days=1)
    ) -> None:
        async with FakeReportingUoW(self.data) as uow:
            await uow.reporting.add_contact(
                unit_id=unit_id, name="Lan", invite_hash=hash_invite(token), expires_at=NOW + expires, now=NOW
            )
            await uow.commit()


def text(outcome: Outcome) -> str:
    return "\n".join(r.text for r in outcome.replies)


def upload(content: bytes, size: int | None = None) -> IncomingFile:
    async def read() -> bytes:
        return content

    return IncomingFile(size=len(content) if size is None else size, read=read)


@pytest.fixture
async def bound() -> Harness:
    h = Harness()
    await h.invite()
    await h.send(Event.command("start", "u-tok"))
    await h.send(Event.choice("rp:bind", 0))
    return h


async def test_bind_needs_confirmation_and_is_single_use() -> None:
    h = Harness()
    await h.invite()
    out = await h.send(Event.command("start", "u-tok"))
    assert "Mặt trận" in text(out) and h.state["step"] == "bind"
    assert h.data.contacts[1].chat_id is None  # nothing bound before the confirmation
    out = await h.send(Event.choice("rp:bind", 0))
    assert "Đồng chí đã là đầu mối" in text(out) and h.state["step"] == "menu"
    assert h.data.contacts[1].chat_id == CHAT
    out = await h.send(Event.command("start", "u-tok"))
    assert "đã được sử dụng" in text(out)


async def test_expired_and_unknown_invites() -> None:
    h = Harness()
    await h.invite(expires=timedelta(hours=-1))
    assert "hết hạn" in text(await h.send(Event.command("start", "u-tok")))
    assert "không hợp lệ" in text(await h.send(Event.command("start", "u-other")))
    assert h.state["step"] == "idle"


async def test_submit_flow_with_summary_and_count(bound: Harness) -> None:
    out = await bound.send(Event.choice("rp:sub", 0))
    assert [c.data for row in out.replies[0].choices for c in row] == [
        "rp:p:1",
        "rp:cancel",
    ]  # front periods only
    await bound.send(Event.choice("rp:p:1", 0))
    out = await bound.send(Event.unsupported("document"), upload(PDF))
    assert "Đã nhận tệp PDF" in text(out) and bound.state["step"] == "summary"
    await bound.send(Event.text("Tình hình ổn định"))
    out = await bound.send(Event.text("một trăm"))
    assert "nhập một số" in text(out) and bound.state["step"] == "opinions"
    out = await bound.send(Event.text("1.250"))
    assert "Số ý kiến thu được: 1250" in text(out)
    out = await bound.send(Event.choice("rp:ok", 0))
    assert "lần nộp thứ 1" in text(out)
    [report] = bound.data.reports
    assert (report.unit_id, report.period_id, report.opinions_count, report.late) == (1, 1, 1250, False)
    assert report.summary == "Tình hình ổn định" and report.file_sha256 in bound.files.files


async def test_refusals_store_nothing(bound: Harness) -> None:
    out = await bound.send(Event.choice("rp:p:2", 0))  # a district period, the unit is a front organisation
    assert "không báo cáo kỳ" in text(out)
    await bound.send(Event.choice("rp:p:1", 0))
    out = await bound.send(Event.unsupported("document"), upload(b"MZ not a report"))
    assert "không đúng định dạng" in text(out) and bound.state["step"] == "upload"
    out = await bound.send(Event.unsupported("document"), upload(PDF, size=21 * 1024 * 1024))
    assert "quá lớn" in text(out)
    out = await bound.send(Event.text("đây là báo cáo"))
    assert "gửi tệp báo cáo" in text(out)
    assert bound.files.files == {} and bound.data.reports == []


async def test_late_resubmission_and_stop(bound: Harness) -> None:
    for at in (NOW, NOW + timedelta(days=5)):
        await bound.send(Event.choice("rp:r:1", 0), now=at)
        await bound.send(Event.unsupported("document"), upload(PDF), now=at)
        await bound.send(Event.choice("rp:skip", 0), now=at)
        await bound.send(Event.choice("rp:skip", 0), now=at)
        out = await bound.send(Event.choice("rp:ok", 0), now=at)
    assert "trễ hạn" in text(out)
    assert [(r.version, r.late) for r in bound.data.reports] == [(1, False), (2, True)]
    out = await bound.send(Event.command("stop_reminders"))
    assert "không nhận nhắc nhở nữa" in text(out)
    out = await bound.send(Event.choice("rp:sub", 0))
    assert "chưa là đầu mối" in text(out) and bound.state["step"] == "idle"
