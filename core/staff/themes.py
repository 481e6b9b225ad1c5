"""Staff edits of themes: rename, merge, split, move an opinion, undo; stored, audited, applied on re-runs.

Every edit works on the themes of one scope as they are *now* (the automatic grouping of the scope's
active opinions with the stored edits applied, :mod:`core.theme_edits`), names themes by the ``key``
the consolidation returned (``ThemeNotFound`` when the grouping changed since), stores its result as
stored themes with pinned opinions, and writes one audit row, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import errors
from core.document_consolidation import opinion_texts
from core.domain import FeedbackStatus
from core.mood import MOOD_KINDS, find_period, topic_items
from core.near_duplicates import OpinionText
from core.staff.audit import record_audit
from core.staff.documents import get_document
from core.staff.ports import StaffUnitOfWork
from core.theme_edits import ThemeView, current_themes, mood_scope, section_scope

MAX_NAME = 300


@dataclass(frozen=True)
class ThemeScope:
    """Where an edit applies: a scope key, a target for the audit row, and the scope's opinions."""

    key: str
    target: str
    items: tuple[OpinionText, ...]


async def section_theme_scope(
    *, uow: StaffUnitOfWork, document_id: int, section_id: int | None
) -> ThemeScope:
    """The themes scope of one section of a document (``None``: its whole-document opinions)."""
    document = await get_document(uow=uow, document_id=document_id)
    if section_id is not None and section_id not in {s["id"] for s in document["sections"]}:
        raise errors.SectionNotFound(section_id=section_id)
    rows = [r for r in await uow.views.opinions_of_document(document_id) if r.get("section_id") == section_id]
    key = section_scope(document_id, section_id)
    return ThemeScope(key, key, tuple(opinion_texts(rows)))


async def mood_theme_scope(*, uow: StaffUnitOfWork, period_code: str, topic: str | None) -> ThemeScope:
    """The themes scope of one topic (``None``: entries without a topic) of a reporting period."""
    period, _ = await find_period(uow=uow, period_code=period_code)
    entries = await uow.feedback.list_by_period(period.id)
    mood = [e for e in entries if e.kind in MOOD_KINDS and e.status is FeedbackStatus.ACTIVE]
    key = mood_scope(period.id, topic)
    return ThemeScope(key, key, tuple(topic_items(mood).get(topic, [])))


async def list_themes(*, uow: StaffUnitOfWork, scope: ThemeScope) -> list[ThemeView]:
    """The themes of a scope now, with the stored edits applied (read-only)."""
    return current_themes(scope.items, await uow.themes.in_scope(scope.key), uow.themes.embedder())


def _find(views: Sequence[ThemeView], key: str) -> ThemeView:
    for view in views:
        if view.key == key:
            return view
    raise errors.ThemeNotFound(theme=key)


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise errors.InvalidQuery(field="name", reason="empty" if not cleaned else "too_long")
    return cleaned


async def _store(uow: StaffUnitOfWork, scope: ThemeScope, view: ThemeView, now: datetime) -> int:
    """Make ``view`` a stored theme (if it is not one) and pin its current opinions to it."""
    theme_id = view.stored_id
    if theme_id is None:
        fallback = next((item.text for item in scope.items if item.key == view.receipt_codes[0]), view.key)
        theme_id = await uow.themes.add(
            scope=scope.key, name=_name(view.label or fallback[:MAX_NAME]), now=now
        )
    await uow.themes.pin(scope=scope.key, theme_id=theme_id, receipt_codes=view.receipt_codes)
    return theme_id


async def _finish(
    uow: StaffUnitOfWork,
    scope: ThemeScope,
    *,
    actor: str,
    action: str,
    details: dict[str, Any],
    row_count: int,
    now: datetime,
) -> list[ThemeView]:
    await uow.themes.prune(scope.key)
    await record_audit(
        uow,
        actor=actor,
        action=f"theme.{action}",
        target=scope.target,
        details=details,
        row_count=row_count,
        now=now,
    )
    views = await list_themes(uow=uow, scope=scope)
    await uow.commit()
    return views


