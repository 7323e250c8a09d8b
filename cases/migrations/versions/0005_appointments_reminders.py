"""appointments, slots, group sessions, reminders, checklists, staff tasks, campaigns

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 05:11:39.968225
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_users.id"], name=op.f("fk_campaigns_created_by_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "group_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.String(length=60), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("location_kind", sa.String(length=10), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_users.id"], name=op.f("fk_group_sessions_created_by_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_group_sessions_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_sessions")),
    )
    with op.batch_alter_table("group_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_sessions_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "staff_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["staff_users.id"], name=op.f("fk_staff_tasks_done_by_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participants.id"], name=op.f("fk_staff_tasks_participant_id_participants")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_staff_tasks_staff_id_staff_users")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_staff_tasks_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_tasks")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_staff_tasks_dedupe_key")),
    )
    with op.batch_alter_table("staff_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_tasks_participant_id"), ["participant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_tasks_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_tasks_team_id"), ["team_id"], unique=False)

    op.create_table(
        "checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("item_key", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_checklist_items_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_checklist_items_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"], ["staff_users.id"], name=op.f("fk_checklist_items_verified_by_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_items")),
        sa.UniqueConstraint("participant_id", "appointment_id", "item_key", name="uq_checklist_items_item"),
    )
    with op.batch_alter_table("checklist_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_items_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.String(length=60), nullable=True),
        sa.Column("location_kind", sa.String(length=10), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name=op.f("fk_slots_appointment_id_appointments")
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"], name=op.f("fk_slots_staff_id_staff_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_index("ix_slots_free_starts", ["appointment_id", "starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_slots_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name=op.f("fk_reminders_appointment_id_appointments")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_reminders_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participants.id"], name=op.f("fk_reminders_participant_id_participants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_reminders_dedupe_key")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_appointment_id"), ["appointment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_participant_id"), ["participant_id"], unique=False)
        batch_op.create_index("ix_reminders_status_due", ["status", "due_at"], unique=False)

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("location_kind", sa.String(length=10), nullable=False, server_default="office")
        )
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tolk_needed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("tolk_language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reschedule_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_by", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("attendance_marked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
        batch_op.create_index(batch_op.f("ix_appointments_session_id"), ["session_id"], unique=False)
        batch_op.create_index("ix_appointments_starts_at", ["starts_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_appointments_session_id_group_sessions"), "group_sessions", ["session_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_appointments_created_by_id_staff_users"), "staff_users", ["created_by_id"], ["id"]
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("template_params", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_messages_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_campaign_id_campaigns"), "campaigns", ["campaign_id"], ["id"]
        )

    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ontzorgen_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("leerroute", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("provider", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("reminders_stopped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_column("reminders_stopped_at")
        batch_op.drop_column("provider")
        batch_op.drop_column("leerroute")
        batch_op.drop_column("ontzorgen_start")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_campaign_id_campaigns"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_messages_campaign_id"))
        batch_op.drop_column("campaign_id")
        batch_op.drop_column("template_params")
        batch_op.drop_column("template_kind")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_appointments_created_by_id_staff_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_appointments_session_id_group_sessions"), type_="foreignkey")
        batch_op.drop_index("ix_appointments_starts_at")
        batch_op.drop_index(batch_op.f("ix_appointments_session_id"))
        batch_op.drop_column("updated_at")
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("attendance_marked_at")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_by")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("reschedule_requested_at")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("tolk_language")
        batch_op.drop_column("tolk_needed")
        batch_op.drop_column("session_id")
        batch_op.drop_column("location_kind")

    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_status_due")
        batch_op.drop_index(batch_op.f("ix_reminders_participant_id"))
        batch_op.drop_index(batch_op.f("ix_reminders_message_id"))
        batch_op.drop_index(batch_op.f("ix_reminders_appointment_id"))

    op.drop_table("reminders")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slots_staff_id"))
        batch_op.drop_index("ix_slots_free_starts")

    op.drop_table("slots")
    with op.batch_alter_table("checklist_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_items_participant_id"))

    op.drop_table("checklist_items")
    with op.batch_alter_table("staff_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_tasks_team_id"))
        batch_op.drop_index(batch_op.f("ix_staff_tasks_staff_id"))
        batch_op.drop_index(batch_op.f("ix_staff_tasks_participant_id"))

    op.drop_table("staff_tasks")
    with op.batch_alter_table("group_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_sessions_starts_at"))

    op.drop_table("group_sessions")
    op.drop_table("campaigns")
