"""Document checklists: per appointment (from its type) and per case (added by staff)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import Appointment, ChecklistItem, StaffUser, utcnow
from cases.services import audit

PERSON_STATUSES = ("have", "need_help")


async def add_for_appointment(session: AsyncSession, appointment: Appointment, keys: Iterable[str]) -> None:
    """The documents the appointment's type asks for, each once."""
    for key in dict.fromkeys(keys):
        session.add(
            ChecklistItem(
                participant_id=appointment.participant_id, appointment_id=appointment.id, item_key=key
            )
        )
    await session.flush()


async def add_for_case(
    session: AsyncSession, participant_id: int, key: str, *, by: StaffUser
) -> ChecklistItem:
    """A document for the case as a whole (not tied to one appointment)."""
    existing = await session.scalar(
        select(ChecklistItem).where(
            ChecklistItem.participant_id == participant_id,
            ChecklistItem.appointment_id.is_(None),
            ChecklistItem.item_key == key,
        )
    )
    if existing is not None:
        return existing
    item = ChecklistItem(participant_id=participant_id, appointment_id=None, item_key=key)
    session.add(item)
    await session.flush()
    await audit.record(
        session, "checklist.item_added", staff=by, participant_id=participant_id, details={"item": key}
    )
    return item


async def open_items(session: AsyncSession, participant_id: int) -> list[ChecklistItem]:
    """Items that matter now: case items, and items of planned appointments that are still ahead."""
    rows = await session.scalars(
        select(ChecklistItem)
        .outerjoin(Appointment, Appointment.id == ChecklistItem.appointment_id)
        .where(
            ChecklistItem.participant_id == participant_id,
            or_(
                ChecklistItem.appointment_id.is_(None),
                (Appointment.status == "planned") & (Appointment.starts_at >= utcnow()),
            ),
        )
        .order_by(ChecklistItem.appointment_id.is_(None), Appointment.starts_at, ChecklistItem.id)
    )
    return list(rows)


async def for_participant(session: AsyncSession, participant_id: int) -> list[ChecklistItem]:
    rows = await session.scalars(
        select(ChecklistItem).where(ChecklistItem.participant_id == participant_id).order_by(ChecklistItem.id)
    )
    return list(rows)


async def set_by_person(
    session: AsyncSession, item_id: int, participant_id: int, status: str, *, identity_id: int
) -> ChecklistItem | None:
    """The person marks an item "I have it" or "I need help" (only their own items)."""
    if status not in PERSON_STATUSES:
        raise ValueError(status)
    item = await session.scalar(
        select(ChecklistItem).where(
            ChecklistItem.id == item_id, ChecklistItem.participant_id == participant_id
        )
    )
    if item is None:
        return None
    if item.status != "verified":
        item.status = status
        item.updated_at = utcnow()
    await audit.record(
        session,
        f"checklist.{status}",
        identity_id=identity_id,
        participant_id=participant_id,
        details={"item_id": item.id, "item": item.item_key},
    )
    return item


async def verify(session: AsyncSession, item: ChecklistItem, *, by: StaffUser) -> None:
    """Staff checked the document."""
    item.status = "verified"
    item.verified_at = item.updated_at = utcnow()
    item.verified_by_id = by.id
    await audit.record(
        session,
        "checklist.verified",
        staff=by,
        participant_id=item.participant_id,
        details={"item_id": item.id, "item": item.item_key},
    )
