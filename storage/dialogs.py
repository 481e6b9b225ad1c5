"""A SQL-backed store of dialog states: one row per conversation key (already a keyed hash)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock, SystemClock
from storage.models import DialogStateRow


class SqlDialogStore:
    """Get and set ``(state, data)`` by key, each call in its own short transaction (an upsert)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock | None = None) -> None:
        self._sessions = sessions
        self._clock = clock or SystemClock()

    async def get(self, key: str) -> tuple[str | None, dict[str, Any]]:
        async with self._sessions() as session:
            row = await session.scalar(select(DialogStateRow).where(DialogStateRow.key == key))
            if row is None:
                return None, {}
            return row.state, dict(row.data or {})

    async def set(
        self,
        key: str,
        *,
        state: str | None = None,
        data: dict[str, Any] | None = None,
        fields: tuple[str, ...] = ("state", "data"),
    ) -> None:
        values: dict[str, Any] = {
            "key": key,
            "updated_at": self._clock.now(),
            "state": state,
            "data": data or {},
        }
        async with self._sessions() as session:
            dialect = session.bind.dialect.name if session.bind else "sqlite"
            insert: Callable[..., Any] = pg_insert if dialect == "postgresql" else sqlite_insert
            stmt = insert(DialogStateRow).values(**values)
            update_cols = {f: stmt.excluded[f] for f in fields} | {"updated_at": stmt.excluded.updated_at}
            await session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=update_cols))
            await session.commit()

    async def delete(self, key: str) -> None:
        async with self._sessions() as session:
            await session.execute(delete(DialogStateRow).where(DialogStateRow.key == key))
            await session.commit()
