"""Tables of the staff console: staff accounts (hashed passwords), their server-side sessions, and the
background export jobs (core.staff.export_jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class StaffAccountRow(Base):
    """A staff member who signs in to /staff: email, role, an Argon2 hash, the lock-out counters."""

    __tablename__ = "staff_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(64))  # sealed (storage.totp), never plain
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # the last accepted TOTP time-step
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class StaffSessionRow(Base):
    """A signed-in browser: only the SHA-256 of its random token is stored."""

    __tablename__ = "staff_session"
    __table_args__ = (Index("ix_staff_session_account_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # code to give


class ExportJobRow(Base):
    """An export written to a file in the background: its request, progress and outcome."""

    __tablename__ = "export_job"
    __table_args__ = (Index("ix_export_job_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    format: Mapped[str] = mapped_column(String(8))
    labels: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    pii: Mapped[bool] = mapped_column(Boolean, default=False)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    upto: Mapped[int | None] = mapped_column(Integer)
    file_path: Mapped[str | None] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # the runner's last sign of life (a page written)