async def rename_theme(
    *, uow: StaffUnitOfWork, actor: str, scope: ThemeScope, theme_key: str, name: str, now: datetime
) -> list[ThemeView]:
    """Give a theme a staff name (its opinions stay with it on later runs); the scope's themes after."""
    view = _find(await list_themes(uow=uow, scope=scope), theme_key)
    cleaned = _name(name)
    theme_id = await _store(uow, scope, view, now)
    await uow.themes.rename(theme_id, name=cleaned, now=now)
    details = {"theme": theme_key, "theme_id": theme_id, "name": cleaned}
    return await _finish(
        uow, scope, actor=actor, action="rename", details=details, row_count=view.count, now=now
    )


async def merge_themes(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    scope: ThemeScope,
    theme_key: str,
    other_key: str,
    name: str | None = None,
    now: datetime,
) -> list[ThemeView]:
    """Move every opinion of ``other_key`` into ``theme_key`` (named ``name`` when given)."""
    views = await list_themes(uow=uow, scope=scope)
    view, other = _find(views, theme_key), _find(views, other_key)
    if view.key == other.key:
        raise errors.InvalidQuery(field="other", reason="same_theme")
    cleaned = _name(name) if name is not None else None
    theme_id = await _store(uow, scope, view, now)
    await uow.themes.pin(scope=scope.key, theme_id=theme_id, receipt_codes=other.receipt_codes)
    if cleaned is not None:
        await uow.themes.rename(theme_id, name=cleaned, now=now)
    details = {"theme": theme_key, "other": other_key, "theme_id": theme_id, "name": cleaned}
    count = view.count + other.count
    return await _finish(uow, scope, actor=actor, action="merge", details=details, row_count=count, now=now)


async def split_theme(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    scope: ThemeScope,
    theme_key: str,
    receipt_codes: Sequence[str],
    name: str,
    now: datetime,
) -> list[ThemeView]:
    """Move some opinions of a theme out to a new theme named ``name``; the rest stay."""
    view = _find(await list_themes(uow=uow, scope=scope), theme_key)
    chosen = list(dict.fromkeys(receipt_codes))
    if not chosen or set(chosen) - set(view.receipt_codes):
        raise errors.InvalidQuery(field="receipt_codes", reason="not_in_theme" if chosen else "empty")
    if len(chosen) == view.count:
        raise errors.InvalidQuery(field="receipt_codes", reason="whole_theme")
    cleaned = _name(name)
    await _store(uow, scope, view, now)
    new_id = await uow.themes.add(scope=scope.key, name=cleaned, now=now)
    await uow.themes.pin(scope=scope.key, theme_id=new_id, receipt_codes=chosen)
    details = {"theme": theme_key, "theme_id": new_id, "name": cleaned, "receipt_codes": chosen}
    return await _finish(
        uow, scope, actor=actor, action="split", details=details, row_count=len(chosen), now=now
    )


async def move_opinion(
    *, uow: StaffUnitOfWork, actor: str, scope: ThemeScope, receipt_code: str, theme_key: str, now: datetime
) -> list[ThemeView]:
    """Move one opinion into the theme ``theme_key``; the theme it leaves keeps its other opinions."""
    views = await list_themes(uow=uow, scope=scope)
    target = _find(views, theme_key)
    source = next((v for v in views if receipt_code in v.receipt_codes), None)
    if source is None:
        raise errors.FeedbackNotFound(receipt_code=receipt_code)
    if source.key != target.key:
        await _store(uow, scope, source, now)
        target_id = await _store(uow, scope, target, now)
        await uow.themes.pin(scope=scope.key, theme_id=target_id, receipt_codes=[receipt_code])
    details = {"theme": theme_key, "from": source.key, "receipt_code": receipt_code}
    return await _finish(uow, scope, actor=actor, action="move", details=details, row_count=1, now=now)


async def reset_theme(
    *, uow: StaffUnitOfWork, actor: str, scope: ThemeScope, theme_key: str, now: datetime
) -> list[ThemeView]:
    """Undo the edits of a stored theme: its opinions go back to the automatic grouping."""
    view = _find(await list_themes(uow=uow, scope=scope), theme_key)
    if view.stored_id is None:
        raise errors.InvalidQuery(field="theme", reason="not_edited")
    await uow.themes.delete(view.stored_id)
    details = {"theme": theme_key, "name": view.label}
    return await _finish(
        uow, scope, actor=actor, action="reset", details=details, row_count=view.count, now=now
    )
