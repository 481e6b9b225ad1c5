"""/v1/documents/{id}/themes and /v1/mood/periods/{code}/themes: read a scope's themes, and the staff's
edits (rename, merge, split, move an opinion, undo). Thin routes over core.staff.themes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from api.auth import require_scopes
from api.v1.deps import MAX_ID, Code, Uow, now
from api.v1.schemas import (
    ERRORS,
    THEME_KEY_PATTERN,
    ThemeMerge,
    ThemeMove,
    ThemeRename,
    ThemeSplit,
    ThemesRead,
)
from core.api_keys import Principal, Scope
from core.staff import themes as uc
from core.staff.ports import StaffUnitOfWork
from core.theme_edits import ThemeView

router = APIRouter(tags=["themes"], responses=ERRORS)

DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]
PeriodCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
SectionId = Annotated[
    int | None,
    Query(ge=1, le=MAX_ID, description="the section; absent: the opinions on the whole document"),
]
KeyPath = Annotated[str, Path(pattern=THEME_KEY_PATTERN)]

Resolve = Callable[[StaffUnitOfWork], Awaitable[uc.ThemeScope]]


def _read(views: list[ThemeView]) -> dict[str, Any]:
    return {"themes": [view.as_json() for view in views]}


def _document(document_id: int, section_id: int | None) -> Resolve:
    return lambda uow: uc.section_theme_scope(uow=uow, document_id=document_id, section_id=section_id)


def _mood(period_code: str, topic: str | None) -> Resolve:
    return lambda uow: uc.mood_theme_scope(uow=uow, period_code=period_code, topic=topic or None)


READ = Depends(require_scopes(Scope.FEEDBACK_READ))
WRITE = Depends(require_scopes(Scope.THEMES_WRITE))


async def _rename(
    uow: Uow, resolve: Resolve, key: str, body: ThemeRename, actor: str, request: Request
) -> Any:
    scope = await resolve(uow)
    views = await uc.rename_theme(
        uow=uow, actor=actor, scope=scope, theme_key=key, name=body.name, now=now(request)
    )
    return _read(views)


async def _merge(uow: Uow, resolve: Resolve, key: str, body: ThemeMerge, actor: str, request: Request) -> Any:
    scope = await resolve(uow)
    views = await uc.merge_themes(
        uow=uow,
        actor=actor,
        scope=scope,
        theme_key=key,
        other_key=body.other,
        name=body.name,
        now=now(request),
    )
    return _read(views)


async def _split(uow: Uow, resolve: Resolve, key: str, body: ThemeSplit, actor: str, request: Request) -> Any:
    scope = await resolve(uow)
    views = await uc.split_theme(
        uow=uow,
        actor=actor,
        scope=scope,
        theme_key=key,
        receipt_codes=body.receipt_codes,
        name=body.name,
        now=now(request),
    )
    return _read(views)


async def _move(uow: Uow, resolve: Resolve, key: str, body: ThemeMove, actor: str, request: Request) -> Any:
    scope = await resolve(uow)
    views = await uc.move_opinion(
        uow=uow, actor=actor, scope=scope, receipt_code=body.receipt_code, theme_key=key, now=now(request)
    )
    return _read(views)


async def _reset(uow: Uow, resolve: Resolve, key: str, actor: str, request: Request) -> Any:
    scope = await resolve(uow)
    return _read(await uc.reset_theme(uow=uow, actor=actor, scope=scope, theme_key=key, now=now(request)))


# --------------------------------------------------------------------------- a document's sections

DOC = "/documents/{document_id}/themes"


@router.get(DOC, response_model=ThemesRead)
async def document_themes(
    document_id: DocumentId, uow: Uow, section_id: SectionId = None, _: Principal = READ
) -> dict[str, Any]:
    """The themes of one section (or of the whole-document opinions), with the staff's edits applied."""
    scope = await _document(document_id, section_id)(uow)
    return _read(await uc.list_themes(uow=uow, scope=scope))


@router.patch(DOC + "/{theme_key}", response_model=ThemesRead)
async def rename_document_theme(
    document_id: DocumentId,
    theme_key: KeyPath,
    body: ThemeRename,
    request: Request,
    uow: Uow,
    section_id: SectionId = None,
    principal: Principal = WRITE,
) -> Any:
    """Rename a theme; its opinions stay with it on later runs. Returns the section's themes."""
    return await _rename(uow, _document(document_id, section_id), theme_key, body, principal.actor, request)


