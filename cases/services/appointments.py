"""Appointments of a participant (planning comes with the appointments issue; reading is here)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import Appointment, StaffUser, utcnow
from cases.services import audit


async def upcoming(session: AsyncSession, participant_id: int, limit: int = 5) -> list[Appointment]:
    """Planned appointments from now on, soonest first."""
    rows = await session.scalars(
        select(Appointment)
        .where(
            Appointment.participant_id == participant_id,
            Appointment.status == "planned",
            Appointment.starts_at >= utcnow(),
        )
        .order_by(Appointment.starts_at)
        .limit(limit)
    )
    return list(rows)


async def create_appointment(
    session: AsyncSession,
    *,
    participant_id: int,
    type_key: str,
    starts_at: dt.datetime,
    location: str,
    duration_minutes: int = 60,
    staff: StaffUser | None = None,
    created_by: StaffUser | None = None,
) -> Appointment:
    """Plan an appointment."""
    appointment = Appointment(
        participant_id=participant_id,
        type_key=type_key,
        starts_at=starts_at,
        location=location,
        duration_minutes=duration_minutes,
        staff_id=staff.id if staff else None,
    )
    session.add(appointment)
    await session.flush()
    await audit.record(
        session,
        "appointment.created",
        staff=created_by,
        participant_id=participant_id,
        details={"appointment_id": appointment.id, "type": type_key},
    )
    return appointment
