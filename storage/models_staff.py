"""Tables of the staff console's background work: export jobs (core.staff.export_jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


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
