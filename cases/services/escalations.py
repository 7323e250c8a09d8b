"""Escalations: conversations that need a person, and the staff work on them (take, assign, reply,
notes, wait, resolve, hand back). Every step is in the audit trail, which is the case timeline.

Routing: an escalation of a linked participant belongs to their team; an unlinked chat's belongs to
the staff who speak its language. Confidential safety alerts are only for the designated role.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import (
    ChannelIdentity,
    Conversation,
    Escalation,
    EscalationNote,
    EscalationSeen,
    Message,
    Participant,
    StaffUser,
    utcnow,
)
from cases.services import audit

ACTIVE = ("open", "assigned", "waiting")
OUTCOMES = ("answered", "referred", "appointment_made", "no_response", "duplicate", "other")
PRIORITY = {"safety": "urgent", "not_understood": "normal", "keyword": "high"}
CASE_ROLES = ("klantmanager", "teamleider")


class EscalationError(ValueError):
    """A step that cannot be taken now (the message is for staff, in Dutch)."""


async def open_escalation(
    session: AsyncSession,
    conversation: Conversation,
    identity: ChannelIdentity,
    *,
    reason: str,
    category: str | None = None,
    confidential: bool = False,
    topic: str | None = None,
) -> Escalation:
    """Open an escalation, or return the active one of this conversation (raised to confidential
    when a safety signal comes in)."""
    existing = await active_for_conversation(session, conversation.id)
    now = utcnow()
    if existing is not None:
        if confidential and not existing.confidential:
            existing.confidential = True
            existing.category = category
            existing.priority = "urgent"
            existing.reason = reason
        existing.last_inbound_at = now
        return existing
    participant = identity.participant if identity.participant_id is not None else None
    escalation = Escalation(
        conversation_id=conversation.id,
        identity_id=identity.id,
        participant_id=identity.participant_id,
        reason=reason,
        category=category,
        confidential=confidential,
        topic=topic,
        priority=PRIORITY.get(reason, "normal"),
        team_id=participant.team_id if participant is not None else None,
        language=identity.language,
        last_inbound_at=now,
        status="open",
    )
    session.add(escalation)
    conversation.handoff_requested_at = now
    await session.flush()
    await audit.record(
        session,
        f"escalation.opened.{reason}",
        identity_id=identity.id,
        participant_id=identity.participant_id,
        details={
            "escalation_id": escalation.id,
            "category": category,
            "confidential": confidential,
            "topic": topic,
        },
    )
    return escalation


async def active_for_conversation(session: AsyncSession, conversation_id: int) -> Escalation | None:
    return await session.scalar(
        select(Escalation)
        .where(Escalation.conversation_id == conversation_id, Escalation.status.in_(ACTIVE))
        .order_by(Escalation.id.desc())
        .limit(1)
    )


async def note_inbound(session: AsyncSession, conversation_id: int) -> None:
    """The person wrote while a staff member handles the conversation: it is unread again, and an
    escalation that waited for them is back with staff."""
    now = utcnow()
    await session.execute(
        update(Escalation)
        .where(Escalation.conversation_id == conversation_id, Escalation.status.in_(ACTIVE))
        .values(
            last_inbound_at=now,
            updated_at=now,
            status=case(
                (
                    Escalation.status == "waiting",  # waiting → back with staff
                    case((Escalation.assigned_to_id.is_(None), "open"), else_="assigned"),
                ),
                else_=Escalation.status,
            ),
        )
    )


def visible_to(staff: StaffUser, *, designated_role: str) -> ColumnElement[bool]:
    """SQL condition: the escalations this staff member may see and work on."""
    confidential = Escalation.confidential.is_(True) if staff.has_role(designated_role) else false()
    if not staff.has_role(*CASE_ROLES):
        return confidential
    own = [Escalation.assigned_to_id == staff.id]
    if staff.team_id is not None:
        own.append(Escalation.team_id == staff.team_id)
    if staff.languages:
        own.append(and_(Escalation.team_id.is_(None), Escalation.language.in_(staff.languages)))
    return or_(and_(Escalation.confidential.is_(False), or_(*own)), confidential)


@dataclass(frozen=True)
class InboxRow:
    escalation: Escalation
    participant: Participant | None
    unread: bool
    overdue: bool
    waiting_minutes: int


@dataclass(frozen=True)
class InboxFilter:
    status: str = "active"  # active | open | assigned | waiting | resolved | all
    mine: bool = False
    language: str = ""
    priority: str = ""
    search: str = ""


async def inbox(
    session: AsyncSession,
    staff: StaffUser,
    *,
    designated_role: str,
    target_minutes: int,
    filters: InboxFilter = InboxFilter(),  # noqa: B008 - frozen dataclass, safe as a default
    now: dt.datetime | None = None,
    limit: int = 200,
) -> list[InboxRow]:
    """The escalations a staff member works on: urgent first, then the longest waiting."""
    now = now or utcnow()
    seen = (
        select(EscalationSeen.escalation_id, EscalationSeen.seen_at)
        .where(EscalationSeen.staff_id == staff.id)
        .subquery()
    )
    stmt = (
        select(Escalation, Participant, seen.c.seen_at)
        .outerjoin(Participant, Participant.id == Escalation.participant_id)
        .outerjoin(seen, seen.c.escalation_id == Escalation.id)
        .where(visible_to(staff, designated_role=designated_role))
    )
    if filters.status == "active":
        stmt = stmt.where(Escalation.status.in_(ACTIVE))
    elif filters.status != "all":
        stmt = stmt.where(Escalation.status == filters.status)
    if filters.mine:
        stmt = stmt.where(Escalation.assigned_to_id == staff.id)
    if filters.language:
        stmt = stmt.where(Escalation.language == filters.language)
    if filters.priority:
        stmt = stmt.where(Escalation.priority == filters.priority)
    if filters.search:
        term = f"%{filters.search.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Participant.reference).like(term),
                func.lower(Participant.first_name + " " + Participant.last_name).like(term),
            )
        )
    urgency = case((Escalation.priority == "urgent", 0), (Escalation.priority == "high", 1), else_=2)
    stmt = stmt.order_by(urgency, Escalation.created_at).limit(limit)
    rows = []
    for escalation, participant, seen_at in (await session.execute(stmt)).all():
        unread = escalation.last_inbound_at is not None and (
            seen_at is None or seen_at < escalation.last_inbound_at
        )
        waiting = int((now - escalation.created_at).total_seconds() // 60)
        overdue = (
            escalation.first_response_at is None and escalation.status in ACTIVE and waiting > target_minutes
        )
        rows.append(InboxRow(escalation, participant, unread, overdue, waiting))
    return rows


async def unread_count(session: AsyncSession, staff: StaffUser, *, designated_role: str) -> int:
    """How many active escalations have something this staff member has not seen."""
    seen = (
        select(EscalationSeen.escalation_id, EscalationSeen.seen_at)
        .where(EscalationSeen.staff_id == staff.id)
        .subquery()
    )
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Escalation)
            .outerjoin(seen, seen.c.escalation_id == Escalation.id)
            .where(
                visible_to(staff, designated_role=designated_role),
                Escalation.status.in_(ACTIVE),
                or_(seen.c.seen_at.is_(None), seen.c.seen_at < Escalation.last_inbound_at),
            )
        )
        or 0
    )


async def version(session: AsyncSession, staff: StaffUser, *, designated_role: str) -> str:
    """A fingerprint that changes when anything in this staff member's inbox changes (live updates)."""
    row = (
        await session.execute(
            select(func.count(), func.max(Escalation.updated_at), func.max(Escalation.last_inbound_at)).where(
                visible_to(staff, designated_role=designated_role)
            )
        )
    ).one()
    return f"{row[0]}:{row[1]}:{row[2]}"


