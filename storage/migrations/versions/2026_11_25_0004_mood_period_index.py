"""mood period index: staff read mood entries period by period

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 20:28:03.086019
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_feedback_period_created", "feedback", ["period_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_feedback_period_created", table_name="feedback")
