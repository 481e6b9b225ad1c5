"""/v1/audit: the latest audit rows (admin)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import require_scopes
from api.v1.deps import Uow
from api.v1.schemas import ERRORS, AuditRead
from core.api_keys import Principal, Scope
from core.staff.audit import list_audit

router = APIRouter(prefix="/audit", tags=["admin"], responses=ERRORS)


@router.get("", response_model=list[AuditRead])
async def latest(
    uow: Uow,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    _: Principal = Depends(require_scopes(Scope.ADMIN)),
) -> list[dict[str, Any]]:
    """Who exported or read what, newest first."""
    return [asdict(entry) for entry in await list_audit(uow=uow, limit=limit)]
