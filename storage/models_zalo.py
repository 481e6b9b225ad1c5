"""Tables of the Zalo OA channel: the token pair, the webhook inbox, the Zalo users (bot/zalo/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class ZaloTokenRow(Base):
    """The OA's one token pair (``id`` = 1). ``refreshing_until``: a process holds the refresh lease."""

    __tablename__ = "zalo_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]
    refreshing_until: Mapped[datetime | None]
    refreshing_by: Mapped[str | None] = mapped_column(String(64))


class ZaloInboxRow(Base):
    """One webhook event, stored before the webhook answers; processed once, in order per user."""

    __tablename__ = "zalo_inbox"
    __table_args__ = (Index("ix_zalo_inbox_pending", "processed_at", "zalo_user_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(128), unique=True)
    zalo_user_id: Mapped[str] = mapped_column(String(64))
    event_name: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    event_at: Mapped[datetime]  # Zalo's timestamp of the event
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[list[Any] | None] = mapped_column(JSON)  # what to send, stored with the step
    reply_claimed_at: Mapped[datetime | None]  # a worker took the replies to send (at most once)
    replied_at: Mapped[datetime | None]  # the replies were sent (or given up)


class ZaloUserRow(Base):
    """A Zalo user of the OA: the long numeric id kept as text, mapped to an internal integer key."""

    __tablename__ = "zalo_user"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    zalo_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    followed: Mapped[bool] = mapped_column(Boolean, default=True)
    last_interaction_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ZaloBudgetRow(Base):
    """Paid messages (reminders 48 hours to 7 days after the contact's last interaction) per month."""

    __tablename__ = "zalo_budget"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, local time
    used: Mapped[int] = mapped_column(Integer, default=0)
