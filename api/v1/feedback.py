"""/v1/feedback: filtered, cursor-paginated list of entries, and one entry by receipt code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from api.auth import audit, require_scopes
from api.v1.deps import Filters, Session, services
from api.v1.schemas import ERRORS, FeedbackPage, FeedbackRead
from core import errors
from core.api_keys import Principal, Scope
from core.exports import make_cursor, parse_cursor, present_row
from storage import queries

router = APIRouter(prefix="/feedback", tags=["feedback"], responses=ERRORS)


def presenter(request: Request, principal: Principal) -> Any:
    settings = services(request).settings
    pii = principal.has(Scope.FEEDBACK_PII)
    key = settings.hash_key.get_secret_value()

    def present(row: dict[str, Any]) -> dict[str, Any]:
        return present_row(row, pii=pii, hash_key=key, tz=settings.tz)

    return present


@router.get("", response_model=FeedbackPage)
async def list_feedback(
    request: Request,
    session: Session,
    filters: Filters,
    cursor: Annotated[str | None, Query(max_length=200, description="from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """Entries matching the filters, oldest first, ``limit`` at a time.

    Pages never repeat an entry nor skip one that existed when the listing began, even while new
    entries arrive. With ``feedback:pii`` the respondent column holds the respondent id (audited).
    """
    after = parse_cursor(cursor)
    rows = await queries.feedback_page(session, filters, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if principal.has(Scope.FEEDBACK_PII):
        await audit(
            request,
            principal,
            action="feedback.read_pii",
            details={"filters": filters.as_audit()},
            row_count=len(rows),
        )
    present = presenter(request, principal)
    return {
        "items": [present(r) for r in rows],
        "next_cursor": make_cursor(rows[-1]["id"]) if more else None,
    }


@router.get("/{receipt_code}", response_model=FeedbackRead)
async def get_feedback(
    request: Request,
    session: Session,
    receipt_code: Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")],
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """One entry by its receipt code (``GY-7K3F9Q``, case ignored)."""
    row = await queries.feedback_by_receipt(session, receipt_code)
    if row is None:
        raise errors.FeedbackNotFound(receipt_code=receipt_code.upper())
    if principal.has(Scope.FEEDBACK_PII):
        await audit(request, principal, action="feedback.read_pii", target=row["receipt_code"], row_count=1)
    return presenter(request, principal)(row)  # type: ignore[no-any-return]
