"""Shared dependencies of the /v1 routers: the request's unit of work, the clock, the presenter and the
feedback filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from api.unit_of_work import Uow as Uow
from api.v1.schemas import InputLine, InputText
from core.api_keys import Principal, Scope
from core.domain import Channel, FeedbackKind, FeedbackStatus, Source, Stance
from core.exports import MAX_TEXT_FILTER, FeedbackFilters, HiddenFilter, utc_moment
from core.staff.feedback import Presenter

MAX_ID = 2**31 - 1
Code = Annotated[InputLine | None, Query(max_length=64)]


def services(request: Request) -> Any:
    return request.app.state.services


def now(request: Request) -> datetime:
    """The moment of the request, from the app's clock."""
    return services(request).clock.now()  # type: ignore[no-any-return]


def presenter(request: Request, principal: Principal) -> Presenter:
    """How this key sees entries: pseudonyms, or with ``feedback:pii`` the respondent ids."""
    settings = services(request).settings
    return Presenter(
        pii=principal.has(Scope.FEEDBACK_PII), hash_key=settings.hash_key.get_secret_value(), tz=settings.tz
    )


def _code(value: str | None) -> str | None:
    return value or None  # a filter blank after normalisation filters nothing


def _when(name: str, value: datetime | None, request: Request) -> datetime | None:
    """The moment in UTC (as stored); local time when no offset is given; 422 when UTC cannot hold it."""
    return utc_moment(name, value, services(request).settings.tz)


def feedback_filters(
    request: Request,
    kind: Annotated[
        FeedbackKind | None, Query(description="draft_opinion, concern, aspiration, recommendation")
    ] = None,
    document_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    section_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    stance: Stance | None = None,
    category: Code = None,
    organisation: Code = None,
    locality: Code = None,
    channel: Channel | None = None,
    source: Source | None = None,
    status: FeedbackStatus | None = None,
    congress_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    period_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    topic: Code = None,
    unit_code: Code = None,
    created_from: Annotated[
        datetime | None, Query(description="inclusive; ISO 8601, local time when no offset is given")
    ] = None,
    created_to: Annotated[datetime | None, Query(description="exclusive; ISO 8601")] = None,
    text_contains: Annotated[
        InputText | None,
        Query(max_length=MAX_TEXT_FILTER, description="case, accents placement and punctuation ignored"),
    ] = None,
    q: Annotated[
        InputText | None,
        Query(
            max_length=MAX_TEXT_FILTER,
            description="full-text search: every word must appear; case, diacritics and punctuation ignored",
        ),
    ] = None,
    hidden: Annotated[
        HiddenFilter | None,
        Query(description="entries hidden by moderation: exclude (default), include or only"),
    ] = None,
) -> FeedbackFilters:
    """The filters of the feedback list and of every export (all optional, combined with AND)."""
    return FeedbackFilters(
        kind=kind,
        document_id=document_id,
        section_id=section_id,
        stance=stance,
        category=_code(category),
        organisation=_code(organisation),
        locality=_code(locality),
        channel=channel,
        source=source,
        status=status,
        congress_id=congress_id,
        period_id=period_id,
        topic=_code(topic),
        unit_code=_code(unit_code),
        created_from=_when("created_from", created_from, request),
        created_to=_when("created_to", created_to, request),
        text_contains=text_contains or None,
        q=q or None,
        hidden=hidden,
    )


Filters = Annotated[FeedbackFilters, Depends(feedback_filters)]