async def get_visible(
    session: AsyncSession, staff: StaffUser, escalation_id: int, *, designated_role: str
) -> Escalation | None:
    return await session.scalar(
        select(Escalation).where(
            Escalation.id == escalation_id, visible_to(staff, designated_role=designated_role)
        )
    )


async def mark_seen(session: AsyncSession, escalation: Escalation, staff: StaffUser) -> None:
    seen = await session.scalar(
        select(EscalationSeen).where(
            EscalationSeen.escalation_id == escalation.id, EscalationSeen.staff_id == staff.id
        )
    )
    if seen is None:
        session.add(EscalationSeen(escalation_id=escalation.id, staff_id=staff.id, seen_at=utcnow()))
    else:
        seen.seen_at = utcnow()


async def assign(session: AsyncSession, escalation: Escalation, to: StaffUser, *, by: StaffUser) -> None:
    """Take an escalation (``to`` is ``by``) or give it to a colleague."""
    if escalation.status == "resolved":
        raise EscalationError("Dit gesprek is al afgerond.")
    escalation.assigned_to_id = to.id
    escalation.assigned_at = utcnow()
    if escalation.status == "open":
        escalation.status = "assigned"
    await audit.record(
        session,
        "escalation.taken" if to.id == by.id else "escalation.assigned",
        staff=by,
        participant_id=escalation.participant_id,
        details={"escalation_id": escalation.id, "to_staff_id": to.id},
    )


