"""AVG: inzage (everything about one participant), erasure requests, erasure, and retention.

Erasure removes message texts and personal fields but keeps the rows and the audit trail's metadata
(who did what when, with ids), so the gemeente can still show that invitations went out and who
looked at the case.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import (
    Appointment,
    AuditEvent,
    ChannelIdentity,
    ChecklistItem,
    Conversation,
    Escalation,
    EscalationNote,
    Koppelcode,
    Message,
    Participant,
    Reminder,
    StaffUser,
    TranslationCacheEntry,
    UnansweredQuestion,
    utcnow,
)
from cases.services import audit
from cases.services.reminders import add_tasks

ERASED = "[gewist]"
LEGAL_DEADLINE = relativedelta(months=1)  # AVG art. 12(3): answer within one month


def _row(obj: object, fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
    return out


async def _person_and_conversations(
    session: AsyncSession, participant_id: int
) -> tuple[Participant, list[ChannelIdentity], list[int]]:
    """The participant, their linked chats, and every conversation of theirs."""
    person = await session.get(Participant, participant_id)
    if person is None:
        raise LookupError(participant_id)
    chats = list(
        await session.scalars(select(ChannelIdentity).where(ChannelIdentity.participant_id == participant_id))
    )
    conversation_ids = list(
        await session.scalars(
            select(Conversation.id).where(
                or_(
                    Conversation.participant_id == participant_id,
                    Conversation.identity_id.in_([c.id for c in chats]),
                )
            )
        )
    )
    return person, chats, conversation_ids


async def export(session: AsyncSession, participant_id: int) -> dict[str, Any]:
    """Everything Wegwijs holds about one participant, as plain data (for JSON and the readable page)."""
    person, chats, conversation_ids = await _person_and_conversations(session, participant_id)
    messages = list(
        await session.scalars(
            select(Message).where(Message.conversation_id.in_(conversation_ids)).order_by(Message.id)
        )
    )
    escalations = list(
        await session.scalars(select(Escalation).where(Escalation.participant_id == participant_id))
    )
    notes = list(
        await session.scalars(
            select(EscalationNote).where(EscalationNote.escalation_id.in_([e.id for e in escalations]))
        )
    )
    return {
        "exported_at": utcnow().isoformat(),
        "participant": _row(
            person,
            (
                "reference",
                "first_name",
                "last_name",
                "preferred_language",
                "target_group",
                "wet_regime",
                "brp_date",
                "pip_signed_date",
                "termijn_end",
                "ontzorgen_start",
                "leerroute",
                "provider",
                "reminders_stopped_at",
                "case_closed_on",
                "created_at",
            ),
        )
        | {"klantmanager": person.klantmanager.name if person.klantmanager else None},
        "chats": [
            _row(
                c,
                (
                    "channel",
                    "external_id",
                    "language",
                    "consent_given_at",
                    "consent_declined_at",
                    "linked_at",
                ),
            )
            for c in chats
        ],
        "messages": [
            _row(
                m,
                (
                    "created_at",
                    "direction",
                    "channel",
                    "kind",
                    "text",
                    "translated_text",
                    "language",
                    "status",
                    "sent_at",
                    "delivered_at",
                    "read_at",
                ),
            )
            | {"from_staff": m.author_staff_id is not None}
            for m in messages
        ],
        "appointments": [
            _row(
                a,
                (
                    "type_key",
                    "starts_at",
                    "duration_minutes",
                    "location_kind",
                    "location",
                    "status",
                    "tolk_needed",
                    "tolk_language",
                    "confirmed_at",
                    "cancel_reason",
                    "created_at",
                ),
            )
            for a in await session.scalars(
                select(Appointment).where(Appointment.participant_id == participant_id)
            )
        ],
        "documents": [
            _row(d, ("item_key", "status", "updated_at", "verified_at"))
            for d in await session.scalars(
                select(ChecklistItem).where(ChecklistItem.participant_id == participant_id)
            )
        ],
        "reminders": [
            _row(r, ("kind", "rule", "due_at", "status", "outcome", "handled_at"))
            for r in await session.scalars(select(Reminder).where(Reminder.participant_id == participant_id))
        ],
        "escalations": [
            _row(e, ("reason", "status", "created_at", "first_response_at", "resolved_at", "outcome"))
            for e in escalations
        ],
        "staff_notes": [_row(n, ("created_at", "text")) for n in notes],
        "who_saw_or_changed": [
            _row(a, ("at", "actor_type", "action"))
            | {"staff": (await session.get(StaffUser, a.actor_staff_id)).name if a.actor_staff_id else None}  # type: ignore[union-attr]
            for a in await session.scalars(
                select(AuditEvent).where(AuditEvent.participant_id == participant_id).order_by(AuditEvent.id)
            )
        ],
    }


async def request_erasure(
    session: AsyncSession, identity: ChannelIdentity, *, now: dt.datetime | None = None
) -> dt.date:
    """The person asked to delete their data: a task for staff with the legal deadline (one month)."""
    today = (now or utcnow()).date()
    deadline = today + LEGAL_DEADLINE
    participant = identity.participant if identity.participant_id is not None else None
    row = {
        "dedupe_key": f"avg:{identity.id}:{today.isoformat()}",
        "participant_id": participant.id if participant else None,
        "identity_id": identity.id,
        "staff_id": participant.klantmanager_id if participant else None,
        "team_id": participant.team_id if participant else None,
        "kind": "avg.erasure",
        "text": "AVG: verzoek om gegevens te wissen (wettelijke termijn één maand)",
        "due_on": deadline,
    }
    await add_tasks(session, [row])
    await audit.record(
        session,
        "privacy.erasure_requested",
        identity_id=identity.id,
        participant_id=identity.participant_id,
        details={"due_on": deadline.isoformat()},
    )
    return deadline


async def _erase_conversations(session: AsyncSession, conversation_ids: list[int]) -> int:
    """Remove the texts of these conversations (rows, times and delivery status stay)."""
    if not conversation_ids:
        return 0
    message_ids = list(
        await session.scalars(select(Message.id).where(Message.conversation_id.in_(conversation_ids)))
    )
    translations = [
        t
        for t in await session.scalars(
            select(Message.translated_text).where(
                Message.conversation_id.in_(conversation_ids), Message.translated_text.is_not(None)
            )
        )
        if t
    ]
    if translations:  # machine translations of their words live in the cache too
        await session.execute(
            delete(TranslationCacheEntry).where(TranslationCacheEntry.translated_text.in_(translations))
        )
    await session.execute(delete(UnansweredQuestion).where(UnansweredQuestion.message_id.in_(message_ids)))
    result = await session.execute(
        update(Message)
        .where(Message.conversation_id.in_(conversation_ids), Message.text != ERASED)
        .values(text=ERASED, translated_text=None, buttons=None, payload=None, error_detail=None)
    )
    await session.execute(
        update(Conversation).where(Conversation.id.in_(conversation_ids)).values(state={"step": "menu"})
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def erase_participant(session: AsyncSession, participant_id: int, *, by: StaffUser) -> dict[str, int]:
    """Erase a participant's personal data and message texts; keep rows, ids and the audit trail."""
    person, chats, conversation_ids = await _person_and_conversations(session, participant_id)
    erased = await _erase_conversations(session, conversation_ids)
    for chat in chats:
        chat.external_id = f"erased:{chat.id}"  # a phone number or chat id is personal data
    escalation_ids = list(
        await session.scalars(select(Escalation.id).where(Escalation.participant_id == participant_id))
    )
    await session.execute(
        update(EscalationNote).where(EscalationNote.escalation_id.in_(escalation_ids)).values(text=ERASED)
    )
    await session.execute(delete(Koppelcode).where(Koppelcode.participant_id == participant_id))
    await session.execute(
        update(Reminder)
        .where(Reminder.participant_id == participant_id, Reminder.status == "pending")
        .values(status="cancelled", outcome="erased", handled_at=utcnow())
    )
    for field in ("brp_date", "pip_signed_date", "termijn_end", "ontzorgen_start", "leerroute", "provider"):
        setattr(person, field, None)
    person.first_name, person.last_name = ERASED, ""
    person.erased_at = utcnow()
    await audit.record(
        session,
        "participant.erased",
        staff=by,
        participant_id=participant_id,
        details={"messages": erased, "chats": len(chats)},
    )
    return {"messages": erased, "chats": len(chats)}


