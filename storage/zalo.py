"""Storage of the Zalo OA channel: the token pair (with a refresh lease), the inbox, the Zalo users.

Every function runs in the caller's session and never commits, except the token functions, which own
their short transactions (the refresh protocol needs each step committed before the network call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import dialect_insert
from storage.models_zalo import ZaloBudgetRow, ZaloInboxRow, ZaloTokenRow, ZaloUserRow

TOKEN_ROW = 1
#: chat ids of Zalo users in the contacts' and the outbox's ``chat_id``: this base plus the user's
#: internal key (Telegram's ids stay below 2**52, so the two never meet)
ZALO_CHAT_BASE = 1 << 53


def is_zalo_chat(chat_id: int) -> bool:
    return chat_id >= ZALO_CHAT_BASE


def channel_of_chat(chat_id: int) -> str:
    return "zalo" if is_zalo_chat(chat_id) else "telegram"


def _is_postgres(session: AsyncSession) -> bool:
    return bool(session.bind and session.bind.dialect.name == "postgresql")


# ------------------------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime
    refreshed_at: datetime
    refreshing_until: datetime | None


async def read_token(sessions: async_sessionmaker[AsyncSession]) -> TokenPair | None:
    async with sessions() as session:
        row = await session.get(ZaloTokenRow, TOKEN_ROW)
        if row is None:
            return None
        return TokenPair(
            row.access_token, row.refresh_token, row.expires_at, row.refreshed_at, row.refreshing_until
        )


async def store_first_pair(
    sessions: async_sessionmaker[AsyncSession],
    *,
    access: str,
    refresh: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Store the pair from the OA's consent (``gopy zalo connect``), replacing any previous one."""
    async with sessions() as session:
        values = {
            "id": TOKEN_ROW,
            "access_token": access,
            "refresh_token": refresh,
            "expires_at": expires_at,
            "refreshed_at": now,
            "refreshing_until": None,
            "refreshing_by": None,
        }
        stmt = dialect_insert(session)(ZaloTokenRow).values(**values)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["id"], set_={k: stmt.excluded[k] for k in values if k != "id"}
            )
        )
        await session.commit()


async def claim_refresh(
    sessions: async_sessionmaker[AsyncSession], *, refresh_token: str, owner: str, now: datetime, lease: float
) -> bool:
    """Take the refresh lease for ``refresh_token`` (a compare-and-swap on its value): True for one caller.

    Committed at once: the caller then calls Zalo holding no connection, and stores the new pair with
    :func:`finish_refresh`. A lease left by a process that died lapses after ``lease`` seconds.
    """
    async with sessions() as session:
        result = await session.execute(
            update(ZaloTokenRow)
            .where(
                ZaloTokenRow.id == TOKEN_ROW,
                ZaloTokenRow.refresh_token == refresh_token,
                (ZaloTokenRow.refreshing_until.is_(None)) | (ZaloTokenRow.refreshing_until < now),
            )
            .values(refreshing_until=now + timedelta(seconds=lease), refreshing_by=owner)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)


async def finish_refresh(
    sessions: async_sessionmaker[AsyncSession],
    *,
    old_refresh: str,
    owner: str,
    access: str | None,
    refresh: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> bool:
    """Store the new pair (or, with ``access`` None, only give the lease back); True when stored."""
    values: dict[str, Any] = {"refreshing_until": None, "refreshing_by": None}
    if access is not None and refresh is not None and expires_at is not None:
        values |= {"access_token": access, "refresh_token": refresh, "expires_at": expires_at}
        values["refreshed_at"] = now
    async with sessions() as session:
        result = await session.execute(
            update(ZaloTokenRow)
            .where(
                ZaloTokenRow.id == TOKEN_ROW,
                ZaloTokenRow.refresh_token == old_refresh,
                ZaloTokenRow.refreshing_by == owner,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)


# -------------------------------------------------------------------------------------------- users


async def touch_user(
    session: AsyncSession, zalo_user_id: str, *, now: datetime, interacted: bool, followed: bool | None
) -> int:
    """The internal key of a Zalo user (created on first sight); records an interaction or a (un)follow."""
    values: dict[str, Any] = {"zalo_user_id": zalo_user_id, "created_at": now, "followed": True}
    if followed is not None:
        values["followed"] = followed
    if interacted:
        values["last_interaction_at"] = now
    stmt = dialect_insert(session)(ZaloUserRow).values(**values)
    changes: dict[str, Any] = {}
    if interacted:
        changes["last_interaction_at"] = stmt.excluded.last_interaction_at
    if followed is not None:
        changes["followed"] = stmt.excluded.followed
    if changes:
        stmt = stmt.on_conflict_do_update(index_elements=["zalo_user_id"], set_=changes)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["zalo_user_id"])
    await session.execute(stmt)
    key = await session.scalar(select(ZaloUserRow.id).where(ZaloUserRow.zalo_user_id == zalo_user_id))
    assert key is not None
    return int(key)


async def zalo_user_of_chat(session: AsyncSession, chat_id: int) -> ZaloUserRow | None:
    """The Zalo user a contact's chat id stands for."""
    return await session.get(ZaloUserRow, chat_id - ZALO_CHAT_BASE) if is_zalo_chat(chat_id) else None


# -------------------------------------------------------------------------------------------- inbox


async def record_event(
    session: AsyncSession,
    *,
    msg_id: str,
    zalo_user_id: str,
    event_name: str,
    payload: dict[str, Any],
    event_at: datetime,
    now: datetime,
) -> bool:
    """Store a webhook event unless its ``msg_id`` is already in; True when it is new."""
    stmt = (
        dialect_insert(session)(ZaloInboxRow)
        .values(
            msg_id=msg_id,
            zalo_user_id=zalo_user_id,
            event_name=event_name,
            payload=payload,
            event_at=event_at,
            received_at=now,
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["msg_id"])
    )
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)


