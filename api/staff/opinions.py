"""/staff/opinions: the opinions table (every filter of GET /v1/feedback, full-text search, cursor pages),
one opinion's page, and moderation (hide with a reason, restore).

Viewers see pseudonyms and no profile (age band, gender); analysts and admins see the respondent and
the profile, a read audited by the use case (``feedback.read_pii``). Moderation needs an analyst.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.staff.pages_common import error_text, local_moment, now, staff_presenter, tz
from api.staff.rendering import redirect, render
from api.staff.security import StaffRoute, StaffUser, require_staff
from api.unit_of_work import Uow
from core import errors
from core.domain import Channel, FeedbackKind, Source, Stance
from core.exports import MAX_TEXT_FILTER, FeedbackFilters, HiddenFilter
from core.staff import feedback as uc
from core.staff import moderation
from core.staff.documents import get_document, list_documents
from core.staff.reporting import list_periods

router = APIRouter(route_class=StaffRoute, include_in_schema=False)

PAGE = 50
MODERATOR = "analyst"  # hiding and restoring: analysts and admins
MAX_ID = 2**31 - 1
ENUMS: dict[str, type[StrEnum]] = {
    "kind": FeedbackKind,
    "stance": Stance,
    "channel": Channel,
    "source": Source,
    "hidden": HiddenFilter,
}
IDS = ("document_id", "section_id", "period_id")
CODES = ("category", "organisation", "locality")
#: the query parameters the table understands (the form's fields)
PARAMS = (*ENUMS, *IDS, *CODES, "q", "created_from", "created_to")


def parse_filters(request: Request) -> tuple[FeedbackFilters, dict[str, str]]:
    """The table's filters from the query string (blank fields ignored), and the values to refill the
    form with; a wrong value is an InvalidQuery naming its field (shown on the page)."""
    query = request.query_params
    given = {k: query[k].strip() for k in PARAMS if query.get(k, "").strip()}
    values: dict[str, Any] = {}
    for name, enum in ENUMS.items():
        if name in given:
            try:
                values[name] = enum(given[name])
            except ValueError as exc:
                raise errors.InvalidQuery(field=name, reason="invalid") from exc
    for name in IDS:
        if name in given:
            if not given[name].isdigit() or not 1 <= int(given[name]) <= MAX_ID:
                raise errors.InvalidQuery(field=name, reason="invalid")
            values[name] = int(given[name])
    for name in CODES:
        if name in given:
            values[name] = given[name][:64]
    if "q" in given:
        values["q"] = given["q"][: MAX_TEXT_FILTER + 1]
    for name in ("created_from", "created_to"):
        if name in given:
            moment = local_moment(given[name], request)
            if moment is None:
                raise errors.InvalidQuery(field=name, reason="invalid")
            if name == "created_to" and len(given[name]) == 10:
                moment += timedelta(days=1)  # a day "to" includes that day
            values[name] = moment
    known = {f.name for f in fields(FeedbackFilters)}
    return FeedbackFilters(**{k: v for k, v in values.items() if k in known}), given


async def _form_choices(uow: Uow, document_id: int | None, given: dict[str, str]) -> dict[str, Any]:
    documents = await list_documents(uow=uow)
    references = await uc.reference_filter_choices(uow=uow)
    for name, choices in references.items():  # a code no longer listed still shows as chosen
        if given.get(name) and all(code != given[name] for code, _ in choices):
            choices.append((given[name], given[name]))
    sections: list[Any] = []
    if document_id is not None and any(d["id"] == document_id for d in documents):
        sections = (await get_document(uow=uow, document_id=document_id))["sections"]
    return {
        "documents": documents,
        "sections": sections,
        "periods": await list_periods(uow=uow),
        "kinds": [k.value for k in FeedbackKind],
        "stances": [s.value for s in Stance],
        "channels": [c.value for c in Channel],
        "sources": [s.value for s in Source],
        "hidden_modes": [h.value for h in HiddenFilter],
        "references": references,
    }


@router.get("/staff/opinions")
async def opinions(request: Request, uow: Uow, user: StaffUser = require_staff("viewer")) -> Response:
    cursor = request.query_params.get("cursor") or None
    error = None
    given: dict[str, str] = {}
    page: uc.FeedbackPage | None = None
    try:
        filters, given = parse_filters(request)
        page = await uc.list_feedback(
            uow=uow,
            actor=user.actor,
            filters=filters,
            cursor=cursor[:200] if cursor else None,
            limit=PAGE,
            present=staff_presenter(request, user),
            now=now(request),
        )
    except errors.InvalidQuery as exc:
        error = error_text(exc, user.lang)
    document_id = int(given["document_id"]) if given.get("document_id", "").isdigit() else None
    next_url = None
    if page is not None and page.next_cursor:
        next_url = "/staff/opinions?" + urlencode({**given, "cursor": page.next_cursor})
    return render(
        request,
        "opinions.html",
        {
            "rows": page.items if page else [],
            "given": given,
            "error": error,
            "next_url": next_url,
            "first_url": ("/staff/opinions?" + urlencode(given)) if cursor else None,
            "pii": user.can("analyst"),
            "moderator": user.can(MODERATOR),
            **(await _form_choices(uow, document_id, given)),
        },
        user=user,
        status_code=422 if error else 200,
    )


@router.get("/staff/opinions-sections")
async def section_options(request: Request, uow: Uow, user: StaffUser = require_staff("viewer")) -> Response:
    """The options of the sections select for the draft chosen (htmx swaps them in on its change)."""
    raw = request.query_params.get("document_id", "").strip()
    document_id = int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_ID else None
    choices = await _form_choices(uow, document_id, {})
    return render(request, "opinion_sections.html", {"sections": choices["sections"]}, user=user)


async def _opinion_page(
    request: Request, uow: Uow, user: StaffUser, receipt: str, *, error: str | None = None, status: int = 200
) -> Response:
    row = await uc.get_feedback(
        uow=uow,
        actor=user.actor,
        receipt_code=receipt,
        present=staff_presenter(request, user),
        now=now(request),
    )
    return render(
        request,
        "opinion.html",
        {
            "row": row,
            "pii": user.can("analyst"),
            "moderator": user.can(MODERATOR),
            "error": error,
            "tz": tz(request),
        },
        user=user,
        status_code=status,
    )


@router.get("/staff/opinions/{receipt}")
async def opinion(
    request: Request, uow: Uow, receipt: str, user: StaffUser = require_staff("viewer")
) -> Response:
    return await _opinion_page(request, uow, user, receipt[:16])


@router.post("/staff/opinions/{receipt}/hide")
async def hide(
    request: Request,
    uow: Uow,
    receipt: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
    user: StaffUser = require_staff(MODERATOR),
) -> Response:
    try:
        state = await moderation.hide_opinion(
            uow=uow, actor=user.actor, receipt_code=receipt[:16], reason=reason, now=now(request)
        )
    except errors.InvalidQuery as exc:
        await uow.rollback()
        return await _opinion_page(
            request, uow, user, receipt[:16], error=error_text(exc, user.lang), status=422
        )
    flash = "staff.opinions.hidden_done" if state.changed else "staff.opinions.unchanged"
    return redirect(f"/staff/opinions/{state.receipt_code}", flash=flash)


@router.post("/staff/opinions/{receipt}/restore")
async def restore(
    request: Request,
    uow: Uow,
    receipt: str,
    note: Annotated[str, Form(max_length=500)] = "",
    user: StaffUser = require_staff(MODERATOR),
) -> Response:
    state = await moderation.restore_opinion(
        uow=uow, actor=user.actor, receipt_code=receipt[:16], note=note.strip() or None, now=now(request)
    )
    flash = "staff.opinions.restored" if state.changed else "staff.opinions.unchanged"
    return redirect(f"/staff/opinions/{state.receipt_code}", flash=flash)
