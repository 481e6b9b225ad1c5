"""Unit tests of the citizen conversation (state machine) against in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import FixedClock
from core.conversation.contact import PREFIX as CONTACT_PREFIX
from core.conversation.model import Event
from core.domain import DocumentStatus, FeedbackStatus, Stance
from core.i18n import t
from tests.conversation_driver import Driver
from tests.fakes import sample_store

NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)


async def consented(driver: Driver) -> Driver:
    await driver.command("start")
    await driver.press("Tôi đồng ý")
    return driver


async def submit_one(driver: Driver, text: str = "Đề nghị bổ sung giải pháp việc làm.") -> str:
    await driver.press("Góp ý dự thảo")
    await driver.press("Dự thảo mở")
    await driver.press("Phần một")
    await driver.press("Kinh tế")
    await driver.press("Không tán thành")
    await driver.say(text)
    await driver.press("Xong")
    return await driver.answer_profile_and_submit("worker (vi)", "dtn (vi)", "loc3 (vi)")


async def test_nothing_stored_before_consent_and_decline_ends_politely(driver: Driver) -> None:
    out = await driver.command("start")
    assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU" in out.replies[0].text
    assert driver.store.respondents == {}
    out = await driver.press("Không đồng ý")
    assert "không lưu bất kỳ thông tin" in driver.texts()
    assert driver.store.respondents == {}
    assert out.state["step"] == "declined"


async def test_full_submission_stores_opinion_with_receipt_and_profile_snapshot(driver: Driver) -> None:
    await consented(driver)
    code = await submit_one(driver, "Cần  bổ sung\u200b giải pháp.")
    assert code.startswith("GY-") and len(code) == 9
    [feedback] = driver.store.feedback.values()
    assert feedback.receipt_code == code
    assert feedback.stance is Stance.DISAGREE
    assert feedback.section_id == 2 and feedback.document_id == 1
    assert feedback.text == "Cần  bổ sung giải pháp."  # zero-width space removed
    assert feedback.profile.category == "worker" and feedback.profile.locality == "loc3"
    # the profile is remembered: the second opinion does not ask again
    await driver.press("Góp ý tiếp")
    await driver.press("Phần một")
    await driver.press("Xã hội")
    await driver.press("Tán thành")
    out = await driver.press("Xong")
    assert "Vui lòng kiểm tra" in out.replies[-1].text
    await driver.press("Gửi ý kiến")
    assert len(driver.store.feedback) == 2


async def test_deep_link_prefills_organisation_and_skips_the_question(driver: Driver) -> None:
    await driver.command("start", "org-pn")
    await driver.press("Tôi đồng ý")
    [respondent] = driver.store.respondents.values()
    assert respondent.profile.organisation == "pn"
    await driver.press("Góp ý dự thảo")
    await driver.press("Dự thảo mở")
    await driver.press("Mục 4")
    await driver.press("Tán thành")
    await driver.press("Xong")
    await driver.press("farmer (vi)")
    assert "phường, xã nào" in driver.texts()  # organisation question skipped
    await driver.press("loc1 (vi)")
    await driver.press("Bỏ qua")
    await driver.press("Bỏ qua")
    await driver.press("Gửi ý kiến")
    [feedback] = driver.store.feedback.values()
    assert feedback.profile.organisation == "pn"


async def test_unknown_deep_link_organisation_is_ignored(driver: Driver) -> None:
    await driver.command("start", "org-nope")
    await driver.press("Tôi đồng ý")
    [respondent] = driver.store.respondents.values()
    assert respondent.profile.organisation is None


async def test_required_text_and_overlong_text_keep_what_was_given(driver: Driver) -> None:
    driver.settings = type(driver.settings)(max_text_length=50)
    await consented(driver)
    await driver.press("Góp ý dự thảo")
    await driver.press("Dự thảo mở")
    await driver.press("Mục 5")
    await driver.press("Đồng ý một phần")
    await driver.press("Xong")
    assert t("error.text_required_partial", "vi") in driver.texts()
    await driver.say("a" * 30)
    out = await driver.say("b" * 30)
    assert "quá dài" in out.replies[0].text and "30 ký tự" in out.replies[0].text
    assert driver.state["draft"]["parts"] == ["a" * 30]
    await driver.say("c" * 10)
    assert driver.state["draft"]["parts"] == ["a" * 30, "c" * 10]


async def test_pagination_and_nested_parts(driver: Driver) -> None:
    await consented(driver)
    await driver.press("Góp ý dự thảo")
    out = await driver.press("Dự thảo mở")
    assert "trang 1/3" in out.replies[0].text
    labels = [lbl for lbl, _ in driver.choices()]
    assert "I. Phần một ▸" in labels and "Trang sau ▶" in labels
    await driver.press("Trang sau ▶")
    assert "trang 2/3" in driver.texts()
    await driver.press("Trang sau ▶")
    assert "trang 3/3" in driver.texts()
    assert "Trang sau ▶" not in [lbl for lbl, _ in driver.choices()]
    await driver.press("◀ Trang trước")
    await driver.press("◀ Trang trước")
    await driver.press("Phần một")
    assert "Góp ý chung cho cả phần này" in [lbl for lbl, _ in driver.choices()][0]
    await driver.press("Góp ý chung cho cả phần này")
    assert driver.state["draft"]["section_id"] == 1
    assert driver.state["step"] == "stance"


async def test_stale_and_foreign_buttons_get_a_notice_not_a_crash(driver: Driver) -> None:
    await consented(driver)
    old_screen = driver.last.screen if driver.last else 0
    await driver.press("Góp ý dự thảo")
    out = await driver.send(Event.choice("fb", old_screen))
    assert out.notice == t("notice.stale", "vi")
    out = await driver.send(Event.choice("garbage:data", driver.last.screen if driver.last else 0))
    assert out.notice == t("notice.stale", "vi")
    assert driver.state["step"] == "doc"


async def test_closed_document_says_when_it_closed(driver: Driver) -> None:
    await consented(driver)
    await driver.press("Góp ý dự thảo")
    out = await driver.press("Dự thảo đã đóng")
    assert "đã hết hạn góp ý lúc 20/11/2025 10:00" in out.replies[0].text


async def test_document_closing_before_submit_keeps_the_text_for_the_person(driver: Driver) -> None:
    await consented(driver)
    await submit_one(driver)
    await driver.press("Góp ý tiếp")
    await driver.press("Mục 6")
    await driver.press("Ý kiến khác")
    await driver.say("Đề xuất mới về giao thông.")
    await driver.press("Xong")
    driver.store.documents[1] = driver.store.documents[1].__class__(
        1, "open-doc", "Dự thảo mở", DocumentStatus.CLOSED, closes_at=NOW - timedelta(minutes=1)
    )
    out = await driver.press("Gửi ý kiến")
    assert "Đề xuất mới về giao thông." in "\n".join(r.text for r in out.replies)
    assert len(driver.store.feedback) == 1


async def test_unsupported_messages_get_a_clear_reply_and_change_nothing(driver: Driver) -> None:
    await consented(driver)
    await driver.press("Góp ý dự thảo")
    step = driver.state["step"]
    out = await driver.send(Event.unsupported("sticker"))
    assert out.replies[0].text == t("error.unsupported_message", "vi")
    assert driver.state["step"] == step


async def test_my_opinions_edit_and_withdraw(driver: Driver) -> None:
    await consented(driver)
    code = await submit_one(driver)
    await driver.press("Menu")
    await driver.press("Ý kiến của tôi")
    await driver.press(code)
    await driver.press("Sửa")
    await driver.press("Ý kiến khác")
    await driver.press("Xóa và viết lại")
    await driver.say("Nội dung đã sửa.")
    await driver.press("Xong")
    out = await driver.press("Lưu thay đổi")
    assert code in out.replies[0].text
    [feedback] = driver.store.feedback.values()
    assert feedback.text == "Nội dung đã sửa." and feedback.stance is Stance.OTHER
    await driver.press(code)
    await driver.press("Rút ý kiến")
    await driver.press("Có, rút ý kiến")
    [feedback] = driver.store.feedback.values()
    assert feedback.status is FeedbackStatus.WITHDRAWN


async def test_cancel_returns_to_menu_and_language_switch(driver: Driver) -> None:
    await consented(driver)
    await driver.press("Góp ý dự thảo")
    out = await driver.command("cancel")
    assert out.state["step"] == "menu" and "draft" not in out.state
    await driver.command("language")
    out = await driver.press("English")
    assert "Switched to English" in out.replies[0].text
    assert "What would you like to do?" in out.replies[-1].text
    [respondent] = driver.store.respondents.values()
    assert respondent.language == "en"


async def test_erase_my_data(driver: Driver) -> None:
    await consented(driver)
    await submit_one(driver)
    await driver.command("mydata")
    assert "Số ý kiến đã gửi: 1" in driver.texts()
    await driver.press("Xóa toàn bộ dữ liệu")
    await driver.press("Có, xóa tất cả")
    assert driver.store.respondents == {} and driver.store.feedback == {}


async def test_the_state_keeps_a_copy_of_the_respondent_and_a_write_checks_the_consent(
    driver: Driver,
) -> None:
    await consented(driver)
    out = await driver.press("Góp ý dự thảo")
    [respondent] = driver.store.respondents.values()
    assert out.state["known"]["id"] == respondent.id  # the next events need no respondent read
    # the respondent disappears behind the conversation's back (nothing in Gopy does this but the
    # conversation itself): the copy still says consented, saving the profile does not
    driver.store.respondents.clear()
    for label in ("Dự thảo mở", "Phần một", "Kinh tế", "Tán thành", "Xong"):
        await driver.press(label)
    out = await driver.press("Ẩn danh")
    assert t("error.consent_required", "vi") in driver.texts()
    assert out.state["step"] == "consent" and "known" not in out.state
    # nor does the insert of an opinion, once the profile is given
    await driver.press("Tôi đồng ý")
    await submit_one(driver)
    driver.store.respondents.clear()
    for label in ("Góp ý tiếp", "Phần một", "Kinh tế", "Tán thành", "Xong"):
        await driver.press(label)
    out = await driver.press("Gửi ý kiến")
    assert len(driver.store.feedback) == 1  # the first one only
    assert t("error.consent_required", "vi") in driver.texts()
    assert out.state["step"] == "consent" and "known" not in out.state
    # /start reads the respondent as stored, whatever the copy says
    await driver.press("Tôi đồng ý")
    assert "known" in driver.state
    driver.store.respondents.clear()
    out = await driver.command("start")
    assert out.state["step"] == "consent" and "known" not in out.state


async def test_repeated_submit_press_does_not_duplicate(driver: Driver) -> None:
    await consented(driver)
    await driver.press("Góp ý dự thảo")
    await driver.press("Dự thảo mở")
    await driver.press("Mục 7")
    await driver.press("Tán thành")
    await driver.press("Xong")
    await driver.press("Ẩn danh")
    confirm_screen = driver.last.screen if driver.last else 0
    state_at_confirm = dict(driver.state)
    await driver.press("Gửi ý kiến")
    # a restart that lost the state update replays the same press from the confirm state
    driver.state = state_at_confirm
    await driver.send(Event.choice("submit", confirm_screen))
    assert len(driver.store.feedback) == 1


EVENTS = st.one_of(
    st.builds(Event.text, st.text(max_size=60)),
    st.builds(
        Event.command, st.sampled_from(["start", "cancel", "menu", "help", "language", "mydata", "zzz"])
    ),
    st.builds(Event.unsupported, st.sampled_from(["sticker", "photo", "voice", "location"])),
    st.builds(
        lambda d, s: Event.choice(d, s), st.text(max_size=12), st.one_of(st.none(), st.integers(0, 50))
    ),
    st.just("PRESS"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(EVENTS, st.integers(0, 30)), max_size=40))
async def test_any_sequence_never_raises_and_never_loses_a_confirmed_submission(steps: list) -> None:  # type: ignore[type-arg]
    driver = Driver(sample_store(NOW), FixedClock(NOW), max_text_length=200)
    receipts: list[str] = []
    for event, pick in steps:
        if event == "PRESS":
            options = driver.choices() if driver.last else []
            if not options:
                continue
            _label, data = options[pick % len(options)]
            assert driver.last is not None
            event = Event.choice(data, driver.last.screen)
        out = await driver.send(event)
        for reply in out.replies:
            assert reply.text
            for data in reply.choice_data():
                assert len(f"{out.screen}|{data}".encode()) <= 64
                # the contact conversation owns this prefix in the same bot
                assert not data.startswith(CONTACT_PREFIX), data
            if "Mã biên nhận: " in reply.text:
                receipts.append(reply.text.split("Mã biên nhận: ")[1].split()[0])
    stored = {f.receipt_code for f in driver.store.feedback.values()}
    erased = not driver.store.respondents
    if not erased:
        assert set(receipts) <= stored


async def test_a_button_of_an_earlier_message_of_the_same_step_still_works(driver: Driver) -> None:
    await consented(driver)
    await driver.press("Góp ý dự thảo")
    await driver.press("Dự thảo mở")
    await driver.press("Mục 4")
    prompt = await driver.press("Ý kiến khác")
    await driver.say("Ý kiến thứ nhất.")
    # "Xong" pressed on the prompt above the latest message: same step, so it is not stale
    done = next(c.data for r in prompt.replies for row in r.choices for c in row if c.data == "done")
    out = await driver.send(Event.choice(done, prompt.screen))
    assert out.notice is None and driver.state["step"] == "prof_cat"


async def test_text_typed_at_the_stance_step_is_kept_as_the_opinion(driver: Driver) -> None:
    """The section screen asks for an opinion above the stance buttons: typing it there loses nothing."""
    await consented(driver)
    await driver.press("Góp ý dự thảo")
    await driver.press("Dự thảo mở")
    await driver.press("Phần một")
    await driver.press("Kinh tế")
    out = await driver.say("Đề nghị làm rõ chỉ tiêu tăng trưởng.")
    assert driver.state["step"] == "stance"
    assert t("stance.text_kept", "vi") in driver.texts()
    assert t("error.use_buttons", "vi") not in driver.texts()
    assert [lbl for lbl, _ in driver.choices()][:1] == [t("stance.agree", "vi")]
    assert out.replies[-1].choices  # the stance buttons are shown again
    await driver.press("Không tán thành")
    out = await driver.press("Xong")  # no need to type the text a second time
    await driver.answer_profile_and_submit("worker (vi)", "dtn (vi)", "loc3 (vi)")
    [feedback] = driver.store.feedback.values()
    assert feedback.text == "Đề nghị làm rõ chỉ tiêu tăng trưởng."
    assert feedback.stance is Stance.DISAGREE
