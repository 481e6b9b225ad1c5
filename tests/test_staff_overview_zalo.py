"""The overview page over HTTP: the Zalo channel counted like the others, and, when Zalo is configured,
the webhook's last event and inbox backlog beside the scheduler heartbeat."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from storage.models import FeedbackRow
from storage.models_zalo import ZaloInboxRow
from tests.staff_api import Seeded, seed
from tests.staff_console import Console, console_app

ZALO = {
    "zalo_app_id": "1234567890",
    "zalo_app_secret": "app-secret",
    "zalo_oa_secret_key": "oa-secret",
    "zalo_api_base": "http://127.0.0.1:9",  # never called by these pages
    "zalo_oauth_base": "http://127.0.0.1:9",
}


@pytest.fixture(params=["zalo", "no-zalo"])
async def pages(
    request: Any,
    database_url: str,
    loaded: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    tmp_path: Path,
) -> AsyncIterator[Console]:
    extra = ZALO if request.param == "zalo" else {}
    async with console_app(database_url, clock, home=tmp_path, **extra) as console:
        assert console.app.state.services.settings.zalo_configured == (request.param == "zalo")
        yield console


@pytest.fixture
async def seeded(pages: Console) -> Seeded:
    return await seed(pages.sessions)


def channel_total(html: str, label: str) -> int | None:
    found = re.search(
        rf'<th scope="row">{label}</th><td class="num">\d+</td><td class="num">\d+</td>'
        rf'<td class="num">(\d+)</td>',
        html,
    )
    return int(found.group(1)) if found else None


async def test_overview_counts_zalo_and_shows_its_inbox(pages: Console, seeded: Seeded) -> None:
    channel = getattr(pages.app.state, "zalo", None)
    if channel is not None:  # its inbox worker (polling every second) would handle the waiting events
        await channel.worker.stop()
    async with pages.sessions() as session:
        ids = list(
            await session.scalars(
                select(FeedbackRow.id)
                .where(FeedbackRow.document_id == seeded.document_id, FeedbackRow.channel == "telegram")
                .order_by(FeedbackRow.id)
                .limit(3)
            )
        )
        await session.execute(update(FeedbackRow).where(FeedbackRow.id.in_(ids)).values(channel="zalo"))
        now = pages.clock.now()
        for i, (received, handled) in enumerate(((3, True), (2, False), (1, False))):
            session.add(
                ZaloInboxRow(
                    msg_id=f"m{i}",
                    zalo_user_id="81234567890123456789",
                    event_name="user_send_text",
                    payload={},
                    event_at=now - timedelta(minutes=received),
                    received_at=now - timedelta(minutes=received),
                    processed_at=now if handled else None,
                    attempts=0,
                )
            )
        await session.commit()
    viewer = await pages.client("viewer")
    page = await viewer.get("/staff")
    assert page.status_code == 200
    assert len(ids) == 3 and channel_total(page.text, "Zalo") == 3  # counted like Telegram and the web
    assert channel_total(page.text, "Telegram") is not None
    configured = pages.app.state.services.settings.zalo_configured
    if configured:
        last = (pages.clock.now() - timedelta(minutes=1)).astimezone(pages.app.state.services.settings.tz)
        assert "Sự kiện Zalo gần nhất" in page.text and last.strftime("%d/%m/%Y %H:%M:%S") in page.text
        assert re.search(r"Sự kiện Zalo chờ xử lý</dt>\s*<dd class=\"warn\">2</dd>", page.text)
    else:
        assert "Sự kiện Zalo" not in page.text


async def test_overview_without_any_zalo_event(pages: Console) -> None:
    viewer = await pages.client("viewer")
    page = await viewer.get("/staff")
    if pages.app.state.services.settings.zalo_configured:
        assert "Chưa nhận được sự kiện nào từ Zalo" in page.text
        assert re.search(r"Sự kiện Zalo chờ xử lý</dt>\s*<dd class=\"ok\">0</dd>", page.text)
    else:
        assert "Zalo" not in page.text.split('id="h-health"')[1]
