"""The citizen conversation's stored state: typed and versioned, and states of the first shape (stored
by the code before the state had a version) resume after an upgrade and carry on to a receipt.

``OLD_STATES`` were captured from that code at each step (the captured receipt code and client refs
are kept as they were stored).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import FixedClock
from core.conversation import citizen
from core.conversation.citizen import FLOWS, STEPS
from core.conversation.citizen.state import (
    VERSION,
    CitizenState,
    DocumentEntry,
    MoodEntry,
    Step,
    load_state,
)
from core.conversation.model import Event
from core.domain import Channel, FeedbackKind, Profile, Source, Stance
from core.i18n import t
from tests.conversation_driver import Driver
from tests.fakes import sample_store
from tests.test_conversation import consented, submit_one

NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)

OLD_CODE = "GY-EK2FTG"  # the receipt code the old "my opinions" states point at

OLD_STATES: dict[str, dict[str, Any]] = {
    "consent": {
        "step": "consent",
        "lang": "vi",
        "screen": 1,
        "pending_org": "pn",
        "recent": [[1, "consent"]],
    },
    "sec": {
        "step": "sec",
        "lang": "vi",
        "screen": 5,
        "recent": [[1, "consent"], [2, "menu"], [3, "doc"], [4, "sec"], [5, "sec"]],
        "draft": {
            "flow": "draft",
            "client_ref": "a59e42a2efdc4bb5",
            "document_id": 1,
            "parent_id": 1,
            "page": 0,
        },
    },
    "text": {
        "step": "text",
        "lang": "vi",
        "screen": 9,
        "recent": [[4, "sec"], [5, "sec"], [6, "stance"], [7, "text"], [8, "text"], [9, "text"]],
        "draft": {
            "flow": "draft",
            "client_ref": "a59e42a2efdc4bb5",
            "document_id": 1,
            "parent_id": 1,
            "page": 0,
            "section_id": 2,
            "stance": "disagree",
            "parts": ["Đề nghị bổ sung giải pháp việc làm.", "Và đào tạo nghề."],
        },
    },
    "profile": {
        "step": "prof_loc",
        "lang": "vi",
        "screen": 11,
        "recent": [[6, "stance"], [7, "text"], [8, "text"], [9, "text"], [10, "prof_cat"], [11, "prof_loc"]],
        "draft": {
            "flow": "draft",
            "client_ref": "a59e42a2efdc4bb5",
            "document_id": 1,
            "parent_id": 1,
            "page": 0,
            "section_id": 2,
            "stance": "disagree",
            "parts": ["Đề nghị bổ sung giải pháp việc làm.", "Và đào tạo nghề."],
        },
        "profile": {
            "category": "worker",
            "organisation": "pn",
            "locality": None,
            "age_band": None,
            "gender": None,
            "anonymous": False,
        },
        "profile_return": "confirm",
        "profile_first": True,
        "profile_page": 0,
    },
    "confirm": {
        "step": "confirm",
        "lang": "vi",
        "screen": 14,
        "recent": [
            [9, "text"],
            [10, "prof_cat"],
            [11, "prof_loc"],
            [12, "prof_age"],
            [13, "prof_gender"],
            [14, "confirm"],
        ],
        "draft": {
            "flow": "draft",
            "client_ref": "a59e42a2efdc4bb5",
            "document_id": 1,
            "parent_id": 1,
            "page": 0,
            "section_id": 2,
            "stance": "disagree",
            "parts": ["Đề nghị bổ sung giải pháp việc làm.", "Và đào tạo nghề."],
            "return_confirm": True,
        },
        "profile_page": 0,
    },
    "done": {
        "step": "done",
        "lang": "vi",
        "screen": 15,
        "recent": [
            [10, "prof_cat"],
            [11, "prof_loc"],
            [12, "prof_age"],
            [13, "prof_gender"],
            [14, "confirm"],
            [15, "done"],
        ],
        "draft": {"flow": "draft", "last_document_id": 1},
        "profile_page": 0,
    },
    "mood_topic": {
        "step": "m_topic",
        "lang": "vi",
        "screen": 19,
        "recent": [
            [14, "confirm"],
            [15, "done"],
            [16, "menu"],
            [17, "m_cong"],
            [18, "m_kind"],
            [19, "m_topic"],
        ],
        "profile_page": 0,
        "draft": {"flow": "mood", "client_ref": "2852b90659394837", "congress_id": 2, "kind": "aspiration"},
    },
    "mood_confirm": {
        "step": "confirm",
        "lang": "vi",
        "screen": 22,
        "recent": [
            [17, "m_cong"],
            [18, "m_kind"],
            [19, "m_topic"],
            [20, "text"],
            [21, "text"],
            [22, "confirm"],
        ],
        "profile_page": 0,
        "draft": {
            "flow": "mood",
            "client_ref": "2852b90659394837",
            "congress_id": 2,
            "kind": "aspiration",
            "topic": "economy",
            "parts": ["Mong Đại hội chọn được người tài."],
            "return_confirm": True,
        },
    },
    "mine_item": {
        "step": "mine_item",
        "lang": "vi",
        "screen": 25,
        "recent": [
            [20, "text"],
            [21, "text"],
            [22, "confirm"],
            [23, "menu"],
            [24, "mine"],
            [25, "mine_item"],
        ],
        "profile_page": 0,
        "mine_code": "GY-EK2FTG",
    },
    "edit_stance": {
        "step": "stance",
        "lang": "vi",
        "screen": 26,
        "recent": [
            [21, "text"],
            [22, "confirm"],
            [23, "menu"],
            [24, "mine"],
            [25, "mine_item"],
            [26, "stance"],
        ],
        "profile_page": 0,
        "mine_code": "GY-EK2FTG",
        "draft": {
            "flow": "draft",
            "edit_receipt": "GY-EK2FTG",
            "document_id": 1,
            "section_id": 2,
            "stance": "disagree",
            "parts": ["Đề nghị bổ sung giải pháp việc làm.\n\nVà đào tạo nghề."],
        },
    },
    "mydata_profile": {
        "step": "prof_cat",
        "lang": "vi",
        "screen": 28,
        "recent": [
            [23, "menu"],
            [24, "mine"],
            [25, "mine_item"],
            [26, "stance"],
            [27, "mydata"],
            [28, "prof_cat"],
        ],
        "profile_page": 0,
        "mine_code": "GY-EK2FTG",
        "draft": {
            "flow": "draft",
            "edit_receipt": "GY-EK2FTG",
            "document_id": 1,
            "section_id": 2,
            "stance": "disagree",
            "parts": ["Đề nghị bổ sung giải pháp việc làm.\n\nVà đào tạo nghề."],
        },
        "profile": {
            "category": "worker",
            "organisation": "pn",
            "locality": "loc3",
            "age_band": None,
            "gender": None,
            "anonymous": False,
        },
        "profile_return": "mydata",
    },
    "pre_mood_stance": {
        "step": "stance",
        "lang": "vi",
        "screen": 7,
        "recent": [[6, "sec"], [7, "stance"]],
        "draft": {
            "client_ref": "0123456789abcdef",
            "document_id": 1,
            "parent_id": None,
            "page": 0,
            "section_id": 9,
        },
    },
}


def old(name: str, **replace: str) -> dict[str, Any]:
    """A deep copy of an old state, with strings replaced (e.g. the receipt code of today's store)."""
    text = json.dumps(OLD_STATES[name], ensure_ascii=False)
    for before, after in replace.items():
        text = text.replace(before, after)
    return json.loads(text)  # type: ignore[no-any-return]


async def resume(driver: Driver, state: dict[str, Any], event: Event) -> None:
    """The upgrade happens between two events: the person's next event meets the state stored before."""
    driver.state = copy.deepcopy(state)
    out = await driver.send(event)
    assert out.state["v"] == VERSION
    assert out.notice is None, "a button of the message shown before the upgrade still works"


def only_feedback(driver: Driver) -> Any:
    [feedback] = driver.store.feedback.values()
    return feedback


# ---------------------------------------------------------------------- the model and the migration


@pytest.mark.parametrize("name", sorted(OLD_STATES))
def test_every_old_state_loads_and_round_trips(name: str) -> None:
    state = load_state(OLD_STATES[name])
    assert state.v == VERSION and state.step.value == OLD_STATES[name]["step"]
    stored = state.to_dict()
    json.dumps(stored)  # JSON-serialisable
    assert stored["v"] == VERSION and stored["step"] == OLD_STATES[name]["step"]
    assert load_state(stored) == state
    if "client_ref" in OLD_STATES[name].get("draft", {}):  # retention finds abandoned entries by it
        assert stored["draft"]["client_ref"] == OLD_STATES[name]["draft"]["client_ref"]


def test_old_fields_become_typed() -> None:
    text = load_state(OLD_STATES["text"])
    assert isinstance(text.draft, DocumentEntry)
    assert (text.draft.document_id, text.draft.section_id, text.draft.stance) == (1, 2, Stance.DISAGREE)
    assert text.draft.text() == "Đề nghị bổ sung giải pháp việc làm.\n\nVà đào tạo nghề."
    assert text.recent[-1] == (9, Step.TEXT)
    mood = load_state(OLD_STATES["mood_confirm"])
    assert isinstance(mood.draft, MoodEntry) and mood.draft.kind is FeedbackKind.ASPIRATION
    profile = load_state(OLD_STATES["profile"])
    assert profile.profile == Profile(category="worker", organisation="pn")
    assert profile.profile_return is Step.CONFIRM and profile.profile_first
    pre_mood = load_state(OLD_STATES["pre_mood_stance"])  # before the mood path, a draft had no flow
    assert isinstance(pre_mood.draft, DocumentEntry) and pre_mood.draft.section_id == 9


def test_a_receipt_keeps_only_what_another_entry_needs() -> None:
    assert load_state(OLD_STATES["done"]).to_dict()["draft"] == {"flow": "draft", "last_document_id": 1}


def test_unknown_or_broken_values_do_not_break_loading() -> None:
    state = load_state(
        {
            "step": "a_step_of_a_later_version",
            "lang": "en",
            "screen": 12,
            "recent": [[3, "menu"], "junk", [4], [5, "nope"]],
            "draft": {"flow": "draft", "stance": "maybe", "parts": ["x"]},
            "lang_return": "nowhere",
        }
    )
    assert state.step is Step.NEW and state.recent == [(3, Step.MENU)] and state.lang_return is None
    assert isinstance(state.draft, DocumentEntry) and state.draft.stance is None
    broken = load_state({"step": "sec", "lang": "en", "screen": 7, "draft": {"document_id": "abc"}})
    assert broken == CitizenState(lang="en", screen=7)


# ---------------------------------------------------------------------- resuming to a receipt


async def test_consent_screen_resumes_with_the_deep_link_organisation(driver: Driver) -> None:
    await resume(driver, old("consent"), Event.choice("yes", 1))
    assert t("consent.thanks", "vi") in driver.texts()
    await driver.press("Góp ý dự thảo")
    await driver.press("Dự thảo mở")
    await driver.press("Mục 4")
    await driver.press("Tán thành")
    await driver.press("Xong")
    await driver.answer_profile_and_submit("worker (vi)", "loc3 (vi)")
    assert only_feedback(driver).profile.organisation == "pn"


async def test_section_list_with_an_entry_in_progress_resumes(driver: Driver) -> None:
    await consented(driver)
    await resume(driver, old("sec"), Event.choice("s:2", 5))
    assert driver.state["step"] == "stance"
    await driver.press("Không tán thành")
    await driver.say("Cần thêm chỉ tiêu.")
    await driver.press("Xong")
    await driver.answer_profile_and_submit("worker (vi)", "dtn (vi)", "loc3 (vi)")
    feedback = only_feedback(driver)
    assert (feedback.section_id, feedback.stance, feedback.text) == (2, Stance.DISAGREE, "Cần thêm chỉ tiêu.")
    assert feedback.client_ref == OLD_STATES["sec"]["draft"]["client_ref"]


async def test_text_step_with_parts_resumes(driver: Driver) -> None:
    await consented(driver)
    await resume(driver, old("text"), Event.choice("done", 9))
    await driver.answer_profile_and_submit("worker (vi)", "dtn (vi)", "loc3 (vi)")
    feedback = only_feedback(driver)
    assert feedback.text == "Đề nghị bổ sung giải pháp việc làm.\n\nVà đào tạo nghề."
    assert feedback.client_ref == OLD_STATES["text"]["draft"]["client_ref"]


async def test_typing_more_at_an_old_text_step_adds_a_part(driver: Driver) -> None:
    await consented(driver)
    driver.state = old("text")
    await driver.say("Thêm ý ba.")
    assert driver.state["draft"]["parts"][-1] == "Thêm ý ba." and len(driver.state["draft"]["parts"]) == 3


async def test_profile_step_resumes_with_the_answers_given(driver: Driver) -> None:
    await consented(driver)
    await resume(driver, old("profile"), Event.choice("p:loc3", 11))
    await driver.press("Bỏ qua")
    await driver.press("Bỏ qua")
    assert "Vui lòng kiểm tra" in driver.texts()
    await driver.press("Gửi ý kiến")
    profile = only_feedback(driver).profile
    assert (profile.category, profile.organisation, profile.locality) == ("worker", "pn", "loc3")


async def test_confirm_screen_resumes_and_submits_once(driver: Driver) -> None:
    await consented(driver)
    await resume(driver, old("confirm"), Event.choice("submit", 14))
    assert "Mã biên nhận" in driver.texts()
    assert driver.state["draft"] == {"flow": "draft", "last_document_id": 1}
    # the same press replayed from the old state (a lost state write) stores nothing twice
    driver.state = old("confirm")
    await driver.send(Event.choice("submit", 14))
    assert only_feedback(driver).client_ref == OLD_STATES["confirm"]["draft"]["client_ref"]


async def test_receipt_screen_resumes_with_another_opinion(driver: Driver) -> None:
    await consented(driver)
    await resume(driver, old("done"), Event.choice("again", 15))
    assert driver.state["step"] == "sec" and driver.state["draft"]["document_id"] == 1
    await driver.press("Mục 4")
    await driver.press("Tán thành")
    await driver.press("Xong")
    await driver.answer_profile_and_submit("worker (vi)", "dtn (vi)", "loc3 (vi)")
    assert only_feedback(driver).section_id == 4


async def test_mood_topic_step_resumes(driver: Driver) -> None:
    await consented(driver)
    await resume(driver, old("mood_topic"), Event.choice("t:economy", 19))
    await driver.say("Mong Đại hội chọn được người tài.")
    await driver.press("Xong")
    await driver.answer_profile_and_submit("farmer (vi)", "pn (vi)", "loc2 (vi)")
    entry = only_feedback(driver)
    assert (entry.congress_id, entry.kind, entry.topic) == (2, FeedbackKind.ASPIRATION, "economy")
    assert entry.client_ref == OLD_STATES["mood_topic"]["draft"]["client_ref"]


async def test_mood_confirm_screen_resumes(driver: Driver) -> None:
    await consented(driver)
    await resume(driver, old("mood_confirm"), Event.choice("submit", 22))
    assert "Mã biên nhận" in driver.texts() and "Trước ĐH XIV" in driver.texts()
    entry = only_feedback(driver)
    assert entry.text == "Mong Đại hội chọn được người tài." and entry.topic == "economy"


async def test_my_opinion_item_resumes_to_an_edit(driver: Driver) -> None:
    await consented(driver)
    code = await submit_one(driver)
    await resume(driver, old("mine_item", **{OLD_CODE: code}), Event.choice("edit", 25))
    await driver.press("Ý kiến khác")
    await driver.press("Xong")
    out = await driver.press("Lưu thay đổi")
    assert code in out.replies[0].text
    assert only_feedback(driver).stance is Stance.OTHER


async def test_editing_stance_step_resumes_to_an_edit(driver: Driver) -> None:
    await consented(driver)
    code = await submit_one(driver)
    await resume(driver, old("edit_stance", **{OLD_CODE: code}), Event.choice("st:agree", 26))
    await driver.press("Xong")
    await driver.press("Lưu thay đổi")
    feedback = only_feedback(driver)
    assert feedback.stance is Stance.AGREE
    assert feedback.text == "Đề nghị bổ sung giải pháp việc làm.\n\nVà đào tạo nghề."


async def test_profile_from_my_data_resumes(driver: Driver) -> None:
    await consented(driver)
    await submit_one(driver)
    await resume(driver, old("mydata_profile"), Event.choice("anon", 28))
    assert driver.state["step"] == "mydata"
    [respondent] = driver.store.respondents.values()
    assert respondent.profile.anonymous and respondent.profile.organisation == "pn"


async def test_a_draft_from_before_the_mood_path_resumes(driver: Driver) -> None:
    await consented(driver)
    await resume(driver, old("pre_mood_stance"), Event.choice("st:other", 7))
    await driver.say("Đề xuất khác.")
    await driver.press("Xong")
    await driver.answer_profile_and_submit("worker (vi)", "dtn (vi)", "loc3 (vi)")
    feedback = only_feedback(driver)
    assert (feedback.section_id, feedback.client_ref) == (9, "0123456789abcdef")


async def test_an_unreadable_state_starts_over_politely(driver: Driver) -> None:
    await consented(driver)
    driver.state = {"step": "sec", "lang": "vi", "screen": 7, "draft": {"document_id": "abc"}}
    out = await driver.send(Event.choice("s:2", 7))
    assert out.state["step"] == "menu" and out.replies


# ---------------------------------------------------------------------- the table and the channels


def test_every_step_has_a_row_in_the_table_and_every_flow_a_path() -> None:
    assert set(STEPS) == set(Step)
    assert set(FLOWS) == {"draft", "mood"} and all(FLOWS[name].name == name for name in FLOWS)


def test_the_conversation_reads_no_method_names_from_strings() -> None:
    package = Path(citizen.__file__).parent
    for path in package.glob("*.py"):
        assert "getattr(" not in path.read_text(encoding="utf-8"), path.name


async def test_a_third_channel_runs_the_same_conversation_unchanged() -> None:
    """Zalo (next) needs only an adapter: the conversation takes its channel from the context."""
    driver = Driver(sample_store(NOW), FixedClock(NOW), channel=Channel.ZALO)
    await consented(driver)
    code = await submit_one(driver)
    feedback = only_feedback(driver)
    assert feedback.receipt_code == code and feedback.channel is Channel.ZALO
    assert feedback.source is Source.BOT
    [respondent] = driver.store.respondents.values()
    assert respondent.channel is Channel.ZALO


async def test_handle_leaves_the_stored_state_it_was_given_untouched(driver: Driver) -> None:
    await consented(driver)
    stored = old("text")
    before = copy.deepcopy(stored)
    driver.state = stored
    await driver.say("Thêm ý ba.")
    assert stored == before
