"""A SQL-backed store of dialog states: one row per conversation key (already a keyed hash)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, SystemClock
from storage.models import DialogStateRow


class SqlDialogStore:
    """Get and set ``(state, data)`` by key in the caller's session (an upsert; never commits).

    The caller is the entrypoint's unit of work (a bot update), so the dialog state is read and
    written in the update's one transaction and through its one connection.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()

    async def get(self, session: AsyncSession, key: str) -> tuple[str | None, dict[str, Any]]:
        row = await session.scalar(select(DialogStateRow).where(DialogStateRow.key == key))
        if row is None:
            return None, {}
        return row.state, dict(row.data or {})

    async def set(
        self,
        session: AsyncSession,
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
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        insert: Callable[..., Any] = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(DialogStateRow).values(**values)
        update_cols = {f: stmt.excluded[f] for f in fields} | {"updated_at": stmt.excluded.updated_at}
        await session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=update_cols))

    async def delete(self, session: AsyncSession, key: str) -> None:
        await session.execute(delete(DialogStateRow).where(DialogStateRow.key == key))