async def erase_identity(session: AsyncSession, identity_id: int, *, by: StaffUser) -> int:
    """Erase an unlinked chat (its texts and platform id)."""
    identity = await session.get(ChannelIdentity, identity_id)
    if identity is None:
        raise LookupError(identity_id)
    conversation_ids = list(
        await session.scalars(select(Conversation.id).where(Conversation.identity_id == identity_id))
    )
    erased = await _erase_conversations(session, conversation_ids)
    identity.external_id = f"erased:{identity.id}"
    await audit.record(
        session,
        "chat.erased",
        staff=by,
        identity_id=None,
        details={"identity_id": identity_id, "messages": erased},
    )
    return erased


async def apply_retention(
    session: AsyncSession, *, months: int, now: dt.datetime | None = None
) -> dict[str, int]:
    """Remove message texts of cases closed more than ``months`` ago, and of unlinked chats silent
    that long. Returns what was removed."""
    now = now or utcnow()
    cutoff = now - relativedelta(months=months)
    closed = list(
        await session.scalars(
            select(Participant.id).where(
                Participant.case_closed_on.is_not(None), Participant.case_closed_on < cutoff.date()
            )
        )
    )
    closed_conversations = list(
        await session.scalars(select(Conversation.id).where(Conversation.participant_id.in_(closed)))
    )
    silent = list(
        await session.scalars(
            select(Conversation.id).where(
                Conversation.participant_id.is_(None), Conversation.last_message_at < cutoff
            )
        )
    )
    report = {
        "closed_case_messages": await _erase_conversations(session, closed_conversations),
        "unlinked_chat_messages": await _erase_conversations(session, silent),
        "closed_cases": len(closed),
        "unlinked_chats": len(silent),
    }
    await audit.record(session, "retention.applied", details={"months": months, **report})
    return report
