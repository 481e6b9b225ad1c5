"""aiogram FSM storage backed by the SQL dialog store; keys are keyed hashes (no raw Telegram ids stored)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey

from storage.dialogs import SqlDialogStore


class SqlStorage(BaseStorage):
    """Dialog state in the database, so a restart mid-conversation resumes where the person was."""

    def __init__(self, store: SqlDialogStore, *, hash_key: str) -> None:
        self._store = store
        self._hash_key = hash_key.encode()
        self._keys = DefaultKeyBuilder(with_destiny=True, with_bot_id=True)

    def _key(self, key: StorageKey) -> str:
        raw = self._keys.build(key)
        return "tg:" + hmac.new(self._hash_key, raw.encode(), hashlib.sha256).hexdigest()

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._store.set(self._key(key), state=value, fields=("state",))

    async def get_state(self, key: StorageKey) -> str | None:
        state, _data = await self._store.get(self._key(key))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._store.set(self._key(key), data=dict(data), fields=("data",))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _state, data = await self._store.get(self._key(key))
        return data

    async def close(self) -> None:
        return None
