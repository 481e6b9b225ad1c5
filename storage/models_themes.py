"""Tables of the staff's theme edits: stored themes and the opinions pinned to them (core.theme_edits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class ThemeRow(Base):
    """A theme a staffer renamed, merged, split or moved an opinion into, in one scope."""

    __tablename__ = "theme"
    __table_args__ = (Index("ix_theme_scope", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ThemeMemberRow(Base):
    """An opinion pinned to a stored theme (by receipt code: stable across re-runs); one per scope."""

    __tablename__ = "theme_member"
    __table_args__ = (Index("ix_theme_member_theme_id", "theme_id"),)

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    receipt_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"))
