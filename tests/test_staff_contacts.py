"""Contacts, staff side, on SQLite and PostgreSQL and over HTTP: states, disable, re-enable, re-invite
(the same row, the old link dead), audit rows; the invite's QR code decoded by an independent reader."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from core import errors
from core.reporting import bind_contact, check_invite, hash_invite, stop_reminders
from core.staff.contacts import (
    ContactState,
    disable_contact,
    invite_unit_contact,
    list_contacts,
    reenable_contact,
    reinvite_contact,
)
from formats.qr import QUIET_ZONE, qr_svg
from storage.models_api import AuditLogRow
from storage.models_reporting import ContactRow
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.reporting_helpers import bound_contact, load_with_units
from tests.staff_api import make_keys, serve

TTL = timedelta(days=3)
SVG = "{http://www.w3.org/2000/svg}"


async def _states(sessions, unit: str | None = None) -> dict[int, ContactState]:  # type: ignore[no-untyped-def]
    async with SqlUnitOfWork(sessions) as uow:
        return {
            c.contact.id: c.state for c in await list_contacts(uow=uow, actor="s", unit_code=unit, now=NOW)
        }


async def test_states_disable_reenable_and_reinvite(sessions) -> None:  # type: ignore[no-untyped-def]
    await load_with_units(sessions, NOW)
    bound = await bound_contact(sessions, unit="ldld", chat_id=501, now=NOW)
    stopped = await bound_contact(sessions, unit="ldld", chat_id=502, now=NOW)
    unreachable = await bound_contact(sessions, unit="ldld", chat_id=503, now=NOW)
    async with SqlUnitOfWork(sessions) as uow:
        invited = await invite_unit_contact(uow=uow, actor="s", unit_code="ldld", name="Hà", now=NOW, ttl=TTL)
    async with SqlUnitOfWork(sessions) as uow:
        expired = await invite_unit_contact(
            uow=uow, actor="s", unit_code="ldld", name="Cũ", now=NOW - 2 * TTL, ttl=TTL
        )
    async with SqlUnitOfWork(sessions) as uow:
        await stop_reminders(uow=uow, chat_id=502, now=NOW)
    async with SqlUnitOfWork(sessions) as uow:
        await uow.reporting.set_unreachable(unreachable)
        await uow.commit()
    assert await _states(sessions, "ldld") == {
        bound: ContactState.BOUND,
        stopped: ContactState.STOPPED,
        unreachable: ContactState.UNREACHABLE,
        invited.contact.id: ContactState.INVITED,
        expired.contact.id: ContactState.INVITE_EXPIRED,
    }
    with pytest.raises(errors.UnitNotFound):
        await _states(sessions, "nowhere")

    async def act(fn, contact_id: int, **kw):  # type: ignore[no-untyped-def]
        async with SqlUnitOfWork(sessions) as uow:
            return await fn(uow=uow, actor="staff:1", contact_id=contact_id, now=NOW, **kw)

    assert (await act(reenable_contact, unreachable)).state is ContactState.BOUND
    assert (await act(disable_contact, bound)).state is ContactState.DISABLED
    async with SqlUnitOfWork(sessions) as uow:  # a disabled contact gets no reminders
        assert bound not in {c.id for c in await uow.reporting.active_contacts()}
    with pytest.raises(errors.ContactStateChange):
        await act(disable_contact, bound)
    with pytest.raises(errors.ContactStateChange):
        await act(reenable_contact, stopped)  # the contact chose to stop: only a new invite
    assert (await act(reenable_contact, bound)).state is ContactState.BOUND
    with pytest.raises(errors.ContactStateChange):
        await act(reinvite_contact, bound, ttl=TTL)
    with pytest.raises(errors.ContactNotFound):
        await act(disable_contact, 9999)

    rows = await _contact_rows(sessions)
    renewed = await act(reinvite_contact, expired.contact.id, ttl=TTL)
    assert renewed.contact.id == expired.contact.id and await _contact_rows(sessions) == rows  # no new row
    async with SqlUnitOfWork(sessions) as uow:
        with pytest.raises(errors.UnknownInvite):  # the previous link stops working
            await check_invite(uow=uow, invite_hash=hash_invite(expired.token), now=NOW)
        await bind_contact(
            uow=uow, invite_hash=hash_invite(renewed.token), chat_id=509, language="vi", now=NOW
        )
    assert (await _states(sessions, "ldld"))[expired.contact.id] is ContactState.BOUND
    again = await act(reinvite_contact, stopped, ttl=TTL)
    assert again.contact.id == stopped and (await _states(sessions))[stopped] is ContactState.INVITED
    async with sessions() as session:
        actions = list(
            await session.scalars(
                select(AuditLogRow.action)
                .where(AuditLogRow.action.like("contact.%"))
                .order_by(AuditLogRow.id)
            )
        )
    assert actions == [
        "contact.invite",
        "contact.invite",
        "contact.reenable",
        "contact.disable",
        "contact.reenable",
        "contact.reinvite",
        "contact.reinvite",
    ]


async def _contact_rows(sessions) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ContactRow)) or 0)


def _modules(svg: str) -> list[list[bool]]:
    """The dark modules the SVG draws, read back from its path (runs ``Mx yhNv1h-Nz``)."""
    root = ET.fromstring(svg)
    size = int(root.get("viewBox", "").split()[2])
    grid = [[False] * size for _ in range(size)]
    path = root.find(f"{SVG}path")
    assert path is not None
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.get("d", "")):
        for i in range(int(n)):
            grid[int(y)][int(x) + i] = True
    return grid


def test_the_qr_svg_draws_exactly_the_code_of_the_link() -> None:
    import segno

    link = "https://t.me/gopy_bot?start=inv_" + "Ab-_9" * 5
    svg = qr_svg(link, title="Mã QR lời mời <Liên đoàn>", description="Quét mã & mở")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img" and root.get("aria-labelledby") == "qr-title"
    assert root.find(f"{SVG}title").text == "Mã QR lời mời <Liên đoàn>"  # type: ignore[union-attr]
    assert not re.search(r"href|url\(|<script|<image|<style|@import", svg)
    expected = segno.make(link, error="m", micro=False, boost_error=True).matrix
    drawn = _modules(svg)
    inner = [
        row[QUIET_ZONE : QUIET_ZONE + len(expected)] for row in drawn[QUIET_ZONE : QUIET_ZONE + len(expected)]
    ]
    assert inner == [[bool(v) for v in row] for row in expected]
    assert not any(drawn[0]) and not any(r[0] for r in drawn)  # the quiet zone is white


@pytest.mark.browser
async def test_the_qr_code_decodes_to_the_link_in_a_real_browser() -> None:
    """Chromium renders the SVG; zxing-cpp (an independent decoder) reads the screenshot."""
    import zxingcpp
    from PIL import Image
    from playwright.async_api import async_playwright

    from tests.test_webchat_browser import CHROMIUM, CHROMIUM_ARGS

    link = "https://t.me/gopy_bot?start=inv_" + "x9Y_-" * 4
    svg = qr_svg(link, title="QR", module_px=8)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page()
        await page.set_content(f"<!doctype html><body style='margin:0;background:#fff'>{svg}</body>")
        shot = await page.locator("svg").screenshot()
        await browser.close()
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert [r.text for r in results] == [link]


async def test_contacts_over_http(database_url, sessions, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GOPY_BOT_USERNAME", "gopy_test_bot")
    await load_with_units(sessions, NOW)
    keys = await make_keys(sessions)
    bound = await bound_contact(sessions, unit="ldld", chat_id=601, now=NOW)
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            admin = keys.auth("admin")
            assert (await client.get("/v1/contacts", headers=keys.auth("reader"))).status_code == 403
            made = await client.post("/v1/contacts", json={"unit_code": "ldld", "name": "Mai"}, headers=admin)
            assert made.status_code == 201, made.text
            body = made.json()
            assert body["link"].startswith("https://t.me/gopy_test_bot?start=")
            assert body["contact"]["state"] == "invited" and "<svg" in body["qr_svg"]
            listed = await client.get("/v1/contacts", params={"unit_code": "ldld"}, headers=admin)
            assert {c["id"]: c["state"] for c in listed.json()} == {
                bound: "bound",
                body["contact"]["id"]: "invited",
            }
            disabled = await client.post(f"/v1/contacts/{bound}/disable", headers=admin)
            assert disabled.json()["state"] == "disabled"
            again = await client.post(f"/v1/contacts/{bound}/disable", headers=admin)
            assert again.status_code == 409 and again.json()["error"]["message_vi"]
            renewed = await client.post(f"/v1/contacts/{bound}/reinvite", headers=admin)
            assert renewed.status_code == 200 and renewed.json()["contact"]["id"] == bound
            assert renewed.json()["link"] != body["link"]
            assert (await client.post("/v1/contacts/9999/reenable", headers=admin)).status_code == 404
            unknown = await client.post("/v1/contacts", json={"unit_code": "nowhere"}, headers=admin)
            assert unknown.status_code == 404
