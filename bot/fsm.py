"""aiogram FSM storage backed by the SQL dialog store; keys are keyed hashes (no raw Telegram ids stored).

The storage is shared by every update, but reads and writes go through the unit of work of the
update being handled (bound by the unit-of-work middleware with :func:`bind_unit_of_work`): the dialog
state is saved in the update's one transaction, on its one connection, and never on a second one.

Inside one binding a key's row is read at most once: aiogram's FSM middleware reads the state, the
handler then reads the data, and both come from that one read (writes through this storage keep the
remembered copy current). The first read of a chat also reads the rows of the chat's other destinies
(``destinies``: the contact conversation's, which bot/contacts.py asks for on every text message) in
the same statement. The binding lasts one update, under its per-chat lock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    DEFAULT_DESTINY,
    BaseStorage,
    DefaultKeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialogs import SqlDialogStore
from storage.uow import EntrypointUnitOfWork

_current: ContextVar[EntrypointUnitOfWork | None] = ContextVar("gopy_update_unit_of_work", default=None)
# the rows read (or written) in the current binding: key -> (state, data)
_rows: ContextVar[dict[str, tuple[str | None, dict[str, Any]]] | None] = ContextVar(
    "gopy_update_dialog_rows", default=None
)


@contextmanager
def bind_unit_of_work(uow: EntrypointUnitOfWork) -> Iterator[None]:
    """Dialog state read or written inside this block goes through ``uow``."""
    token = _current.set(uow)
    rows_token = _rows.set({})
    try:
        yield
    finally:
        _rows.reset(rows_token)
        _current.reset(token)


def _unit_of_work() -> EntrypointUnitOfWork:
    uow = _current.get()
    if uow is None or uow.session is None:
        raise RuntimeError("dialog state used outside the unit of work of an update")
    return uow


def _remembered() -> dict[str, tuple[str | None, dict[str, Any]]]:
    rows = _rows.get()
    assert rows is not None  # bound together with the unit of work
    return rows


class SqlStorage(BaseStorage):
    """Dialog state in the database, so a restart mid-conversation resumes where the person was."""

    def __init__(
        self, store: SqlDialogStore, *, hash_key: str, destinies: Sequence[str] = (DEFAULT_DESTINY,)
    ) -> None:
        self._store = store
        self._hash_key = hash_key.encode()
        self._keys = DefaultKeyBuilder(with_destiny=True, with_bot_id=True)
        self._destinies = tuple(destinies)

    def _key(self, key: StorageKey) -> str:
        raw = self._keys.build(key)
        return "tg:" + hmac.new(self._hash_key, raw.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _session() -> AsyncSession:
        session = _unit_of_work().session
        assert session is not None
        return session

    async def _read(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        session, rows, hashed = self._session(), _remembered(), self._key(key)
        if hashed not in rows:
            siblings = {hashed} | {self._key(replace(key, destiny=d)) for d in self._destinies}
            rows.update(await self._store.get_many(session, sorted(siblings - rows.keys())))
        state, data = rows[hashed]
        return state, dict(data)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        hashed = self._key(key)
        await self._store.set(self._session(), hashed, state=value, fields=("state",))
        _unit_of_work().mark_written()
        rows = _remembered()
        if hashed in rows:
            rows[hashed] = (value, rows[hashed][1])

    async def get_state(self, key: StorageKey) -> str | None:
        state, _data = await self._read(key)
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        hashed = self._key(key)
        await self._store.set(self._session(), hashed, data=dict(data), fields=("data",))
        _unit_of_work().mark_written()
        rows = _remembered()
        if hashed in rows:
            rows[hashed] = (rows[hashed][0], dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _state, data = await self._read(key)
        return data

    async def close(self) -> None:
        return None
