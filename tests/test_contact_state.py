"""The contact conversation's stored state: typed and versioned; states of the first shape (captured
from the code before the state had a version) resume after an upgrade and carry on to a receipt."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.conversation.contact.state import VERSION, ContactState, ContactStep, load_state
from core.conversation.model import Event
from core.i18n import t
from tests.reporting_helpers import PDF
from tests.test_contact_conversation import Harness, text, upload

OLD_STATES: dict[str, dict[str, Any]] = {
    "bind": {"step": "bind", "invite": "1a7674eb4ee78df7e1ac439a93c3fa8e3c945784d4dec9fd8e3011738b2f1d62"},
    "menu": {"step": "menu", "contact_id": 1, "lang": "vi"},
    "upload": {"step": "upload", "contact_id": 1, "lang": "vi", "period": 1},
    "summary": {
        "step": "summary",
        "contact_id": 1,
        "lang": "vi",
        "period": 1,
        "file": {
            "sha256": "fe9a7d44f4318fec2635607dcacc6755fafe3b997406abe640db9cec5f28ab08",
            "size": 45,
            "type": "pdf",
        },
    },
    "opinions": {
        "step": "opinions",
        "contact_id": 1,
        "lang": "vi",
        "period": 1,
        "file": {
            "sha256": "fe9a7d44f4318fec2635607dcacc6755fafe3b997406abe640db9cec5f28ab08",
            "size": 45,
            "type": "pdf",
        },
        "summary": "Tình hình ổn định",
    },
    "confirm": {
        "step": "confirm",
        "contact_id": 1,
        "lang": "vi",
        "period": 1,
        "file": {
            "sha256": "fe9a7d44f4318fec2635607dcacc6755fafe3b997406abe640db9cec5f28ab08",
            "size": 45,
            "type": "pdf",
        },
        "summary": "Tình hình ổn định",
        "opinions": 12,
    },
}


async def resume(h: Harness, name: str, event: Event, **kwargs: Any) -> str:
    h.state = copy.deepcopy(OLD_STATES[name])
    out = await h.send(event, **kwargs)
    assert h.state["v"] == VERSION
    return text(out)


async def bound_with_file() -> Harness:
    """A bound contact whose report file is in the file store (the old states point at it)."""
    h = Harness()
    await h.invite()
    await h.send(Event.command("start", "u-tok"))
    await h.send(Event.choice("rp:bind", 0))
    await h.send(Event.choice("rp:p:1", 0))
    await h.send(Event.unsupported("document"), upload(PDF))
    return h


@pytest.mark.parametrize("name", sorted(OLD_STATES))
def test_every_old_state_loads_and_round_trips(name: str) -> None:
    state = load_state(OLD_STATES[name])
    assert state.step.value == OLD_STATES[name]["step"]
    stored = state.to_dict()
    assert stored["v"] == VERSION and load_state(stored) == state
    assert {k: v for k, v in stored.items() if k != "v"} == OLD_STATES[name]


def test_unknown_values_do_not_break_loading() -> None:
    assert load_state({"step": "later", "lang": "en"}) == ContactState(step=ContactStep.IDLE, lang="en")
    assert load_state({"step": "confirm", "period": "x"}) == ContactState()


async def test_bind_confirmation_resumes() -> None:
    h = Harness()
    await h.invite()
    assert "Đồng chí đã là đầu mối" in await resume(h, "bind", Event.choice("rp:bind", 0))
    assert h.data.contacts[1].chat_id is not None and h.state["step"] == "menu"


async def test_menu_and_upload_resume_to_a_receipt() -> None:
    h = Harness()
    await h.invite()
    await h.send(Event.command("start", "u-tok"))
    await h.send(Event.choice("rp:bind", 0))
    assert t("reporting.pick_period", "vi") in await resume(h, "menu", Event.choice("rp:sub", 0))
    assert "Đã nhận tệp PDF" in await resume(h, "upload", Event.unsupported("document"), file=upload(PDF))
    await h.send(Event.choice("rp:skip", 0))
    await h.send(Event.choice("rp:skip", 0))
    assert "lần nộp thứ 1" in text(await h.send(Event.choice("rp:ok", 0)))


async def test_summary_step_resumes_to_a_receipt() -> None:
    h = await bound_with_file()
    await resume(h, "summary", Event.text("Ổn định"))
    await h.send(Event.text("7"))
    assert "lần nộp thứ 1" in text(await h.send(Event.choice("rp:ok", 0)))
    [report] = h.data.reports
    assert (report.summary, report.opinions_count) == ("Ổn định", 7)


async def test_opinions_step_resumes_to_a_receipt() -> None:
    h = await bound_with_file()
    assert "Số ý kiến thu được: 30" in await resume(h, "opinions", Event.text("30"))
    assert "lần nộp thứ 1" in text(await h.send(Event.choice("rp:ok", 0)))
    [report] = h.data.reports
    assert (report.summary, report.opinions_count) == ("Tình hình ổn định", 30)


async def test_confirm_step_resumes_to_a_receipt() -> None:
    h = await bound_with_file()
    assert "lần nộp thứ 1" in await resume(h, "confirm", Event.choice("rp:ok", 0))
    [report] = h.data.reports
    assert (report.summary, report.opinions_count, report.file_type) == ("Tình hình ổn định", 12, "pdf")
    assert h.state == {"v": VERSION, "step": "menu", "lang": "vi", "contact_id": 1}