async def record_reply(
    session: AsyncSession, escalation: Escalation, message: Message, *, by: StaffUser
) -> None:
    """A staff reply went into the outbox: the first one stops the response timer."""
    now = utcnow()
    if escalation.first_response_at is None:
        escalation.first_response_at = now
    if escalation.assigned_to_id is None:
        escalation.assigned_to_id = by.id
        escalation.assigned_at = now
    escalation.status = "waiting"
    escalation.updated_at = now
    await audit.record(
        session,
        "escalation.replied",
        staff=by,
        participant_id=escalation.participant_id,
        details={
            "escalation_id": escalation.id,
            "message_id": message.id,
            "engine": message.translation_engine,
        },
    )


async def add_note(
    session: AsyncSession, escalation: Escalation, text: str, *, by: StaffUser
) -> EscalationNote:
    """A private note (never sent)."""
    note = EscalationNote(escalation_id=escalation.id, staff_id=by.id, text=text[:4000])
    session.add(note)
    escalation.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        "escalation.note",
        staff=by,
        participant_id=escalation.participant_id,
        details={"escalation_id": escalation.id, "note_id": note.id},
    )
    return note


async def notes(session: AsyncSession, escalation_id: int) -> list[EscalationNote]:
    rows = await session.scalars(
        select(EscalationNote)
        .where(EscalationNote.escalation_id == escalation_id)
        .order_by(EscalationNote.id)
    )
    return list(rows)


async def resolve(
    session: AsyncSession, escalation: Escalation, *, outcome: str, by: StaffUser, hand_back: bool = True
) -> None:
    """Close the escalation with an outcome; the bot answers again."""
    if outcome not in OUTCOMES:
        raise EscalationError("Kies een uitkomst.")
    if escalation.status == "resolved":
        return
    now = utcnow()
    escalation.status = "resolved"
    escalation.outcome = outcome
    escalation.resolved_at = now
    escalation.resolved_by_id = by.id
    await audit.record(
        session,
        "escalation.resolved",
        staff=by,
        participant_id=escalation.participant_id,
        details={"escalation_id": escalation.id, "outcome": outcome},
    )
    if hand_back:
        conversation = await session.get(Conversation, escalation.conversation_id)
        if conversation is not None:
            conversation.state = {**(conversation.state or {}), "step": "menu"}
            conversation.handoff_requested_at = None


@dataclass(frozen=True)
class SafetyRow:
    escalation: Escalation
    participant: Participant | None


async def safety_alerts(session: AsyncSession, staff: StaffUser, *, designated_role: str) -> list[SafetyRow]:
    """Open confidential alerts, for the designated role only (an empty list for anyone else)."""
    if not staff.has_role(designated_role):
        return []
    rows = await session.execute(
        select(Escalation, Participant)
        .outerjoin(Participant, Participant.id == Escalation.participant_id)
        .where(Escalation.confidential.is_(True), Escalation.status.in_(ACTIVE))
        .order_by(Escalation.id.desc())
    )
    return [SafetyRow(e, p) for e, p in rows.all()]
