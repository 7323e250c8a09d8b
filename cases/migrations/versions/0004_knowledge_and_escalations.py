"""knowledge and escalations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 04:05:11.133567
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "article_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_events")),
    )
    with op.batch_alter_table("article_events", schema=None) as batch_op:
        batch_op.create_index("ix_article_events_article_kind", ["article_id", "kind"], unique=False)

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_escalations_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["channel_identities.id"],
            name=op.f("fk_escalations_identity_id_channel_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participants.id"], name=op.f("fk_escalations_participant_id_participants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalations_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_escalations_participant_id"), ["participant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_escalations_status"), ["status"], unique=False)

    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_unanswered_questions_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_unanswered_questions_reviewed_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unanswered_questions")),
        sa.UniqueConstraint("message_id", name=op.f("uq_unanswered_questions_message_id")),
    )
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unanswered_questions_created_at"), ["created_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unanswered_questions_created_at"))

    op.drop_table("unanswered_questions")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalations_status"))
        batch_op.drop_index(batch_op.f("ix_escalations_participant_id"))
        batch_op.drop_index(batch_op.f("ix_escalations_conversation_id"))

    op.drop_table("escalations")
    with op.batch_alter_table("article_events", schema=None) as batch_op:
        batch_op.drop_index("ix_article_events_article_kind")

    op.drop_table("article_events")
