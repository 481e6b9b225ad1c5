"""/v1/feedback: filtered, cursor-paginated list of entries, and one entry by receipt code."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from api.auth import require_scopes
from api.v1.deps import Filters, Uow, now, presenter
from api.v1.schemas import ERRORS, FeedbackPage, FeedbackRead
from core.api_keys import Principal, Scope
from core.staff import feedback as uc

router = APIRouter(prefix="/feedback", tags=["feedback"], responses=ERRORS)


@router.get("", response_model=FeedbackPage)
async def list_feedback(
    request: Request,
    uow: Uow,
    filters: Filters,
    cursor: Annotated[str | None, Query(max_length=200, description="from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """Entries matching the filters, oldest first, ``limit`` at a time.

    Pages never repeat an entry nor skip one that existed when the listing began, even while new
    entries arrive. With ``feedback:pii`` the respondent column holds the respondent id (audited).
    """
    page = await uc.list_feedback(
        uow=uow,
        actor=principal.actor,
        filters=filters,
        cursor=cursor,
        limit=limit,
        present=presenter(request, principal),
        now=now(request),
    )
    return asdict(page)


@router.get("/{receipt_code}", response_model=FeedbackRead)
async def get_feedback(
    request: Request,
    uow: Uow,
    receipt_code: Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")],
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """One entry by its receipt code (``GY-7K3F9Q``, case ignored)."""
    return await uc.get_feedback(
        uow=uow,
        actor=principal.actor,
        receipt_code=receipt_code,
        present=presenter(request, principal),
        now=now(request),
    )
