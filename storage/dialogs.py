"""A SQL-backed store of dialog states: one row per conversation key (already a keyed hash)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, SystemClock
from storage.db import connection_of, insert_of
from storage.models import DialogStateRow

_TABLE = DialogStateRow.__table__
#: one statement object per shape, built once: a statement's SQL (and its compiled form, cached by
#: SQLAlchemy under the statement's cache key, which is memoised on the object) is then not rebuilt per
#: event; the values are bound parameters
_GET = select(_TABLE.c.state, _TABLE.c.data).where(_TABLE.c.key == bindparam("key"))
_GET_MANY = select(_TABLE.c.key, _TABLE.c.state, _TABLE.c.data).where(
    _TABLE.c.key.in_(bindparam("keys", expanding=True))
)
_UPSERTS: dict[tuple[str, tuple[str, ...]], Any] = {}


def _upsert(dialect: str, fields: tuple[str, ...]) -> Any:
    statement = _UPSERTS.get((dialect, fields))
    if statement is None:
        insert = insert_of(dialect)
        columns = ("key", "state", "data", "updated_at")
        values = insert(_TABLE).values({c: bindparam(c, type_=_TABLE.c[c].type) for c in columns})
        changed = {f: values.excluded[f] for f in (*fields, "updated_at")}
        statement = _UPSERTS[(dialect, fields)] = values.on_conflict_do_update(
            index_elements=["key"], set_=changed
        )
    return statement


class SqlDialogStore:
    """Get and set ``(state, data)`` by key in the caller's session (an upsert; never commits).

    The caller is the entrypoint's unit of work (a bot update), so the dialog state is read and
    written in the update's one transaction and through its one connection. Both are plain column
    statements built once (no ORM object per read, nothing in the session's identity map).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()

    async def get(self, session: AsyncSession, key: str) -> tuple[str | None, dict[str, Any]]:
        row = (await (await connection_of(session)).execute(_GET, {"key": key})).first()
        if row is None:
            return None, {}
        return row.state, dict(row.data or {})

    async def get_many(
        self, session: AsyncSession, keys: Sequence[str]
    ) -> dict[str, tuple[str | None, dict[str, Any]]]:
        """The rows of several keys in one statement; a key without a row gets ``(None, {})``."""
        found: dict[str, tuple[str | None, dict[str, Any]]] = dict.fromkeys(keys, (None, {}))
        for row in await (await connection_of(session)).execute(_GET_MANY, {"keys": list(keys)}):
            found[row.key] = (row.state, dict(row.data or {}))
        return found

    async def set(
        self,
        session: AsyncSession,
        key: str,
        *,
        state: str | None = None,
        data: dict[str, Any] | None = None,
        fields: tuple[str, ...] = ("state", "data"),
    ) -> None:
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        values = {"key": key, "updated_at": self._clock.now(), "state": state, "data": data or {}}
        await (await connection_of(session)).execute(_upsert(dialect, fields), values)

    async def delete(self, session: AsyncSession, key: str) -> None:
        await session.execute(delete(DialogStateRow).where(DialogStateRow.key == key))