@router.post(DOC + "/{theme_key}/merge", response_model=ThemesRead)
async def merge_document_themes(
    document_id: DocumentId,
    theme_key: KeyPath,
    body: ThemeMerge,
    request: Request,
    uow: Uow,
    section_id: SectionId = None,
    principal: Principal = WRITE,
) -> Any:
    """Move every opinion of theme ``other`` into this theme (optionally renamed)."""
    return await _merge(uow, _document(document_id, section_id), theme_key, body, principal.actor, request)


@router.post(DOC + "/{theme_key}/split", response_model=ThemesRead)
async def split_document_theme(
    document_id: DocumentId,
    theme_key: KeyPath,
    body: ThemeSplit,
    request: Request,
    uow: Uow,
    section_id: SectionId = None,
    principal: Principal = WRITE,
) -> Any:
    """Move some of this theme's opinions out to a new theme named ``name``."""
    return await _split(uow, _document(document_id, section_id), theme_key, body, principal.actor, request)


@router.post(DOC + "/{theme_key}/opinions", response_model=ThemesRead)
async def move_document_opinion(
    document_id: DocumentId,
    theme_key: KeyPath,
    body: ThemeMove,
    request: Request,
    uow: Uow,
    section_id: SectionId = None,
    principal: Principal = WRITE,
) -> Any:
    """Move one opinion (by receipt code) into this theme."""
    return await _move(uow, _document(document_id, section_id), theme_key, body, principal.actor, request)


@router.delete(DOC + "/{theme_key}", response_model=ThemesRead)
async def reset_document_theme(
    document_id: DocumentId,
    theme_key: KeyPath,
    request: Request,
    uow: Uow,
    section_id: SectionId = None,
    principal: Principal = WRITE,
) -> Any:
    """Undo the edits of an edited theme: its opinions go back to the automatic grouping."""
    return await _reset(uow, _document(document_id, section_id), theme_key, principal.actor, request)


# --------------------------------------------------------------------------- a mood period's topics

MOOD = "/mood/periods/{period_code}/themes"


@router.get(MOOD, response_model=ThemesRead)
async def mood_themes(
    period_code: PeriodCode, uow: Uow, topic: Code = None, _: Principal = READ
) -> dict[str, Any]:
    """The themes of one topic's entries in a reporting period, with the staff's edits applied."""
    scope = await _mood(period_code, topic)(uow)
    return _read(await uc.list_themes(uow=uow, scope=scope))


@router.patch(MOOD + "/{theme_key}", response_model=ThemesRead)
async def rename_mood_theme(
    period_code: PeriodCode,
    theme_key: KeyPath,
    body: ThemeRename,
    request: Request,
    uow: Uow,
    topic: Code = None,
    principal: Principal = WRITE,
) -> Any:
    """Rename a theme of a topic."""
    return await _rename(uow, _mood(period_code, topic), theme_key, body, principal.actor, request)


@router.post(MOOD + "/{theme_key}/merge", response_model=ThemesRead)
async def merge_mood_themes(
    period_code: PeriodCode,
    theme_key: KeyPath,
    body: ThemeMerge,
    request: Request,
    uow: Uow,
    topic: Code = None,
    principal: Principal = WRITE,
) -> Any:
    """Move every entry of theme ``other`` into this theme."""
    return await _merge(uow, _mood(period_code, topic), theme_key, body, principal.actor, request)


@router.post(MOOD + "/{theme_key}/split", response_model=ThemesRead)
async def split_mood_theme(
    period_code: PeriodCode,
    theme_key: KeyPath,
    body: ThemeSplit,
    request: Request,
    uow: Uow,
    topic: Code = None,
    principal: Principal = WRITE,
) -> Any:
    """Move some entries of this theme out to a new theme."""
    return await _split(uow, _mood(period_code, topic), theme_key, body, principal.actor, request)


@router.post(MOOD + "/{theme_key}/opinions", response_model=ThemesRead)
async def move_mood_entry(
    period_code: PeriodCode,
    theme_key: KeyPath,
    body: ThemeMove,
    request: Request,
    uow: Uow,
    topic: Code = None,
    principal: Principal = WRITE,
) -> Any:
    """Move one entry (by receipt code) into this theme."""
    return await _move(uow, _mood(period_code, topic), theme_key, body, principal.actor, request)


@router.delete(MOOD + "/{theme_key}", response_model=ThemesRead)
async def reset_mood_theme(
    period_code: PeriodCode,
    theme_key: KeyPath,
    request: Request,
    uow: Uow,
    topic: Code = None,
    principal: Principal = WRITE,
) -> Any:
    """Undo the edits of an edited theme of a topic."""
    return await _reset(uow, _mood(period_code, topic), theme_key, principal.actor, request)
