"""Escalations: conversations that need a person (asked for, or a confidential safety alert)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import ChannelIdentity, Conversation, Escalation, Participant, StaffUser, utcnow
from cases.services import audit


async def open_escalation(
    session: AsyncSession,
    conversation: Conversation,
    identity: ChannelIdentity,
    *,
    reason: str,
    category: str | None = None,
    confidential: bool = False,
) -> Escalation:
    """Open an escalation, or return the open one of the same reason for this conversation."""
    existing = await session.scalar(
        select(Escalation).where(
            Escalation.conversation_id == conversation.id,
            Escalation.reason == reason,
            Escalation.status == "open",
        )
    )
    if existing is not None:
        if confidential and not existing.confidential:
            existing.confidential = True
        return existing
    escalation = Escalation(
        conversation_id=conversation.id,
        identity_id=identity.id,
        participant_id=identity.participant_id,
        reason=reason,
        category=category,
        confidential=confidential,
    )
    session.add(escalation)
    conversation.handoff_requested_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        f"escalation.opened.{reason}",
        identity_id=identity.id,
        participant_id=identity.participant_id,
        details={"escalation_id": escalation.id, "category": category, "confidential": confidential},
    )
    return escalation


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
        .where(Escalation.confidential.is_(True), Escalation.status == "open")
        .order_by(Escalation.id.desc())
    )
    return [SafetyRow(e, p) for e, p in rows.all()]
