"""The case file: SQLAlchemy 2 models shared by every part of Wegwijs.

Only the service functions in ``cases.services`` write these rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TARGET_GROUPS = ("statushouder", "gezinsmigrant", "overig")
WET_REGIMES = ("Wi2013", "Wi2021")
STAFF_ROLES = ("klantmanager", "planner", "teamleider", "beheerder")
LEERROUTES = ("b1", "onderwijs", "b1_entree", "z")
CHANNELS = ("webchat", "whatsapp", "telegram")


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC (the only form stored)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[Team | None] = relationship(lazy="joined")

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of ``roles``."""
        return any(role in self.roles for role in roles)


class Participant(Base):
    """An inburgeraar: the person whose case this is."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    preferred_language: Mapped[str] = mapped_column(String(8), default="nl")
    target_group: Mapped[str] = mapped_column(String(20))
    wet_regime: Mapped[str] = mapped_column(String(10))
    brp_date: Mapped[dt.date | None] = mapped_column(Date)
    pip_signed_date: Mapped[dt.date | None] = mapped_column(Date)
    termijn_end: Mapped[dt.date | None] = mapped_column(Date)
    ontzorgen_start: Mapped[dt.date | None] = mapped_column(Date)
    leerroute: Mapped[str | None] = mapped_column(String(20))  # b1 | onderwijs | b1_entree | z
    provider: Mapped[str | None] = mapped_column(String(120))  # taalaanbieder
    reminders_stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    case_closed_on: Mapped[dt.date | None] = mapped_column(Date)  # retention counts from here
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    klantmanager_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    klantmanager: Mapped[StaffUser | None] = relationship(lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Koppelcode(Base):
    """A one-time code that links a chat identity to a participant. Only its hash is stored."""

    __tablename__ = "koppelcodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_by_identity_id: Mapped[int | None] = mapped_column(ForeignKey("channel_identities.id"))


class ChannelIdentity(Base):
    """One chat account on one channel (a web-chat session, a WhatsApp number, a Telegram chat)."""

    __tablename__ = "channel_identities"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_channel_identities_channel_external"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(8))
    consent_given_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    consent_declined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    linked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    link_failures: Mapped[int] = mapped_column(Integer, default=0)
    link_window_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    link_locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    participant: Mapped[Participant | None] = relationship(lazy="joined")


class Conversation(Base):
    """The running conversation of one chat identity, with the dialog state."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identities.id"), unique=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    handoff_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    identity: Mapped[ChannelIdentity] = relationship(lazy="joined")


# Message.status — inbound: received → processed (or failed). Outbound: queued → sending (claimed by
# a sender) → sent → delivered → read; or failed / dead (gave up after retries); held: waiting for the
# person to open the WhatsApp window (a template was sent instead).


class Message(Base):
    """One message in or out. Inbound rows are the durable inbox; outbound rows are the outbox."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_messages_channel_external"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_status_direction", "status", "direction"),
        Index("ix_messages_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identities.id"), index=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="text")  # text | button | unsupported
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    translated_text: Mapped[str | None] = mapped_column(Text)
    translation_language: Mapped[str | None] = mapped_column(String(8))
    translation_engine: Mapped[str | None] = mapped_column(String(80))
    translation_model: Mapped[str | None] = mapped_column(String(200))
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    intent: Mapped[str | None] = mapped_column(String(80))
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_detail: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    template_name: Mapped[str | None] = mapped_column(String(120))
    template_kind: Mapped[str | None] = mapped_column(String(20))  # sent as this template outside the window
    template_params: Mapped[list[str] | None] = mapped_column(JSON)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class TranslationCacheEntry(Base):
    """One machine translation, reused for the same text, pair and model version."""

    __tablename__ = "translation_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(8))
    model_version: Mapped[str] = mapped_column(String(200))
    translated_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# Escalation.status: open (waiting for staff) → assigned (a klantmanager took it) → waiting (staff
# answered, waiting for the inburgeraar) ⇄ assigned … → resolved (with an outcome).
class Escalation(Base):
    """A conversation that needs a person. Safety alerts are confidential: only the designated role
    sees them, and they never carry the message text."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identities.id"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    reason: Mapped[str] = mapped_column(
        String(30)
    )  # person_requested | not_understood | topic | keyword | safety
    category: Mapped[str | None] = mapped_column(String(30))  # violence | threat | self_harm | exploitation
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    priority: Mapped[str] = mapped_column(String(10), default="normal")  # normal | high | urgent
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    topic: Mapped[str | None] = mapped_column(String(60))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(30))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    assigned_to: Mapped[StaffUser | None] = relationship(lazy="joined", foreign_keys=[assigned_to_id])


