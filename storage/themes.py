"""SQL repository of the staff's theme edits. Writes join the caller's transaction, never committed here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.theme_edits import StoredTheme
from core.themes import SentenceEmbedder
from storage.embeddings import configured_embedder
from storage.models_themes import ThemeMemberRow, ThemeRow


class SqlThemeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def under(self, prefix: str) -> dict[str, list[StoredTheme]]:
        """The stored themes of every scope starting with ``prefix``, by scope, oldest first."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        themes = (
            await self.session.scalars(
                select(ThemeRow).where(ThemeRow.scope.like(pattern, escape="\\")).order_by(ThemeRow.id)
            )
        ).all()
        members: dict[int, set[str]] = {t.id: set() for t in themes}
        if themes:
            rows = await self.session.execute(
                select(ThemeMemberRow.theme_id, ThemeMemberRow.receipt_code).where(
                    ThemeMemberRow.theme_id.in_(list(members))
                )
            )
            for theme_id, code in rows:
                members[theme_id].add(code)
        out: dict[str, list[StoredTheme]] = {}
        for t in themes:
            out.setdefault(t.scope, []).append(StoredTheme(t.id, t.name, frozenset(members[t.id])))
        return out

    def embedder(self) -> SentenceEmbedder | None:
        """The operator's sentence-embedding model (GOPY_THEMES_MODEL_PATH), or ``None``: key words only."""
        return configured_embedder()

    async def in_scope(self, scope: str) -> list[StoredTheme]:
        return (await self.under(scope)).get(scope, [])

    async def add(self, *, scope: str, name: str, now: datetime) -> int:
        row = ThemeRow(scope=scope, name=name, created_at=now, updated_at=now)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def rename(self, theme_id: int, *, name: str, now: datetime) -> None:
        await self.session.execute(
            update(ThemeRow).where(ThemeRow.id == theme_id).values(name=name, updated_at=now)
        )

    async def pin(self, *, scope: str, theme_id: int, receipt_codes: Sequence[str]) -> None:
        """Pin these opinions to ``theme_id`` (taking them from any other stored theme of the scope)."""
        codes = sorted(set(receipt_codes))
        if not codes:
            return
        await self.session.execute(
            delete(ThemeMemberRow).where(
                ThemeMemberRow.scope == scope, ThemeMemberRow.receipt_code.in_(codes)
            )
        )
        await self.session.execute(
            insert(ThemeMemberRow), [{"scope": scope, "receipt_code": c, "theme_id": theme_id} for c in codes]
        )

    async def delete(self, theme_id: int) -> None:
        await self.session.execute(delete(ThemeMemberRow).where(ThemeMemberRow.theme_id == theme_id))
        await self.session.execute(delete(ThemeRow).where(ThemeRow.id == theme_id))

    async def prune(self, scope: str) -> None:
        """Drop the stored themes of ``scope`` left without any pinned opinion."""
        held = select(ThemeMemberRow.theme_id).where(ThemeMemberRow.scope == scope)
        await self.session.execute(delete(ThemeRow).where(ThemeRow.scope == scope, ThemeRow.id.not_in(held)))