async def next_event(session: AsyncSession) -> ZaloInboxRow | None:
    """The oldest unprocessed event of a user none else is handling, locked with its user (in order per
    user: only a user's first pending event is ever taken)."""
    candidates = (
        select(ZaloInboxRow.zalo_user_id)
        .where(ZaloInboxRow.processed_at.is_(None))
        .order_by(ZaloInboxRow.id)
        .limit(20)
    )
    for zalo_user_id in list(dict.fromkeys((await session.scalars(candidates)).all())):
        if _is_postgres(session):
            locked = await session.scalar(
                select(ZaloUserRow.id)
                .where(ZaloUserRow.zalo_user_id == zalo_user_id)
                .with_for_update(skip_locked=True)
            )
            if locked is None:
                continue  # another worker handles this user now
        row = await session.scalar(
            select(ZaloInboxRow)
            .where(ZaloInboxRow.zalo_user_id == zalo_user_id, ZaloInboxRow.processed_at.is_(None))
            .order_by(ZaloInboxRow.event_at, ZaloInboxRow.id)
            .limit(1)
        )
        if row is not None:
            return row
    return None


async def finish_event(session: AsyncSession, inbox_id: int, *, replies: list[Any], now: datetime) -> bool:
    """Mark an event processed with the replies to send, unless it already is; the payload (a text) is
    dropped, since the conversation's records now hold what is kept. True when marked now."""
    result = await session.execute(
        update(ZaloInboxRow)
        .where(ZaloInboxRow.id == inbox_id, ZaloInboxRow.processed_at.is_(None))
        .values(processed_at=now, payload={}, replies=replies)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def unsent_replies(session: AsyncSession, *, limit: int = 20) -> list[ZaloInboxRow]:
    """Processed events whose replies were not sent yet (the process stopped after the commit)."""
    rows = await session.scalars(
        select(ZaloInboxRow)
        .where(ZaloInboxRow.processed_at.is_not(None), ZaloInboxRow.reply_claimed_at.is_(None))
        .order_by(ZaloInboxRow.id)
        .limit(limit)
    )
    return list(rows.all())


async def count_failure(session: AsyncSession, inbox_id: int, *, max_attempts: int, now: datetime) -> bool:
    """One more failed attempt at an event (in its own transaction: the step's was rolled back); past
    ``max_attempts`` the event is set aside as processed, so the user's next events are not blocked.
    True when it was set aside."""
    row = await session.get(ZaloInboxRow, inbox_id)
    if row is None:
        return False
    row.attempts += 1
    if row.attempts >= max_attempts:
        row.processed_at = now
        row.reply_claimed_at = now
        row.replied_at = now
        return True
    return False


async def claim_replies(session: AsyncSession, inbox_id: int, now: datetime) -> bool:
    """Take an event's replies to send (a compare-and-swap): True for one caller only."""
    result = await session.execute(
        update(ZaloInboxRow)
        .where(ZaloInboxRow.id == inbox_id, ZaloInboxRow.reply_claimed_at.is_(None))
        .values(reply_claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def mark_replied(session: AsyncSession, inbox_id: int, now: datetime) -> None:
    await session.execute(
        update(ZaloInboxRow)
        .where(ZaloInboxRow.id == inbox_id)
        .values(replied_at=now, replies=None)
        .execution_options(synchronize_session=False)
    )


async def last_event_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(ZaloInboxRow.received_at).order_by(ZaloInboxRow.id.desc()).limit(1))


# ------------------------------------------------------------------------------------------- budget


async def spend_budget(session: AsyncSession, *, month: str, budget: int) -> bool:
    """Take one paid message of ``month``'s budget (a conditional UPDATE); False when none is left."""
    if budget <= 0:
        return False
    await session.execute(
        dialect_insert(session)(ZaloBudgetRow)
        .values(month=month, used=0)
        .on_conflict_do_nothing(index_elements=["month"])
    )
    result = await session.execute(
        update(ZaloBudgetRow)
        .where(ZaloBudgetRow.month == month, ZaloBudgetRow.used < budget)
        .values(used=ZaloBudgetRow.used + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
