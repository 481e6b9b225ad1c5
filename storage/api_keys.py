"""SQL repository of the staff API keys (only a prefix and a hash are stored). Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.api_keys import ApiKeyRecord
from storage.models_api import ApiKeyRow


def _record(row: ApiKeyRow) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        key_hash=row.key_hash,
        scopes=tuple(row.scopes or ()),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class SqlApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, name: str, prefix: str, key_hash: str, scopes: Sequence[str], now: datetime
    ) -> int:
        row = ApiKeyRow(name=name, prefix=prefix, key_hash=key_hash, scopes=list(scopes), created_at=now)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def get(self, key_id: int) -> ApiKeyRecord | None:
        row = await self.session.get(ApiKeyRow, key_id)
        return _record(row) if row else None

    async def get_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        row = await self.session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
        return _record(row) if row else None

    async def revoke(self, key_id: int, *, now: datetime) -> None:
        row = await self.session.get(ApiKeyRow, key_id)
        if row is not None:
            row.revoked_at = now
            await self.session.flush()

    async def list(self) -> Sequence[ApiKeyRecord]:
        return [_record(r) for r in await self.session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]
