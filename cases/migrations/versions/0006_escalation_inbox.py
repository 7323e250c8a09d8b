"""escalation inbox: assignment, priority, teams, notes, unread marks, canned replies, console settings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 05:47:11.198911
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("text_nl", sa.Text(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["staff_users.id"], name=op.f("fk_canned_replies_updated_by_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
    )
    op.create_table(
        "console_settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["staff_users.id"], name=op.f("fk_console_settings_updated_by_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_console_settings")),
    )
    op.create_table(
        "escalation_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name=op.f("fk_escalation_notes_escalation_id_escalations")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_escalation_notes_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_notes")),
    )
    with op.batch_alter_table("escalation_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_notes_escalation_id"), ["escalation_id"], unique=False
        )

    op.create_table(
        "escalation_seen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name=op.f("fk_escalation_seen_escalation_id_escalations")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_escalation_seen_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_seen")),
        sa.UniqueConstraint("escalation_id", "staff_id", name="uq_escalation_seen_pair"),
    )
    with op.batch_alter_table("escalation_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_seen_staff_id"), ["staff_id"], unique=False)

    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.String(length=10), nullable=False, server_default="normal")
        )
        batch_op.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("topic", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("resolved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
        batch_op.create_index(batch_op.f("ix_escalations_assigned_to_id"), ["assigned_to_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_escalations_team_id"), ["team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_escalations_updated_at"), ["updated_at"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_escalations_team_id_teams"), "teams", ["team_id"], ["id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_escalations_resolved_by_id_staff_users"), "staff_users", ["resolved_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_escalations_assigned_to_id_staff_users"), "staff_users", ["assigned_to_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_escalations_assigned_to_id_staff_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_escalations_resolved_by_id_staff_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_escalations_team_id_teams"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_escalations_updated_at"))
        batch_op.drop_index(batch_op.f("ix_escalations_team_id"))
        batch_op.drop_index(batch_op.f("ix_escalations_assigned_to_id"))
        batch_op.drop_column("updated_at")
        batch_op.drop_column("resolved_by_id")
        batch_op.drop_column("outcome")
        batch_op.drop_column("last_inbound_at")
        batch_op.drop_column("first_response_at")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_to_id")
        batch_op.drop_column("topic")
        batch_op.drop_column("language")
        batch_op.drop_column("team_id")
        batch_op.drop_column("priority")

    with op.batch_alter_table("escalation_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_seen_staff_id"))

    op.drop_table("escalation_seen")
    with op.batch_alter_table("escalation_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_notes_escalation_id"))

    op.drop_table("escalation_notes")
    op.drop_table("console_settings")
    op.drop_table("canned_replies")
