"""Reminders to unit contacts over Zalo, within the OA's messaging window.

Zalo lets an OA message a user freely within 48 hours of the user's last interaction, for a fee from
48 hours to 7 days, and not at all after 7 days. So a reminder to a Zalo contact is:

* sent when the contact interacted within 48 hours;
* between 48 hours and 7 days, sent only while the month's budget of paid messages
  (``GOPY_ZALO_MONTHLY_BUDGET``) lasts; past it the contact needs another channel;
* never sent at night (22:00–06:00 local time): it waits for the morning;
* past 7 days (or to a user who unfollowed), not sent: the contact needs another channel (the outbox
  records it unreachable and staff are told).

Every reminder carries its buttons (a tap is an interaction: it reopens the window).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.client import MAX_BUTTONS, Button, ZaloClient, ZaloError, ZaloUnreachable
from bot.zalo.render import CHOICE_PREFIX
from core.clock import Clock
from core.config import Settings
from core.reporting import OutboxMessage
from storage import zalo as store

FREE = timedelta(hours=48)
WINDOW = timedelta(days=7)
NIGHT_START, NIGHT_END = time(22, 0), time(6, 0)
Verdict = Literal["sent", "later", "unreachable", "retry", "failed"]


@dataclass(frozen=True)
class Delivery:
    verdict: Verdict
    reason: str = ""


class ZaloReminders:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        client: ZaloClient,
        clock: Clock,
        tz: ZoneInfo,
        monthly_budget: int = 0,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.clock = clock
        self.tz = tz
        self.monthly_budget = monthly_budget

    def at_night(self, now: datetime) -> bool:
        local = now.astimezone(self.tz).time()
        return local >= NIGHT_START or local < NIGHT_END

    async def deliver(self, message: OutboxMessage) -> Delivery:
        """Send one reminder if the window allows; holds no connection while it calls Zalo."""
        now = self.clock.now()
        async with self.sessions() as session:
            user = await store.zalo_user_of_chat(session, message.chat_id)
            zalo_id = user.zalo_user_id if user else ""
            followed = bool(user and user.followed)
            last = user.last_interaction_at if user else None
        if not followed:
            return Delivery("unreachable", "zalo_not_follower")
        age = now - last if last is not None else WINDOW * 2
        if age > WINDOW:
            return Delivery("unreachable", "zalo_window")
        if self.at_night(now):
            return Delivery("later", "zalo_night")
        if age > FREE:
            async with self.sessions() as session:
                granted = await store.spend_budget(
                    session, month=now.astimezone(self.tz).strftime("%Y-%m"), budget=self.monthly_budget
                )
                await session.commit()
            if not granted:
                return Delivery("unreachable", "zalo_budget")
        buttons = [
            Button(label, f"{CHOICE_PREFIX}0:{data}") for row in message.buttons for label, data in row
        ][:MAX_BUTTONS]
        try:
            await self.client.send_text(zalo_id, message.text, buttons)
        except ZaloUnreachable as exc:
            return Delivery("unreachable", f"zalo_{-exc.code}")
        except ZaloError as exc:
            return Delivery(
                "retry" if exc.code in (-32, 0) or exc.code >= 500 else "failed", f"zalo_{exc.code}"
            )
        return Delivery("sent")


def build_zalo_reminders(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> tuple[ZaloReminders, aiohttp.ClientSession]:
    """The Zalo reminder sender of a scheduler, and its HTTP session (the caller closes it)."""
    from bot.zalo.client import TokenKeeper

    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    tokens = TokenKeeper(
        sessions=sessions,
        http=http,
        oauth_base=settings.zalo_oauth_base,
        app_id=settings.zalo_app_id or "",
        app_secret=settings.zalo_app_secret.get_secret_value() if settings.zalo_app_secret else "",
        clock=clock,
        ahead_seconds=settings.zalo_refresh_ahead_seconds,
    )
    client = ZaloClient(http=http, tokens=tokens, api_base=settings.zalo_api_base)
    reminders = ZaloReminders(
        sessions=sessions,
        client=client,
        clock=clock,
        tz=settings.tz,
        monthly_budget=settings.zalo_monthly_budget,
    )
    return reminders, http
