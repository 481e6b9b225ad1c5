"""/v1/audit: the latest audit rows (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import require_scopes
from api.v1.deps import Session
from api.v1.schemas import ERRORS, AuditRead
from core.api_keys import Principal, Scope
from storage.staff import list_audit

router = APIRouter(prefix="/audit", tags=["admin"], responses=ERRORS)


@router.get("", response_model=list[AuditRead])
async def latest(
    session: Session,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    _: Principal = Depends(require_scopes(Scope.ADMIN)),
) -> list[dict[str, Any]]:
    """Who exported or read what, newest first."""
    return await list_audit(session, limit=limit)
