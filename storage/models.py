"""SQLAlchemy 2 tables: singular snake_case names, ``*_at`` timestamps, one naming convention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both SQLite (which stores naive) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _search_key(context: Any) -> str:
    """The search key of an inserted entry whose ``text_search`` was not given (seeds, bulk inserts)."""
    from core.text import fold_for_search

    return fold_for_search(context.get_current_parameters().get("text") or "")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class ReferenceItemRow(Base):
    """Editable lists: categories, organisations, localities, age bands, genders, topics, unit kinds."""

    __tablename__ = "reference_item"
    __table_args__ = (UniqueConstraint("list_name", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(64))
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    parent_code: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DocumentRow(Base):
    __tablename__ = "document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    level: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    source_sha256: Mapped[str | None] = mapped_column(String(64))  # of the imported file, to skip reloads


class SectionRow(Base):
    __tablename__ = "section"
    __table_args__ = (
        UniqueConstraint("document_id", "ordinal"),
        Index("ix_section_document_parent", "document_id", "parent_id", "ordinal"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("section.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer, default=1)
    number: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")


class RespondentRow(Base):
    __tablename__ = "respondent"
    __table_args__ = (UniqueConstraint("channel", "user_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="vi")
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None]
    category: Mapped[str | None] = mapped_column(String(64))
    organisation: Mapped[str | None] = mapped_column(String(64))
    locality: Mapped[str | None] = mapped_column(String(64))
    age_band: Mapped[str | None] = mapped_column(String(32))
    gender: Mapped[str | None] = mapped_column(String(32))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    profile_done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class CongressRow(Base):
    __tablename__ = "congress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    level: Mapped[str] = mapped_column(String(32))
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    held_at: Mapped[datetime | None]


class ReportingPeriodRow(Base):
    __tablename__ = "reporting_period"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    congress_id: Mapped[int] = mapped_column(ForeignKey("congress.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(16))
    title_vi: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    unit_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)


class FeedbackRow(Base):
    """An opinion on a draft (kind draft_opinion) or a mood entry (concern / aspiration / recommendation)."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("respondent_id", "client_ref"),
        Index("ix_feedback_document_section", "document_id", "section_id"),
        Index("ix_feedback_created_id", "created_at", "id"),
        Index("ix_feedback_period_created", "period_id", "created_at"),  # mood entries, period by period
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(24), default="draft_opinion", index=True)
    respondent_id: Mapped[int | None] = mapped_column(
        ForeignKey("respondent.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id", ondelete="RESTRICT"))
    stance: Mapped[str | None] = mapped_column(String(16))
    congress_id: Mapped[int | None] = mapped_column(ForeignKey("congress.id", ondelete="RESTRICT"))
    period_id: Mapped[int | None] = mapped_column(ForeignKey("reporting_period.id", ondelete="RESTRICT"))
    topic: Mapped[str | None] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    unit_code: Mapped[str | None] = mapped_column(String(64))  # submitting unit of a meeting import
    text: Mapped[str] = mapped_column(Text, default="")
    text_folded: Mapped[str] = mapped_column(Text, default="")
    # the text without case, diacritics or punctuation (core.text.fold_for_search): what ``q`` searches
    text_search: Mapped[str] = mapped_column(Text, default=_search_key, server_default="")
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    category: Mapped[str | None] = mapped_column(String(64))
    organisation: Mapped[str | None] = mapped_column(String(64))
    locality: Mapped[str | None] = mapped_column(String(64))
    age_band: Mapped[str | None] = mapped_column(String(32))
    gender: Mapped[str | None] = mapped_column(String(32))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    client_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    # moderation: a hidden entry stays stored and audited, but is left out of counts and reports
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[str | None] = mapped_column(String(200))
    hidden_reason: Mapped[str | None] = mapped_column(String(500))


class DialogStateRow(Base):
    """Dialog state of one conversation (aiogram FSM storage and the web chat); the key is a keyed hash."""

    __tablename__ = "dialog_state"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(index=True)  # the retention purge reads by age


class ProcessedUpdateRow(Base):
    """Update ids already handled, so a re-sent webhook update is not handled twice."""

    __tablename__ = "processed_update"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(index=True)
