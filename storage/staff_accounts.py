"""SQL repository of the staff console's accounts and sessions. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.staff.ports import StaffAccount, StaffSession
from storage.models_staff import StaffAccountRow, StaffSessionRow


def _account(row: StaffAccountRow) -> StaffAccount:
    return StaffAccount(
        id=row.id,
        email=row.email,
        role=row.role,
        password_hash=row.password_hash,
        created_at=row.created_at,
        totp_secret=row.totp_secret,
        totp_last_step=row.totp_last_step,
        failed_count=row.failed_count,
        first_failed_at=row.first_failed_at,
        locked_until=row.locked_until,
        disabled_at=row.disabled_at,
    )


class SqlStaffAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, email: str, role: str, password_hash: str, now: datetime) -> int:
        row = StaffAccountRow(
            email=email, role=role, password_hash=password_hash, failed_count=0, created_at=now
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def get(self, account_id: int) -> StaffAccount | None:
        row = await self.session.get(StaffAccountRow, account_id, populate_existing=True)
        return _account(row) if row else None

    async def by_email(self, email: str) -> StaffAccount | None:
        row = await self.session.scalar(select(StaffAccountRow).where(StaffAccountRow.email == email))
        return _account(row) if row else None

    async def list(self) -> Sequence[StaffAccount]:
        rows = await self.session.scalars(select(StaffAccountRow).order_by(StaffAccountRow.id))
        return [_account(r) for r in rows]

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(StaffAccountRow)) or 0)

    async def _row(self, account_id: int) -> StaffAccountRow | None:
        return await self.session.get(StaffAccountRow, account_id)

    async def set_role(self, account_id: int, role: str) -> None:
        if row := await self._row(account_id):
            row.role = role
            await self.session.flush()

    async def set_disabled(self, account_id: int, at: datetime | None) -> None:
        if row := await self._row(account_id):
            row.disabled_at = at
            await self.session.flush()

    async def set_password_hash(self, account_id: int, password_hash: str) -> None:
        if row := await self._row(account_id):
            row.password_hash = password_hash
            await self.session.flush()

    async def set_failures(
        self, account_id: int, *, count: int, first_at: datetime | None, locked_until: datetime | None
    ) -> None:
        if row := await self._row(account_id):
            row.failed_count = count
            row.first_failed_at = first_at
            row.locked_until = locked_until
            await self.session.flush()

    async def add_session(
        self,
        *,
        token_hash: str,
        account_id: int,
        csrf_token: str,
        now: datetime,
        expires_at: datetime,
        pending: bool = False,
    ) -> int:
        row = StaffSessionRow(
            pending=pending,
            token_hash=token_hash,
            account_id=account_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def session_by_token_hash(self, token_hash: str) -> StaffSession | None:
        row = await self.session.scalar(
            select(StaffSessionRow).where(StaffSessionRow.token_hash == token_hash)
        )
        if row is None:
            return None
        return StaffSession(
            id=row.id,
            account_id=row.account_id,
            csrf_token=row.csrf_token,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            pending=bool(row.pending),
        )

    async def touch_session(self, session_id: int, *, now: datetime) -> None:
        if row := await self.session.get(StaffSessionRow, session_id):
            row.last_seen_at = now
            await self.session.flush()

    async def delete_session(self, token_hash: str) -> None:
        await self.session.execute(delete(StaffSessionRow).where(StaffSessionRow.token_hash == token_hash))

    async def delete_sessions_of(self, account_id: int, *, keep_token_hash: str | None = None) -> None:
        query = delete(StaffSessionRow).where(StaffSessionRow.account_id == account_id)
        if keep_token_hash is not None:
            query = query.where(StaffSessionRow.token_hash != keep_token_hash)
        await self.session.execute(query)

    async def set_totp(self, account_id: int, *, sealed_secret: str | None, last_step: int | None) -> None:
        if row := await self._row(account_id):
            row.totp_secret = sealed_secret
            row.totp_last_step = last_step
            await self.session.flush()

    async def advance_totp_step(self, account_id: int, step: int) -> bool:
        """One UPDATE guarded by the last step: of two requests with the same code only one wins."""
        result = await self.session.execute(
            update(StaffAccountRow)
            .where(
                StaffAccountRow.id == account_id,
                or_(StaffAccountRow.totp_last_step.is_(None), StaffAccountRow.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
