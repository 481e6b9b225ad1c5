"""Web chat sessions against fixation: ids only from the server, and a new id when the person consents."""

from __future__ import annotations

import secrets

import pytest

from tests.test_webchat import _loaded
from tests.webchat_client import ChatClient, served

pytestmark = pytest.mark.e2e

EMPTY_HISTORY = {"replies": [], "screen": None, "notice": None, "lang": "vi"}


def _plant(chat: ChatClient, sid: str) -> None:
    """Put a session id in the browser's cookie jar, as an attacker on a sibling site could."""
    chat.http.cookies.clear()
    chat.http.cookies.set("gopy_chat", sid, domain="127.0.0.1", path="/chat")


async def test_a_session_id_made_up_by_the_client_is_never_adopted(sqlite_database: str) -> None:
    await _loaded(sqlite_database)
    async with served(sqlite_database) as base, ChatClient(base) as chat, ChatClient(base) as real:
        await real.open()
        issued = real.session_id
        token, _, signature = issued.partition(".")
        made_up = [
            secrets.token_urlsafe(32),  # the format ids had before signatures
            f"{secrets.token_urlsafe(32)}.{signature}",  # someone else's signature
            f"{token}.{'0' * 32}",  # a real random part, a forged signature
            "x" * 43 + "." + "f" * 32,
        ]
        for sid in made_up:
            _plant(chat, sid)
            assert (await chat.http.get("/chat/api/history")).json() == EMPTY_HISTORY
            refused = await chat.http.post(
                "/chat/api/events", json={"kind": "command", "value": "start"}, headers={"X-CSRF-Token": "0"}
            )
            assert refused.status_code == 403
            await chat.open()  # the page replaces the id with one of its own
            assert chat.session_id not in made_up and chat.session_id != issued
            assert (await chat.start())["replies"]


async def test_consent_rotates_the_session_id_and_the_old_one_stops_working(sqlite_database: str) -> None:
    await _loaded(sqlite_database)
    async with served(sqlite_database) as base, ChatClient(base) as victim, ChatClient(base) as attacker:
        # the attacker gets an id from the server and plants it in the victim's browser
        await attacker.open()
        planted, planted_token = attacker.session_id, attacker.token
        _plant(victim, planted)
        await victim.open()
        assert victim.session_id == planted and victim.token == planted_token
        await victim.start()
        assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU" in victim.texts()
        consent = await victim.press_raw("Tôi đồng ý")
        assert consent.status_code == 200
        rotated = victim.session_id
        assert rotated != planted and f"gopy_chat={rotated}" in consent.headers["set-cookie"]
        assert "HttpOnly" in consent.headers["set-cookie"]
        assert consent.json()["csrf"] == victim.token != planted_token
        victim.last = consent.json()
        await victim.press("Góp ý dự thảo văn kiện")
        mydata = await victim.send({"kind": "command", "value": "mydata"})
        assert "Dữ liệu Gopy lưu về Quý vị" in str(mydata["replies"])  # the same respondent after rotation

        # the planted id reaches nothing of what the victim does after consenting
        assert (await attacker.http.get("/chat/api/history")).json() == EMPTY_HISTORY
        for event in ({"kind": "command", "value": "mydata"}, {"kind": "command", "value": "start"}):
            refused = await attacker.post(event)
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "webchat.csrf"
        # nor does the old id with the victim's old token; reloading the page gives a fresh, empty session
        await attacker.open()
        assert attacker.session_id not in (planted, rotated)
        assert (await attacker.http.get("/chat/api/history")).json() == EMPTY_HISTORY
        await attacker.start()
        assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU" in attacker.texts()

        # the victim goes on with the new id, on the page as after a reload
        await victim.open()
        assert victim.session_id == rotated
        assert "Dữ liệu Gopy lưu về Quý vị" in str((await victim.http.get("/chat/api/history")).json())
