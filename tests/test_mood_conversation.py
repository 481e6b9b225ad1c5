"""The mood path of the citizen conversation (congress → kind → topic → shared steps), against fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.conversation.model import Event
from core.domain import FeedbackKind, FeedbackStatus, Stance
from core.i18n import t
from tests.conversation_driver import Driver
from tests.test_conversation import consented, submit_one

NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)


async def start_mood(driver: Driver) -> None:
    await driver.press("Gửi tâm tư, nguyện vọng, kiến nghị về Đại hội")


async def send_mood(driver: Driver, text: str = "Mong Đại hội chọn được người tài.") -> str:
    await start_mood(driver)
    await driver.press("Đại hội XIV")
    await driver.press("Nguyện vọng")
    await driver.press("economy (vi)")
    await driver.say(text)
    await driver.press("Xong")
    return await driver.answer_profile_and_submit("farmer (vi)", "pn (vi)", "loc2 (vi)")


async def test_menu_offers_only_congresses_open_or_upcoming(driver: Driver) -> None:
    await consented(driver)
    out = await driver.press("Gửi tâm tư")
    labels = [label for label, _ in driver.choices()]
    # city-17 closed on 5/11/2025; grassroots has no period; national open; next term upcoming
    assert labels[:2] == ["Đại hội XIV", "Đại hội nhiệm kỳ sau"]
    assert "Đại hội XVII thành phố" not in labels and "Đại hội cơ sở" not in labels
    assert "Trước ĐH XIV" in out.replies[0].text and "Kỳ sau" in out.replies[0].text


async def test_full_mood_entry_is_stored_with_congress_period_kind_topic_and_profile(driver: Driver) -> None:
    await consented(driver)
    code = await send_mood(driver, "Mong  Đại hội\u200b chọn được người tài.")
    [entry] = driver.store.feedback.values()
    assert entry.receipt_code == code
    assert entry.kind is FeedbackKind.ASPIRATION and entry.stance is None
    assert entry.congress_id == 2 and entry.period_id == 3  # before the 14th Congress
    assert entry.topic == "economy" and entry.document_id is None
    assert entry.text == "Mong  Đại hội chọn được người tài."  # same normalisation as drafts
    assert entry.profile.category == "farmer" and entry.profile.organisation == "pn"
    assert entry.created_at == NOW
    assert "Trước ĐH XIV" in driver.texts()  # the receipt says which report it goes into


async def test_profile_is_shared_between_the_two_paths(driver: Driver) -> None:
    await consented(driver)
    await submit_one(driver)  # the draft path asks the profile once
    await driver.press("Menu")
    await start_mood(driver)
    await driver.press("Đại hội XIV")
    await driver.press("Kiến nghị")
    await driver.press("Bỏ qua")
    await driver.say("Kiến nghị giảm thủ tục hành chính.")
    out = await driver.press("Xong")
    assert "Vui lòng kiểm tra" in out.replies[-1].text  # not asked again
    assert "worker (vi)" in out.replies[-1].text and "(không chọn)" in out.replies[-1].text
    await driver.press("Gửi ý kiến")
    mood = [f for f in driver.store.feedback.values() if f.kind is FeedbackKind.RECOMMENDATION]
    assert len(mood) == 1 and mood[0].profile.category == "worker" and mood[0].topic is None


async def test_text_step_is_shared_required_limits_and_several_messages(driver: Driver) -> None:
    driver.settings = type(driver.settings)(max_text_length=50)
    await consented(driver)
    await start_mood(driver)
    await driver.press("Đại hội XIV")
    await driver.press("Tâm tư")
    out = await driver.press("Bỏ qua")
    assert out.replies[0].expects_text and out.replies[0].max_length == 50
    assert "tâm tư" in out.replies[0].text
    await driver.press("Xong")
    assert t("mood.text_required", "vi") in driver.texts()
    await driver.say("a" * 30)
    out = await driver.say("b" * 30)
    assert "quá dài" in out.replies[0].text
    await driver.say("c" * 10)
    assert driver.state["draft"]["parts"] == ["a" * 30, "c" * 10]
    await driver.press("Quay lại")
    assert driver.state["step"] == "m_topic"


async def test_confirm_edits_come_back_to_the_summary(driver: Driver) -> None:
    await consented(driver)
    await start_mood(driver)
    await driver.press("Đại hội nhiệm kỳ sau")
    await driver.press("Tâm tư")
    await driver.press("other (vi)")
    await driver.say("Lo lắng về việc làm.")
    await driver.press("Xong")
    await driver.press("Ẩn danh")
    assert driver.state["step"] == "confirm"
    await driver.press("Đổi loại")
    await driver.press("Kiến nghị")
    assert driver.state["step"] == "confirm"
    await driver.press("Đổi Đại hội")
    await driver.press("Đại hội XIV")
    assert driver.state["step"] == "confirm"
    await driver.press("Đổi chủ đề")
    out = await driver.press("economy (vi)")
    summary = out.replies[-1].text
    assert "Kiến nghị" in summary and "Đại hội XIV" in summary and "economy (vi)" in summary
    await driver.press("Gửi ý kiến")
    [entry] = driver.store.feedback.values()
    assert (entry.kind, entry.congress_id, entry.topic) == (FeedbackKind.RECOMMENDATION, 2, "economy")
    assert entry.profile.anonymous


async def test_upcoming_congress_entry_goes_to_its_single_period(driver: Driver) -> None:
    await consented(driver)
    await start_mood(driver)
    await driver.press("Đại hội nhiệm kỳ sau")
    await driver.press("Nguyện vọng")
    await driver.press("Bỏ qua")
    await driver.say("Mong có thêm đại biểu trẻ.")
    await driver.press("Xong")
    await driver.press("Ẩn danh")
    await driver.press("Gửi ý kiến")
    [entry] = driver.store.feedback.values()
    assert entry.period_id == 5


async def test_another_entry_keeps_the_congress(driver: Driver) -> None:
    await consented(driver)
    await send_mood(driver)
    out = await driver.press("Gửi ý kiến khác")
    assert driver.state["step"] == "m_kind" and driver.state["draft"]["congress_id"] == 2
    assert "Đại hội XIV" in out.replies[0].text
    assert driver.state["draft"]["client_ref"]


async def test_window_closing_before_submit_keeps_the_text(driver: Driver) -> None:
    await consented(driver)
    await start_mood(driver)
    await driver.press("Đại hội XIV")
    await driver.press("Tâm tư")
    await driver.press("Bỏ qua")
    await driver.say("Nội dung cần giữ lại.")
    await driver.press("Xong")
    await driver.press("Ẩn danh")
    driver.clock.set(datetime(2026, 2, 5, tzinfo=UTC))  # past the last report of the 14th Congress
    out = await driver.press("Gửi ý kiến")
    assert "Nội dung cần giữ lại." in "\n".join(r.text for r in out.replies)
    assert driver.store.feedback == {}
    assert driver.state["step"] == "menu"


async def test_stale_congress_button_gets_a_notice(driver: Driver) -> None:
    await consented(driver)
    await start_mood(driver)
    out = await driver.send(Event.choice("c:1", driver.last.screen if driver.last else 0))  # closed city-17
    assert out.notice == t("notice.stale", "vi")
    out = await driver.send(Event.choice("c:999", driver.last.screen if driver.last else 0))
    assert out.notice == t("notice.stale", "vi")
    assert driver.state["step"] == "m_cong"


async def test_no_congress_open_says_so(driver: Driver) -> None:
    driver.clock.set(NOW + timedelta(days=400))
    await consented(driver)
    await start_mood(driver)
    assert t("mood.none_open", "vi") in driver.texts()
    assert [data for _, data in driver.choices()] == ["menu"]


async def test_my_opinions_show_mood_entries_with_congress_and_kind_and_allow_withdrawal(
    driver: Driver,
) -> None:
    await consented(driver)
    draft_code = await submit_one(driver)
    await driver.press("Menu")
    code = await send_mood(driver)
    await driver.press("Menu")
    out = await driver.press("Ý kiến của tôi")
    listing = out.replies[0].text
    assert f"{code} — Nguyện vọng" in listing and f"{draft_code} — Không tán thành" in listing
    out = await driver.press(code)
    item = out.replies[0].text
    assert "Đại hội: Đại hội XIV" in item and "Trước ĐH XIV" in item and "economy (vi)" in item
    assert "Dự thảo" not in item
    labels = [label for label, _ in driver.choices()]
    assert not any("Sửa" in label for label in labels)  # no stance to edit
    await driver.press("Rút ý kiến")
    await driver.press("Có, rút ý kiến")
    mood = next(f for f in driver.store.feedback.values() if f.receipt_code == code)
    assert mood.status is FeedbackStatus.WITHDRAWN


async def test_draft_path_is_unchanged_by_the_refactor(driver: Driver) -> None:
    await consented(driver)
    await submit_one(driver)
    [entry] = driver.store.feedback.values()
    assert entry.kind is FeedbackKind.DRAFT_OPINION and entry.stance is Stance.DISAGREE
    assert entry.congress_id is None and entry.period_id is None
    assert driver.state["draft"] == {"flow": "draft", "last_document_id": 1}


async def test_english_mood_path(driver: Driver) -> None:
    await driver.command("start")
    await driver.press("Ngôn ngữ")
    await driver.press("English")
    await driver.press("I agree")
    await driver.press("Concerns, aspirations")
    await driver.press("14th National")
    out = await driver.press("A concern")
    assert "Which topic" in out.replies[0].text
