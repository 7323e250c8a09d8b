"""outbox delivery

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 03:33:36.765036
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("template_name", sa.String(length=120), nullable=True))
        batch_op.create_index("ix_messages_status_next_attempt", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_next_attempt")
        batch_op.drop_column("template_name")
        batch_op.drop_column("next_attempt_at")
