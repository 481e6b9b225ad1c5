"""The contact's channel-neutral conversation against in-memory fakes: bind, submit, refusals, leave."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.conversation.contact import ContactContext, ContactConversation, IncomingFile
from core.conversation.model import ConversationSettings, Event, Outcome
from core.domain import ReportingPeriod
from core.i18n import t
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


def upload(content: bytes, size: int | None = None, name: str | None = None) -> IncomingFile:
    async def read() -> bytes:
        return content

    return IncomingFile(size=len(content) if size is None else size, read=read, name=name)


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
    assert "Số ý kiến thu được: 1.250" in text(out)
    out = await bound.send(Event.choice("rp:ok", 0))
    assert "lần nộp thứ 1" in text(out)
    [report] = bound.data.reports
    assert f"mã biên nhận {report.receipt_code}" in text(out) and "mã 1" not in text(out)
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
    assert "thôi làm đầu mối" in text(out)
    out = await bound.send(Event.choice("rp:stop", 0))
    assert "không nhận nhắc nhở nữa" in text(out)
    out = await bound.send(Event.choice("rp:sub", 0))
    assert "chưa là đầu mối" in text(out) and bound.state["step"] == "idle"


def front_period(pid: int, due: datetime, title: str) -> ReportingPeriod:
    return ReportingPeriod(pid, f"p-{pid}", 1, "before", due, title, title, None, ("front_org",))


def choice_data(out: Outcome) -> list[str]:
    return [c.data for r in out.replies for row in r.choices for c in row]


async def test_deadlines_list_upcoming_by_date_and_overdue_once(bound: Harness) -> None:
    bound.data.periods += [
        front_period(3, datetime(2025, 12, 31, 17, tzinfo=UTC), "Kỳ cuối năm"),  # 00:00 01/01 local
        front_period(4, datetime(2025, 11, 25, 17, tzinfo=UTC), "Kỳ quá hạn"),
        front_period(5, datetime(2025, 11, 20, 17, tzinfo=UTC), "Kỳ đã nộp"),
        front_period(6, datetime(2025, 12, 2, 10, tzinfo=UTC), "Kỳ giữa ngày"),  # 17:00 local
        front_period(7, datetime(2025, 9, 1, 17, tzinfo=UTC), "Kỳ rất cũ"),
    ]
    await bound.send(Event.choice("rp:p:5", 0), now=NOW - timedelta(days=12))
    await bound.send(Event.unsupported("document"), upload(PDF), now=NOW - timedelta(days=12))
    await bound.send(Event.choice("rp:skip", 0))
    await bound.send(Event.choice("rp:skip", 0))
    await bound.send(Event.choice("rp:ok", 0), now=NOW - timedelta(days=12))
    out = text(await bound.send(Event.choice("rp:dl", 0)))
    assert out.splitlines() == [
        "Hạn nộp báo cáo của Mặt trận:",
        "Đang diễn ra và sắp tới:",
        "• Kỳ giữa ngày — Hạn cuối: 17:00 ngày 02/12/2025 (còn 1 ngày)",
        "• Kỳ A — Hạn cuối: hết ngày 04/12/2025 (còn 3 ngày)",
        "• Kỳ cuối năm — Hạn cuối: hết ngày 31/12/2025 (còn 30 ngày)",
        "",
        "Đã quá hạn, chưa nộp:",
        "• Kỳ quá hạn — Hạn cuối: hết ngày 25/11/2025 (đã quá hạn 5 ngày)",
    ]
    assert "00:00" not in out and "Kỳ đã nộp" not in out and "Kỳ rất cũ" not in out
    # choosing a period to submit still offers every period, the ones not submitted first
    picked = choice_data(await bound.send(Event.choice("rp:sub", 0)))
    assert picked[:4] == ["rp:p:4", "rp:p:6", "rp:p:1", "rp:p:3"] and "rp:p:5" in picked


async def test_deadlines_with_nothing_upcoming_say_so(bound: Harness) -> None:
    out = text(await bound.send(Event.choice("rp:dl", 0), now=NOW + timedelta(days=10)))
    assert out.splitlines()[1:] == [
        "Đang diễn ra và sắp tới:",
        "(không có)",
        "",
        "Đã quá hạn, chưa nộp:",
        "• Kỳ A — Hạn cuối: hết ngày 04/12/2025 (đã quá hạn 6 ngày)",
    ]


async def test_upload_request_and_english_deadline(bound: Harness) -> None:
    out = text(await bound.send(Event.choice("rp:p:1", 0)))
    assert "Hạn cuối: hết ngày 04/12/2025" in out and "00:00" not in out
    bound.state["lang"] = "en"
    out = text(await bound.send(Event.choice("rp:dl", 0)))
    assert "• Period A — Deadline: end of 04/12/2025 (3 days left)" in out


async def test_offchannel_claim_needs_confirmation(bound: Harness) -> None:
    out = await bound.send(Event.choice("rp:o:1", 0))
    assert "qua kênh khác" in text(out) and "Kỳ A" in text(out)
    assert choice_data(out) == ["rp:oc:1", "rp:cancel"]
    assert bound.data.reports == []  # nothing recorded by the first tap
    await bound.send(Event.choice("rp:cancel", 0))
    assert bound.data.reports == []
    await bound.send(Event.choice("rp:o:1", 0))
    out = await bound.send(Event.choice("rp:oc:1", 0))
    assert "Đã ghi nhận" in text(out)
    [report] = bound.data.reports
    assert (report.kind, report.period_id) == ("offchannel", 1)


async def test_stop_reminders_needs_confirmation(bound: Harness) -> None:
    out = await bound.send(Event.command("stop_reminders"))
    assert "Mặt trận" in text(out) and "lời mời mới" in text(out)
    assert choice_data(out) == ["rp:stop", "rp:cancel"] and bound.state["step"] == "leave"
    assert bound.data.contacts[1].status.value == "active"  # nothing changed by the command itself
    out = await bound.send(Event.choice("rp:cancel", 0))
    assert bound.data.contacts[1].status.value == "active" and bound.state["step"] == "menu"
    # the confirmation's button is only good right after the question
    out = await bound.send(Event.choice("rp:stop", 0))
    assert "không còn dùng được" in out.notice and bound.data.contacts[1].status.value == "active"  # type: ignore[operator]
    await bound.send(Event.command("stop_reminders"))
    out = await bound.send(Event.choice("rp:stop", 0))
    assert "không nhận nhắc nhở nữa" in text(out) and bound.data.contacts[1].status.value == "left"


async def test_stop_reminders_when_not_a_contact() -> None:
    h = Harness()
    out = await h.send(Event.command("stop_reminders"))
    assert "chưa là đầu mối" in text(out) and choice_data(out) == [] and h.state["step"] == "idle"


async def test_refused_file_offers_to_send_again(bound: Harness) -> None:
    await bound.send(Event.choice("rp:p:1", 0))
    for refused in (upload(b"MZ not a report"), upload(PDF, size=21 * 1024 * 1024)):
        out = await bound.send(Event.unsupported("document"), refused)
        assert [c.label for r in out.replies for row in r.choices for c in row] == ["Gửi lại tệp", "Hủy"]
        assert choice_data(out) == ["rp:p:1", "rp:cancel"] and bound.state["step"] == "upload"
    out = await bound.send(Event.choice("rp:p:1", 0))
    assert "Gửi tệp báo cáo" in text(out) and bound.state["step"] == "upload"
    out = await bound.send(Event.unsupported("document"), upload(PDF))
    assert "Đã nhận tệp PDF" in text(out)


async def test_check_screen_shows_file_name_and_separators(bound: Harness) -> None:
    big = PDF + b"0" * (1536 * 1024)
    await bound.send(Event.choice("rp:p:1", 0))
    out = await bound.send(Event.unsupported("document"), upload(big, name="C:\\tmp\\Báo cáo\ttháng 11.pdf"))
    assert "(1,5 MB)" in text(out)
    await bound.send(Event.choice("rp:skip", 0))
    out = text(await bound.send(Event.text("12500")))
    assert "Tệp: Báo cáo tháng 11.pdf (PDF, 1,5 MB)" in out and "Số ý kiến thu được: 12.500" in out
    await bound.send(Event.choice("rp:cancel", 0))
    bound.state["lang"] = "en"
    await bound.send(Event.choice("rp:p:1", 0))
    await bound.send(Event.unsupported("document"), upload(big, name="Báo cáo tháng 11.pdf"))
    await bound.send(Event.choice("rp:skip", 0))
    out = text(await bound.send(Event.text("1234567")))
    assert "File: Báo cáo tháng 11.pdf (PDF, 1.5 MB)" in out and "Opinions gathered: 1,234,567" in out


async def test_receipt_codes_are_unique_and_read_back() -> None:
    from core.reporting import report_id_of_receipt, report_receipt_code

    codes = {report_receipt_code(i) for i in range(1, 20001)}
    assert len(codes) == 20000
    assert all(re.fullmatch(r"BC-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}", c) for c in codes)
    for i in (1, 2, 999, 123456789):
        assert report_id_of_receipt(report_receipt_code(i)) == i
        assert report_id_of_receipt(report_receipt_code(i).lower()) == i
    assert report_id_of_receipt("GY-7K3F9Q") is None and report_id_of_receipt("BC-00000") is None


async def test_invite_shows_a_privacy_notice_before_anything_is_stored() -> None:
    h = Harness()
    await h.invite()
    out = await h.send(Event.command("start", "u-tok"))
    shown = text(out)
    assert t("reporting.bind.privacy", "vi", org=ConversationSettings().org_name) in shown
    assert "mã cuộc trò chuyện Telegram" in shown and "/stop_reminders" in shown
    assert h.data.contacts[1].chat_id is None and h.data.contacts[1].status.value == "invited"
