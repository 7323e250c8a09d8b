"""The audit trail: who saw or changed what, when."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import AuditEvent, StaffUser, utcnow


async def record(
    session: AsyncSession,
    action: str,
    *,
    staff: StaffUser | None = None,
    identity_id: int | None = None,
    participant_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event. ``details`` must hold ids and field names only, never personal data."""
    actor_type = "staff" if staff is not None else "chat" if identity_id is not None else "system"
    event = AuditEvent(
        actor_type=actor_type,
        actor_staff_id=staff.id if staff is not None else None,
        actor_identity_id=identity_id,
        action=action,
        participant_id=participant_id,
        details=details or {},
    )
    session.add(event)
    await session.flush()
    return event


async def events_for_participant(
    session: AsyncSession, participant_id: int, limit: int = 200
) -> list[AuditEvent]:
    """The newest audit events about one participant."""
    rows = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.participant_id == participant_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(rows)


async def recent_reveal(session: AsyncSession, staff_id: int, message_id: int, *, minutes: int) -> bool:
    """True when this staff member revealed this message in the last ``minutes`` (audited)."""
    since = utcnow() - dt.timedelta(minutes=minutes)
    rows = await session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.actor_staff_id == staff_id,
            AuditEvent.action == "message.revealed",
            AuditEvent.at >= since,
        )
    )
    return any(details.get("message_id") == message_id for details in rows)
