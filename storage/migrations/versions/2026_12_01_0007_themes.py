"""themes: stored themes of the staff's edits (theme) and the opinions pinned to them (theme_member)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme")),
    )
    with op.batch_alter_table("theme", schema=None) as batch_op:
        batch_op.create_index("ix_theme_scope", ["scope"], unique=False)
    op.create_table(
        "theme_member",
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("receipt_code", sa.String(length=16), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["theme.id"], name=op.f("fk_theme_member_theme_id_theme"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("scope", "receipt_code", name=op.f("pk_theme_member")),
    )
    with op.batch_alter_table("theme_member", schema=None) as batch_op:
        batch_op.create_index("ix_theme_member_theme_id", ["theme_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("theme_member", schema=None) as batch_op:
        batch_op.drop_index("ix_theme_member_theme_id")
    op.drop_table("theme_member")
    with op.batch_alter_table("theme", schema=None) as batch_op:
        batch_op.drop_index("ix_theme_scope")
    op.drop_table("theme")
