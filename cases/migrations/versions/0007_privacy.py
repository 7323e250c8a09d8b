"""privacy: case closing date and erasure mark; tasks for unlinked chats (AVG requests)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 06:13:59.841641
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_closed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("staff_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_id", sa.Integer(), nullable=True))
        batch_op.alter_column("participant_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_tasks_identity_id_channel_identities"),
            "channel_identities",
            ["identity_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_tasks", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_staff_tasks_identity_id_channel_identities"), type_="foreignkey"
        )
        batch_op.alter_column("participant_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("identity_id")

    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("case_closed_on")
