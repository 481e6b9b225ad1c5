"""Issue 15 in the channel-neutral conversation: who is asking, finding one's way in a long draft, the
profile's locality search, editing and the texts a person reads at each step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.clock import FixedClock
from core.domain import Document, DocumentStatus, ReferenceItem, Section
from tests.conversation_driver import Driver
from tests.fakes import FakeStore, sample_store

NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)
ORG = "Ban Dân vận Thành ủy Hải Phòng"
CONTACT = "0225 3745 000 · bandanvan@haiphong.gov.vn"
# 00:00 on 1 December, Hanoi time: the last day to comment is 30 November
CLOSES = datetime(2025, 12, 1, tzinfo=UTC) - timedelta(hours=7)


def long_draft_store() -> FakeStore:
    """A long draft: two parts with the same item numbers, a deep «2.1.3», a point «a)», «Điều 37»."""
    store = sample_store(NOW)
    store.documents[1] = Document(1, "open-doc", "Dự thảo mở", DocumentStatus.OPEN, closes_at=CLOSES)
    store.documents[3] = Document(
        3,
        "report",
        "Dự thảo Báo cáo chính trị trình Đại hội đại biểu Đảng bộ thành phố lần thứ XVII",
        DocumentStatus.OPEN,
        closes_at=CLOSES,
    )
    store.documents[4] = Document(
        4,
        "report-2",
        "Dự thảo Báo cáo chính trị trình Đại hội đại biểu Đảng bộ thành phố, phần phụ lục",
        DocumentStatus.OPEN,
    )
    sections = [
        Section(200, 3, 1, "Đánh giá kết quả", number="Phần thứ nhất"),
        Section(201, 3, 2, "Kinh tế", number="I", parent_id=200, depth=2),
        Section(202, 3, 3, "Tăng trưởng", number="1", parent_id=201, depth=3, body="Tăng trưởng khá."),
        Section(203, 3, 4, "Hạ tầng", number="II", parent_id=200, depth=2),
        Section(204, 3, 5, "Đô thị", number="2.1", parent_id=203, depth=3),
        Section(
            205,
            3,
            6,
            "Thoát nước đô thị",
            number="2.1.3",
            parent_id=204,
            depth=4,
            body="Đầu tư hệ thống thoát nước, CHỐNG NGẬP cho các quận nội thành.",
        ),
        Section(206, 3, 7, "Phương hướng", number="Phần thứ hai"),
        Section(207, 3, 8, "Mục tiêu", number="1", parent_id=206, depth=2, body="Mục tiêu tổng quát."),
        Section(208, 3, 9, "Giao thông công cộng", number="a", parent_id=207, depth=3),
        Section(209, 3, 10, "Tổ chức thực hiện", number="Điều 37", parent_id=206, depth=2),
    ]
    for section in sections:
        store.sections[section.id] = section
    return store


@pytest.fixture
def long_draft() -> Driver:
    return Driver(long_draft_store(), FixedClock(NOW), org_name=ORG, org_contact=CONTACT)


async def _consent(driver: Driver) -> None:
    await driver.command("start")
    await driver.press("Tôi đồng ý")


async def _open_report(driver: Driver) -> None:
    await _consent(driver)
    await driver.press("Góp ý dự thảo văn kiện")
    await driver.press("lần thứ XVII")


# ---------------------------------------------------------------------- 1. who is asking


async def test_the_first_screen_names_the_body_the_purpose_the_drafts_and_their_closing_dates(
    long_draft: Driver,
) -> None:
    out = await long_draft.command("start")
    first = out.replies[0].text
    assert first.startswith("Kính chào Quý vị.")
    assert f"{ORG} lấy ý kiến Nhân dân vào các dự thảo văn kiện" in first
    assert f"Bên kiểm soát dữ liệu: {ORG}." in first
    assert "• Dự thảo mở (đến hết ngày 30/11/2025)" in first
    assert "Dự thảo đã đóng" not in first  # only the drafts open now
    assert first.endswith(f"Liên hệ: {CONTACT}")
    assert "Chào mừng bạn" not in first

    full = await long_draft.press("Đọc toàn văn thông báo")
    notice = full.replies[0].text
    assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU CÁ NHÂN" in notice and "phiên bản 2025-07" in notice
    for part in (
        "1. Bên kiểm soát",
        "2. Mục đích",
        "5. Thời gian lưu trữ",
        "6. Quyền của Quý vị",
        "9. Liên hệ",
    ):
        assert part in notice
    assert ORG in notice and CONTACT in notice
    assert long_draft.store.respondents == {}  # reading the notice stores nothing
    back = await long_draft.press("Quay lại")
    assert "Quý vị có đồng ý để tiếp tục không?" in back.replies[0].text


async def test_the_closing_date_stands_beside_each_open_title_and_a_returning_person_is_greeted(
    long_draft: Driver,
) -> None:
    await _consent(long_draft)
    await long_draft.press("Góp ý dự thảo văn kiện")
    labels = [label for label, _ in long_draft.choices()]
    assert "Dự thảo mở (đến hết ngày 30/11/2025)" in labels
    # two drafts with the same long beginning: the labels are whole (the channel decides how to fit them)
    assert (
        "Dự thảo Báo cáo chính trị trình Đại hội đại biểu Đảng bộ thành phố lần thứ XVII (đến hết ngày 30/11/2025)"
        in labels
    )
    assert "Dự thảo Báo cáo chính trị trình Đại hội đại biểu Đảng bộ thành phố, phần phụ lục" in labels
    assert "Dự thảo đã đóng (đã đóng)" in labels

    out = await long_draft.command("start")
    assert out.replies[0].text.startswith(f"Kính chào Quý vị. Đây là kênh lấy ý kiến Nhân dân của {ORG}.")
    assert "Quý vị muốn làm gì?" in out.replies[0].text


async def test_privacy_command_shows_the_full_notice_and_returns_where_the_person_was(
    long_draft: Driver,
) -> None:
    await _open_report(long_draft)
    out = await long_draft.command("privacy")
    assert "9. Liên hệ" in out.replies[0].text
    back = await long_draft.press("Quay lại")
    assert long_draft.state["step"] == "sec" and "Chọn mục muốn góp ý" in back.replies[0].text


# ---------------------------------------------------------------------- 3. finding one's way


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2.1.3", "Phần thứ nhất › II › 2.1 › 2.1.3. Thoát nước đô thị"),
        ("37", "Phần thứ hai › Điều 37. Tổ chức thực hiện"),
        ("điều 37", "Phần thứ hai › Điều 37. Tổ chức thực hiện"),
        ("chong ngap", "Phần thứ nhất › II › 2.1 › 2.1.3. Thoát nước đô thị"),
        ("Chống Ngập", "Phần thứ nhất › II › 2.1 › 2.1.3. Thoát nước đô thị"),
        ("giao thong", "Phần thứ hai › 1 › a) Giao thông công cộng"),
    ],
)
async def test_typing_a_number_or_words_at_the_section_step_finds_sections(
    long_draft: Driver, typed: str, expected: str
) -> None:
    await _open_report(long_draft)
    out = await long_draft.say(typed)
    text = out.replies[0].text
    assert "Vui lòng chọn một nút" not in text
    assert f"Các mục khớp với «{typed}»" in text
    labels = [label for label, _ in long_draft.choices()]
    assert labels[0] == expected, labels


async def test_items_with_the_same_number_are_told_apart_by_their_path_and_a_result_can_be_chosen(
    long_draft: Driver,
) -> None:
    await _open_report(long_draft)
    await long_draft.say("1")
    labels = [label for label, _ in long_draft.choices()]
    assert "Phần thứ nhất › I › 1. Tăng trưởng" in labels
    assert "Phần thứ hai › 1. Mục tiêu ▸" in labels
    out = await long_draft.press("Phần thứ nhất › I › 1. Tăng trưởng")
    assert long_draft.state["step"] == "stance"
    assert out.replies[0].text.startswith("Phần thứ nhất › I › 1. Tăng trưởng\n\nTăng trưởng khá.")
    # «Back» from the stance lists the siblings of the section found
    back = await long_draft.press("Quay lại")
    assert back.replies[0].text.startswith("Phần thứ nhất › I. Kinh tế\nChọn mục muốn góp ý")


async def test_a_search_without_match_says_so_and_back_returns_to_the_list(long_draft: Driver) -> None:
    await _open_report(long_draft)
    out = await long_draft.say("xyz không có")
    assert "Không tìm thấy mục nào khớp với «xyz không có»" in out.replies[0].text
    assert out.replies[0].expects_text and out.replies[0].input_hint == "Gõ số mục hoặc từ khóa để tìm"
    out = await long_draft.say("🙈 !!")
    assert "Vui lòng gõ số mục hoặc từ khóa" in out.replies[0].text
    back = await long_draft.press("Quay lại")
    assert (
        "Chọn mục muốn góp ý" in back.replies[0].text
        and "Phần thứ nhất. Đánh giá kết quả ▸" in back.replies[0].text
    )


async def test_the_section_list_invites_typing_and_keeps_the_drafts_own_numbering(long_draft: Driver) -> None:
    await _open_report(long_draft)
    out = await long_draft.press("Phần thứ hai")
    await long_draft.press("1. Mục tiêu")
    reply = long_draft.last.replies[0] if long_draft.last else out.replies[0]
    assert reply.text.startswith("Phần thứ hai › 1. Mục tiêu\n")
    assert "• a) Giao thông công cộng" in reply.text
    assert "gõ số mục" in reply.text and reply.expects_text


# ---------------------------------------------------------------------- 4. profile and editing


def many_wards_store() -> FakeStore:
    store = long_draft_store()
    store.reference = [r for r in store.reference if r.list_name != "localities"]
    for i in range(120):
        store.reference.append(ReferenceItem("localities", f"w{i}", f"Phường Số {i}", f"Ward {i}", i))
    store.reference.append(ReferenceItem("localities", "an-khanh", "Phường An Khánh", "An Khanh Ward", 200))
    store.reference.append(
        ReferenceItem("localities", "dang-giang", "Phường Đằng Giang", "Dang Giang Ward", 201)
    )
    return store


async def _to_locality(driver: Driver) -> None:
    await _consent(driver)
    await driver.press("Góp ý dự thảo văn kiện")
    await driver.press("Dự thảo mở (")
    await driver.press("Mục 4")
    await driver.press("Tán thành")
    await driver.press("Xong")
    await driver.press("worker (vi)")
    out = await driver.press("dtn (vi)")
    assert "phường, xã nào" in out.replies[0].text


async def test_the_locality_is_found_by_typing_without_diacritics_among_a_hundred_wards() -> None:
    driver = Driver(many_wards_store(), FixedClock(NOW))
    await _to_locality(driver)
    assert "Bỏ qua" in [label for label, _ in driver.choices()]  # a skip on the first page
    assert len(driver.choices()) < 30  # a page, not the hundred wards
    out = await driver.say("dang giang")
    assert "Các phường, xã khớp với «dang giang» (1)" in out.replies[0].text
    await driver.press("Phường Đằng Giang")
    await driver.press("Bỏ qua")
    await driver.press("Bỏ qua")
    await driver.press("Gửi ý kiến")
    [respondent] = driver.store.respondents.values()
    assert respondent.profile.locality == "dang-giang"


async def test_the_locality_can_be_skipped_and_a_failed_search_says_so() -> None:
    driver = Driver(many_wards_store(), FixedClock(NOW))
    await _to_locality(driver)
    out = await driver.say("không tồn tại")
    assert "Không tìm thấy phường, xã nào khớp với «không tồn tại»" in out.replies[0].text
    await driver.press("Bỏ qua")
    assert "Độ tuổi của Quý vị?" in driver.texts()
    await driver.press("Bỏ qua")
    await driver.press("Bỏ qua")
    await driver.press("Gửi ý kiến")
    [respondent] = driver.store.respondents.values()
    assert respondent.profile.locality is None and respondent.profile.category == "worker"


async def test_staying_anonymous_does_not_say_details_were_saved(long_draft: Driver) -> None:
    await _consent(long_draft)
    await long_draft.press("Góp ý dự thảo văn kiện")
    await long_draft.press("Dự thảo mở (")
    await long_draft.press("Mục 4")
    await long_draft.press("Tán thành")
    await long_draft.press("Xong")
    out = await long_draft.press("Ẩn danh — không cung cấp")
    texts = [r.text for r in out.replies]
    assert "Đã lưu thông tin" not in "\n".join(texts)
    assert texts[0].startswith("Quý vị góp ý ẩn danh: không có thông tin nào")


async def test_an_opinion_of_only_emoji_or_punctuation_is_refused_where_a_reason_is_needed(
    long_draft: Driver,
) -> None:
    await _consent(long_draft)
    await long_draft.press("Góp ý dự thảo văn kiện")
    await long_draft.press("Dự thảo mở (")
    await long_draft.press("Mục 4")
    await long_draft.press("Không tán thành")
    out = await long_draft.say("👎👎 !!! ...")
    assert "chỉ có biểu tượng hoặc dấu câu nên chưa được ghi nhận" in out.replies[0].text
    assert long_draft.state["draft"].get("parts", []) == []
    await long_draft.say("Chưa rõ nguồn lực 👎")  # words with an emoji are an opinion
    assert long_draft.state["draft"]["parts"] == ["Chưa rõ nguồn lực 👎"]


async def test_editing_shows_the_current_text_and_the_confirmation_names_the_button_it_shows(
    long_draft: Driver,
) -> None:
    await _consent(long_draft)
    await long_draft.press("Góp ý dự thảo văn kiện")
    await long_draft.press("Dự thảo mở (")
    await long_draft.press("Mục 4")
    await long_draft.press("Không tán thành")
    await long_draft.say("Cần bổ sung số liệu.")
    await long_draft.press("Xong")
    code = await long_draft.answer_profile_and_submit("worker (vi)", "dtn (vi)", "loc3 (vi)")

    await long_draft.command("menu")
    await long_draft.press("Ý kiến của tôi")
    await long_draft.press(code)
    out = await long_draft.press("Sửa")
    assert out.replies[0].text.startswith(
        f"Ý kiến {code} hiện nay:\nQuan điểm: Không tán thành\nNội dung: Cần bổ sung số liệu."
    )
    out = await long_draft.press("Không tán thành")
    assert out.replies[0].text.startswith("Nội dung hiện nay (20/4000 ký tự):\nCần bổ sung số liệu.")
    await long_draft.press("Xong")
    summary = long_draft.last.replies[0] if long_draft.last else None
    assert summary is not None and "Bấm «Lưu thay đổi» để gửi." in summary.text
    assert "Lưu thay đổi" in [label for label, _ in long_draft.choices()]
    assert "Gửi ý kiến" not in [label for label, _ in long_draft.choices()]


# ---------------------------------------------------------------------- 2. help from where one is


async def test_help_lists_only_what_can_be_done_from_where_the_person_is(long_draft: Driver) -> None:
    out = await long_draft.command("help")
    before = out.replies[0].text
    assert "Tôi đồng ý" in before and "/mydata" not in before and "/cancel" not in before
    assert [label for label, _ in long_draft.choices()] == ["Quay lại"]
    await long_draft.press("Quay lại")
    assert long_draft.state["step"] == "consent"

    await long_draft.press("Tôi đồng ý")
    menu_help = (await long_draft.command("help")).replies[0].text
    assert "«Ý kiến của tôi»" in menu_help and "/cancel" not in menu_help

    await long_draft.command("menu")
    await long_draft.press("Góp ý dự thảo văn kiện")
    await long_draft.press("lần thứ XVII")
    writing = (await long_draft.command("help")).replies[0].text
    assert (
        writing.startswith("Quý vị đang viết một ý kiến")
        and "/cancel" in writing
        and "/mydata" not in writing
    )
    out = await long_draft.press("Quay lại")
    assert long_draft.state["step"] == "sec"


def test_telegram_fits_a_long_label_keeping_its_beginning_and_its_end() -> None:
    from bot.render import BUTTON_LABEL_MAX, fit_label

    one = "Dự thảo Báo cáo chính trị trình Đại hội đại biểu Đảng bộ thành phố lần thứ XVII (đến hết ngày 30/11/2025)"
    other = "Dự thảo Báo cáo chính trị trình Đại hội đại biểu Đảng bộ thành phố, phần phụ lục"
    fitted = fit_label(one), fit_label(other)
    assert all(len(label) <= BUTTON_LABEL_MAX for label in fitted)
    assert fitted[0] != fitted[1]
    assert fitted[0].startswith("Dự thảo Báo cáo chính trị") and fitted[0].endswith("30/11/2025)")
    assert fitted[1].endswith("phần phụ lục")
    assert fit_label("Mục 4") == "Mục 4"
