"""/v1/feedback: filtered, cursor-paginated list of entries, one entry by receipt code, and moderation
(hide with a reason, restore)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from api.auth import require_scopes
from api.v1.deps import Filters, Uow, now, presenter
from api.v1.schemas import (
    ERRORS,
    FeedbackPage,
    FeedbackRead,
    ModerationCreate,
    ModerationRead,
    ModerationRestore,
)
from core.api_keys import Principal, Scope
from core.staff import feedback as uc
from core.staff import moderation

router = APIRouter(prefix="/feedback", tags=["feedback"], responses=ERRORS)
Receipt = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]


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
    receipt_code: Receipt,
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


@router.post("/{receipt_code}/hide", response_model=ModerationRead)
async def hide_feedback(
    request: Request,
    uow: Uow,
    receipt_code: Receipt,
    body: ModerationCreate,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_MODERATE)),
) -> dict[str, Any]:
    """Hide an abusive or spam entry with a reason: kept and audited, left out of every count, report
    and listing (list with ``hidden=include`` or ``only`` to see it). Hiding it again changes nothing."""
    state = await moderation.hide_opinion(
        uow=uow, actor=principal.actor, receipt_code=receipt_code, reason=body.reason, now=now(request)
    )
    return asdict(state)


@router.post("/{receipt_code}/restore", response_model=ModerationRead)
async def restore_feedback(
    request: Request,
    uow: Uow,
    receipt_code: Receipt,
    body: ModerationRestore | None = None,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_MODERATE)),
) -> dict[str, Any]:
    """Show a hidden entry again (audited with the reason it had been hidden for)."""
    state = await moderation.restore_opinion(
        uow=uow,
        actor=principal.actor,
        receipt_code=receipt_code,
        note=body.note if body is not None else None,
        now=now(request),
    )
    return asdict(state)
