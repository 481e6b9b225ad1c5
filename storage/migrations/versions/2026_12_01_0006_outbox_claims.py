"""outbox claims: a fencing epoch on the scheduler lease, claimed outbox rows; dialog_state by age

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduler_lease", schema=None) as batch_op:
        batch_op.add_column(sa.Column("epoch", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_epoch", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("dialog_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dialog_state_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dialog_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dialog_state_updated_at"))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claim_epoch")
    with op.batch_alter_table("scheduler_lease", schema=None) as batch_op:
        batch_op.drop_column("epoch")
