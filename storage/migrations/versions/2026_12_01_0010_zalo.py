"""zalo: the OA's token pair (zalo_token), the webhook inbox (zalo_inbox), Zalo users (zalo_user), the
monthly budget of paid reminders (zalo_budget)

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-01 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "zalo_token",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshing_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshing_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zalo_token")),
    )
    op.create_table(
        "zalo_inbox",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("msg_id", sa.String(length=128), nullable=False),
        sa.Column("zalo_user_id", sa.String(length=64), nullable=False),
        sa.Column("event_name", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("replies", sa.JSON(), nullable=True),
        sa.Column("reply_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zalo_inbox")),
        sa.UniqueConstraint("msg_id", name=op.f("uq_zalo_inbox_msg_id")),
    )
    with op.batch_alter_table("zalo_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_zalo_inbox_pending", ["processed_at", "zalo_user_id"], unique=False)
    op.create_table(
        "zalo_user",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("zalo_user_id", sa.String(length=64), nullable=False),
        sa.Column("followed", sa.Boolean(), nullable=False),
        sa.Column("last_interaction_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zalo_user")),
        sa.UniqueConstraint("zalo_user_id", name=op.f("uq_zalo_user_zalo_user_id")),
    )
    op.create_table(
        "zalo_budget",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_zalo_budget")),
    )


def downgrade() -> None:
    op.drop_table("zalo_budget")
    op.drop_table("zalo_user")
    with op.batch_alter_table("zalo_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_zalo_inbox_pending")
    op.drop_table("zalo_inbox")
    op.drop_table("zalo_token")