class EscalationNote(Base):
    """A private note of staff on an escalation (never sent to the inburgeraar)."""

    __tablename__ = "escalation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[StaffUser] = relationship(lazy="joined")


class EscalationSeen(Base):
    """When a staff member last looked at an escalation (for unread counts)."""

    __tablename__ = "escalation_seen"
    __table_args__ = (UniqueConstraint("escalation_id", "staff_id", name="uq_escalation_seen_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedReply(Base):
    """A standard answer staff can pick: Dutch, with curated translations per language."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    text_nl: Mapped[str] = mapped_column(Text)
    translations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConsoleSetting(Base):
    """A setting beheerders change in the console (office hours, escalation keywords, targets)."""

    __tablename__ = "console_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ArticleEvent(Base):
    """An article shown, or the answer to "did this help?" (per article and language)."""

    __tablename__ = "article_events"
    __table_args__ = (Index("ix_article_events_article_kind", "article_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(12))  # shown | helpful | not_helpful
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnansweredQuestion(Base):
    """A question the knowledge base could not answer with confidence, kept for staff review."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(10))  # clarify | none
    candidates: Mapped[list[list[object]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class GroupSession(Base):
    """One session several participants are invited to (a PVT workshop, a MAP training day)."""

    __tablename__ = "group_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    type_key: Mapped[str] = mapped_column(String(60))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    location_kind: Mapped[str] = mapped_column(String(10))
    location: Mapped[str] = mapped_column(String(300), default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Slot(Base):
    """A free time a staff member published; booking it makes it taken."""

    __tablename__ = "slots"
    __table_args__ = (Index("ix_slots_free_starts", "appointment_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    type_key: Mapped[str | None] = mapped_column(String(60))  # None: any type
    location_kind: Mapped[str] = mapped_column(String(10), default="office")
    location: Mapped[str] = mapped_column(String(300), default="")
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[StaffUser] = relationship(lazy="joined")


# Appointment.status: planned → attended | no_show, or cancelled. A move keeps the row (new time).
class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_participant_starts", "participant_id", "starts_at"),
        Index("ix_appointments_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    type_key: Mapped[str] = mapped_column(String(60))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    location_kind: Mapped[str] = mapped_column(String(10), default="office")
    location: Mapped[str] = mapped_column(String(300), default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("group_sessions.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    tolk_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    tolk_language: Mapped[str | None] = mapped_column(String(8))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reschedule_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(12))  # participant | staff
    cancel_reason: Mapped[str | None] = mapped_column(String(30))
    attendance_marked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    participant: Mapped[Participant] = relationship(lazy="joined")
    staff: Mapped[StaffUser | None] = relationship(lazy="joined", foreign_keys=[staff_id])

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)


# Reminder.status: pending → sent (an outbox row exists) | done (a task was made) | skipped | cancelled.
class Reminder(Base):
    """Something to send or do at a due time: an appointment reminder or invitation, a deadline
    reminder, or a step of the no-show ladder. ``dedupe_key`` makes planning it twice harmless."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # appointment | deadline | ladder
    rule: Mapped[str] = mapped_column(String(40))  # 7d, invitation, moved, cancelled, pip_due:14d, call …
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ChecklistItem(Base):
    """A document the person should bring: for one appointment, or for the case as a whole."""

    __tablename__ = "checklist_items"
    __table_args__ = (
        UniqueConstraint("participant_id", "appointment_id", "item_key", name="uq_checklist_items_item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    item_key: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | have | need_help | verified
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class StaffTask(Base):
    """Work for a klantmanager: a deadline coming up, a no-show to follow up, a person needing help."""

    __tablename__ = "staff_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("channel_identities.id"))  # an unlinked chat
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | done
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    participant: Mapped[Participant | None] = relationship(lazy="joined")


class Campaign(Base):
    """A message sent to a group (a session, or a segment), with its own delivery report."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Who saw or changed what, when. Details hold ids and field names, never personal data."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(12))  # staff | chat | system
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_identity_id: Mapped[int | None] = mapped_column(ForeignKey("channel_identities.id"))
    action: Mapped[str] = mapped_column(String(60))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
