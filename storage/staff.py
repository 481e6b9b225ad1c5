"""Write side of the staff API: API keys, the audit log, document publication, meeting imports.

Functions take a session and never commit: the entrypoint (HTTP request, CLI command) commits once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import errors
from core.api_keys import NewKey, Principal, generate_key, matches, prefix_of
from core.domain import new_receipt_code
from core.staff import MeetingEntry, next_status
from core.text import fold_for_matching
from storage.models import DocumentRow, FeedbackRow
from storage.models_api import ApiKeyRow, AuditLogRow


async def create_api_key(
    session: AsyncSession, *, name: str, scopes: Sequence[str], now: datetime
) -> tuple[int, NewKey]:
    """Store a new key (prefix + hash only) and return its id and the key, to be shown once."""
    key = generate_key()
    row = ApiKeyRow(
        name=name[:100], prefix=key.prefix, key_hash=key.key_hash, scopes=list(scopes), created_at=now
    )
    session.add(row)
    await session.flush()
    return row.id, key


async def authenticate(session: AsyncSession, secret: str) -> Principal:
    """The principal behind a presented key; unknown, malformed or revoked keys raise ApiKeyInvalid."""
    prefix = prefix_of(secret)
    if prefix is None:
        raise errors.ApiKeyInvalid(reason="malformed")
    row = await session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
    if row is None or not matches(secret, row.key_hash):
        raise errors.ApiKeyInvalid(reason="unknown")
    if row.revoked_at is not None:
        raise errors.ApiKeyInvalid(reason="revoked")
    return Principal(key_id=row.id, name=row.name, scopes=frozenset(row.scopes or ()))


async def revoke_api_key(session: AsyncSession, *, key: str, now: datetime) -> bool:
    """Revoke a key given by id, prefix or the whole key; False when there is no such active key."""
    prefix = prefix_of(key) or key
    row = await session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
    if row is None and key.isdigit() and len(key) < 10:
        row = await session.get(ApiKeyRow, int(key))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    await session.flush()
    return True


async def list_api_keys(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))
    return [
        {
            "id": r.id,
            "name": r.name,
            "prefix": r.prefix,
            "scopes": list(r.scopes or ()),
            "created_at": r.created_at,
            "revoked_at": r.revoked_at,
        }
        for r in rows
    ]


async def record_audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    now: datetime,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    row_count: int | None = None,
) -> None:
    """Append one audit row (committed with the rest of the unit of work)."""
    session.add(
        AuditLogRow(
            actor=actor[:120],
            action=action[:64],
            target=target[:200] if target else None,
            details=details or {},
            row_count=row_count,
            at=now,
        )
    )
    await session.flush()


async def list_audit(session: AsyncSession, *, limit: int = 100) -> list[dict[str, Any]]:
    rows = await session.scalars(select(AuditLogRow).order_by(AuditLogRow.id.desc()).limit(limit))
    return [
        {
            "id": r.id,
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "details": r.details,
            "row_count": r.row_count,
            "at": r.at,
        }
        for r in rows
    ]


async def create_document(
    session: AsyncSession, *, code: str, title: str, level: str | None, now: datetime
) -> int:
    """A new draft document (status draft) without sections; a taken code is a 409."""
    if await session.scalar(select(DocumentRow.id).where(DocumentRow.code == code)) is not None:
        raise errors.DocumentCodeTaken(code=code)
    row = DocumentRow(code=code, title=title, level=level, status="draft", created_at=now)
    session.add(row)
    await session.flush()
    return row.id


async def change_document_status(session: AsyncSession, *, document_id: int, action: str) -> str:
    row = await session.get(DocumentRow, document_id)
    if row is None:
        raise errors.DocumentNotFound(document_id=document_id)
    row.status = next_status(row.status, action).value
    await session.flush()
    return row.status


async def add_meeting_entries(session: AsyncSession, entries: Sequence[MeetingEntry]) -> list[str]:
    """Store checked meeting rows as feedback (source and channel "meeting"); return the receipts."""
    taken: set[str] = set()
    receipts: list[str] = []
    for entry in entries:
        code = new_receipt_code()
        while code in taken or await session.scalar(
            select(FeedbackRow.id).where(FeedbackRow.receipt_code == code)
        ):
            code = new_receipt_code()
        taken.add(code)
        session.add(
            FeedbackRow(
                receipt_code=code,
                kind="draft_opinion",
                respondent_id=None,
                document_id=entry.document_id,
                section_id=entry.section_id,
                stance=entry.stance.value,
                text=entry.text,
                text_folded=fold_for_matching(entry.text),
                channel="meeting",
                source="meeting",
                status="active",
                category=entry.category,
                organisation=entry.organisation,
                locality=entry.locality,
                anonymous=True,
                unit_code=entry.unit_code,
                created_at=entry.created_at,
            )
        )
        receipts.append(code)
    await session.flush()
    return receipts
