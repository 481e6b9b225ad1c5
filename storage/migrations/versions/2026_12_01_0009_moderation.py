"""moderation and search: hidden opinions (hidden_at, hidden_by, hidden_reason), a diacritic-free search
key of each text (text_search, backfilled), and background export jobs (export_job)

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.text import fold_for_search

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_BATCH = 1000


def _backfill_search_keys() -> None:
    """Fill text_search of the existing entries, one bounded batch at a time (keyset on id)."""
    bind = op.get_bind()
    feedback = sa.table("feedback", sa.column("id", sa.Integer), sa.column("text", sa.Text))
    search = sa.table("feedback", sa.column("id", sa.Integer), sa.column("text_search", sa.Text))
    after = 0
    while True:
        rows = bind.execute(
            sa.select(feedback.c.id, feedback.c.text)
            .where(feedback.c.id > after)
            .order_by(feedback.c.id)
            .limit(BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            sa.update(search).where(search.c.id == sa.bindparam("row_id")),
            [{"row_id": row_id, "text_search": fold_for_search(text or "")} for row_id, text in rows],
        )
        after = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_search", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hidden_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("hidden_reason", sa.String(length=500), nullable=True))
    _backfill_search_keys()
    op.create_table(
        "export_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("labels", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("pii", sa.Boolean(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("upto", sa.Integer(), nullable=True),
        sa.Column("file_path", sa.String(length=1000), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_job")),
    )
    with op.batch_alter_table("export_job", schema=None) as batch_op:
        batch_op.create_index("ix_export_job_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("export_job", schema=None) as batch_op:
        batch_op.drop_index("ix_export_job_status")
    op.drop_table("export_job")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("hidden_reason")
        batch_op.drop_column("hidden_by")
        batch_op.drop_column("hidden_at")
        batch_op.drop_column("text_search")
