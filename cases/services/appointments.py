"""Appointments: plan, move, cancel, confirm, tolk, attendance, free slots, the day's agenda.

Every change also plans or cancels the appointment's reminders and lands in the case timeline
(the audit trail). Times are aware UTC; the gemeente's time zone only matters for display and for
reminders counted in days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases import appointment_types
from cases.models import Appointment, GroupSession, Participant, Slot, StaffUser, utcnow
from cases.services import audit, checklists, reminders
from scheduler.rules import LadderStep, QuietHours

CANCEL_REASONS = ("ill", "work", "childcare", "other_appointment", "other")
PARTS_OF_DAY = ((0, 12), (12, 17), (17, 24))  # morning, afternoon, evening (local hours)


@dataclass(frozen=True)
class PlanningRules:
    """What planning needs to know: appointment types, quiet hours, the no-show ladder."""

    types: dict[str, appointment_types.AppointmentType]
    quiet: QuietHours
    ladder: tuple[LadderStep, ...] = ()


class PlanningError(ValueError):
    """A request that cannot be planned (the message is for staff, in Dutch)."""


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


async def for_participant(session: AsyncSession, participant_id: int, limit: int = 50) -> list[Appointment]:
    """All appointments of a participant, newest first (for the case view)."""
    rows = await session.scalars(
        select(Appointment)
        .where(Appointment.participant_id == participant_id)
        .order_by(Appointment.starts_at.desc())
        .limit(limit)
    )
    return list(rows)


async def get_for_participant(
    session: AsyncSession, appointment_id: int, participant_id: int, *, lock: bool = False
) -> Appointment | None:
    """One appointment, only when it belongs to ``participant_id`` (a chat can touch only its own)."""
    stmt = select(Appointment).where(
        Appointment.id == appointment_id, Appointment.participant_id == participant_id
    )
    if lock:
        stmt = stmt.with_for_update(of=Appointment)
    return await session.scalar(stmt)


async def create_appointment(
    session: AsyncSession,
    rules: PlanningRules,
    *,
    participant: Participant,
    type_key: str,
    starts_at: dt.datetime,
    location: str = "",
    location_kind: str | None = None,
    duration_minutes: int | None = None,
    staff_id: int | None = None,
    tolk_needed: bool | None = None,
    tolk_language: str | None = None,
    session_id: int | None = None,
    created_by: StaffUser | None = None,
    notify: bool = True,
    now: dt.datetime | None = None,
) -> Appointment:
    """Plan an appointment with its document checklist, invitation and reminders."""
    kind = rules.types.get(type_key)
    if kind is None:
        raise PlanningError(f"Onbekend afspraaktype: {type_key}")
    now = now or utcnow()
    if starts_at <= now:
        raise PlanningError("Een afspraak moet in de toekomst liggen.")
    appointment = Appointment(
        participant_id=participant.id,
        type_key=type_key,
        starts_at=starts_at,
        duration_minutes=duration_minutes or kind.duration_minutes,
        location_kind=location_kind or kind.location_kind,
        location=location,
        staff_id=staff_id,
        session_id=session_id,
        tolk_needed=kind.tolk if tolk_needed is None else tolk_needed,
        tolk_language=tolk_language,
        created_by_id=created_by.id if created_by else None,
        status="planned",
    )
    session.add(appointment)
    await session.flush()
    await checklists.add_for_appointment(session, appointment, kind.checklist)
    await reminders.plan_for_appointment(
        session, appointment, kind.reminders, rules.quiet, now=now, notice="invitation" if notify else None
    )
    await audit.record(
        session,
        "appointment.created",
        staff=created_by,
        participant_id=participant.id,
        details={"appointment_id": appointment.id, "type": type_key, "session_id": session_id},
    )
    return appointment


async def move(
    session: AsyncSession,
    rules: PlanningRules,
    appointment: Appointment,
    *,
    starts_at: dt.datetime,
    location: str | None = None,
    location_kind: str | None = None,
    staff_id: int | None = None,
    by: StaffUser | None = None,
    identity_id: int | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Give a planned appointment a new time (and place): its reminders are planned again."""
    now = now or utcnow()
    if appointment.status != "planned":
        raise PlanningError("Alleen een geplande afspraak kan verzet worden.")
    if starts_at <= now:
        raise PlanningError("Een afspraak moet in de toekomst liggen.")
    old = appointment.starts_at
    appointment.starts_at = starts_at
    if location is not None:
        appointment.location = location
    if location_kind is not None:
        appointment.location_kind = location_kind
    if staff_id is not None:
        appointment.staff_id = staff_id
    appointment.confirmed_at = None
    appointment.reschedule_requested_at = None
    await reminders.cancel_pending(session, appointment.id)
    kind = rules.types.get(appointment.type_key)
    await reminders.plan_for_appointment(
        session,
        appointment,
        kind.reminders if kind else (),
        rules.quiet,
        now=now,
        notice="moved" if identity_id is None else None,  # the person moved it: they know
        generation=int(now.timestamp()),
    )
    await audit.record(
        session,
        "appointment.moved",
        staff=by,
        identity_id=identity_id,
        participant_id=appointment.participant_id,
        details={"appointment_id": appointment.id, "from": old.isoformat(), "to": starts_at.isoformat()},
    )
    return appointment


async def cancel(
    session: AsyncSession,
    rules: PlanningRules,
    appointment: Appointment,
    *,
    reason: str,
    by: StaffUser | None = None,
    identity_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Cancel an appointment: reminders stop, its slot is free again; staff cancellations are told."""
    if appointment.status != "planned":
        return
    now = now or utcnow()
    appointment.status = "cancelled"
    appointment.cancelled_at = now
    appointment.cancelled_by = "staff" if by is not None else "participant"
    appointment.cancel_reason = reason if reason in CANCEL_REASONS else "other"
    await reminders.cancel_pending(session, appointment.id)
    await session.execute(
        update(Slot).where(Slot.appointment_id == appointment.id).values(appointment_id=None)
    )
    if by is not None:
        await reminders.plan_notice(session, appointment, "cancelled", rules.quiet, now=now)
    await audit.record(
        session,
        "appointment.cancelled",
        staff=by,
        identity_id=identity_id,
        participant_id=appointment.participant_id,
        details={"appointment_id": appointment.id, "reason": appointment.cancel_reason},
    )


async def confirm(session: AsyncSession, appointment: Appointment, *, identity_id: int) -> bool:
    """The person says they will come. Returns False when it was confirmed already."""
    if appointment.confirmed_at is not None:
        return False
    appointment.confirmed_at = utcnow()
    await audit.record(
        session,
        "appointment.confirmed",
        identity_id=identity_id,
        participant_id=appointment.participant_id,
        details={"appointment_id": appointment.id},
    )
    return True


async def request_tolk(
    session: AsyncSession, appointment: Appointment, *, language: str, identity_id: int | None = None
) -> None:
    """Ask for an interpreter in ``language`` at this appointment."""
    appointment.tolk_needed = True
    appointment.tolk_language = language
    await audit.record(
        session,
        "appointment.tolk_requested",
        identity_id=identity_id,
        participant_id=appointment.participant_id,
        details={"appointment_id": appointment.id, "language": language},
    )


async def request_reschedule(session: AsyncSession, appointment: Appointment, *, identity_id: int) -> None:
    """No free slot suited the person: staff must offer a new time (a task for the klantmanager)."""
    from cases.services import tasks

    appointment.reschedule_requested_at = utcnow()
    await tasks.add(
        session,
        participant=appointment.participant,
        kind="reschedule",
        text="Deelnemer wil de afspraak verzetten; er was geen geschikt vrij tijdstip",
        dedupe_key=f"reschedule:{appointment.id}:{int(appointment.starts_at.timestamp())}",
    )
    await audit.record(
        session,
        "appointment.reschedule_requested",
        identity_id=identity_id,
        participant_id=appointment.participant_id,
        details={"appointment_id": appointment.id},
    )


async def mark_attendance(
    session: AsyncSession,
    rules: PlanningRules,
    appointment: Appointment,
    *,
    attended: bool,
    by: StaffUser,
    now: dt.datetime | None = None,
) -> None:
    """Staff say whether the person came. A no-show starts the no-show ladder."""
    now = now or utcnow()
    if appointment.status not in ("planned", "attended", "no_show"):
        raise PlanningError("Een geannuleerde afspraak kan niet als bezocht of gemist worden gemarkeerd.")
    if appointment.starts_at > now:
        raise PlanningError("Deze afspraak is nog niet begonnen.")
    appointment.status = "attended" if attended else "no_show"
    appointment.attendance_marked_at = now
    await reminders.cancel_pending(session, appointment.id, ("appointment", "ladder", "task"))
    if not attended:
        await reminders.plan_ladder(session, appointment, rules.ladder, rules.quiet, now=now)
    await audit.record(
        session,
        "appointment.attended" if attended else "appointment.no_show",
        staff=by,
        participant_id=appointment.participant_id,
        details={"appointment_id": appointment.id},
    )


def part_of_day(when: dt.datetime, zone: str) -> int:
    """0 morning, 1 afternoon, 2 evening (local time)."""
    hour = when.astimezone(ZoneInfo(zone)).hour
    return next(i for i, (start, end) in enumerate(PARTS_OF_DAY) if start <= hour < end)


async def free_slots(
    session: AsyncSession,
    appointment: Appointment,
    zone: str,
    *,
    now: dt.datetime | None = None,
    per_part: int = 2,
) -> list[Slot]:
    """Free slots that suit this appointment's type, at least an hour ahead, spread over the parts
    of the day (people who work need another part of the day than the one they missed)."""
    now = now or utcnow()
    rows = await session.scalars(
        select(Slot)
        .where(
            Slot.appointment_id.is_(None),
            Slot.starts_at >= now + dt.timedelta(hours=1),
            Slot.starts_at != appointment.starts_at,
            or_(Slot.type_key.is_(None), Slot.type_key == appointment.type_key),
        )
        .order_by(Slot.starts_at)
        .limit(200)
    )
    chosen: list[Slot] = []
    taken: dict[int, int] = {}
    for slot in rows:
        part = part_of_day(slot.starts_at, zone)
        if taken.get(part, 0) < per_part:
            chosen.append(slot)
            taken[part] = taken.get(part, 0) + 1
    return sorted(chosen, key=lambda s: s.starts_at)


async def book_slot(
    session: AsyncSession,
    rules: PlanningRules,
    appointment: Appointment,
    slot_id: int,
    *,
    identity_id: int | None = None,
    by: StaffUser | None = None,
) -> bool:
    """Move the appointment into a free slot. Returns False when someone else took the slot first."""
    taken = await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.appointment_id.is_(None))
        .values(appointment_id=appointment.id)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        return False
    await session.execute(
        update(Slot)
        .where(Slot.appointment_id == appointment.id, Slot.id != slot_id)
        .values(appointment_id=None)
    )
    slot = await session.get(Slot, slot_id)
    assert slot is not None
    await move(
        session,
        rules,
        appointment,
        starts_at=slot.starts_at,
        location=slot.location or appointment.location,
        location_kind=slot.location_kind,
        staff_id=slot.staff_id,
        by=by,
        identity_id=identity_id,
    )
    return True


async def rebook_into_slot(
    session: AsyncSession,
    rules: PlanningRules,
    missed: Appointment,
    slot_id: int,
    *,
    identity_id: int,
) -> Appointment | None:
    """After a no-show, the person picks a free slot: a new appointment of the same type.
    Returns None when someone else took the slot first."""
    slot = await session.get(Slot, slot_id, with_for_update=True)
    if slot is None or slot.appointment_id is not None:
        return None
    appointment = await create_appointment(
        session,
        rules,
        participant=missed.participant,
        type_key=missed.type_key,
        starts_at=slot.starts_at,
        location=slot.location or missed.location,
        location_kind=slot.location_kind,
        duration_minutes=missed.duration_minutes,
        staff_id=slot.staff_id,
        tolk_needed=missed.tolk_needed,
        tolk_language=missed.tolk_language,
        notify=False,
    )
    taken = await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.appointment_id.is_(None))
        .values(appointment_id=appointment.id)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        raise PlanningError("slot taken concurrently")  # rolls the whole turn back; the person retries
    await audit.record(
        session,
        "appointment.rebooked",
        identity_id=identity_id,
        participant_id=missed.participant_id,
        details={"appointment_id": appointment.id, "missed_appointment_id": missed.id},
    )
    return appointment


async def publish_slots(
    session: AsyncSession,
    *,
    staff_id: int,
    first: dt.datetime,
    count: int,
    duration_minutes: int,
    type_key: str | None,
    location_kind: str,
    location: str,
    created_by: StaffUser,
) -> list[Slot]:
    """Publish ``count`` back-to-back free slots for one staff member from ``first`` on."""
    if not 1 <= count <= 40:
        raise PlanningError("Kies 1 tot 40 tijdsloten.")
    slots = [
        Slot(
            staff_id=staff_id,
            starts_at=first + dt.timedelta(minutes=duration_minutes * i),
            duration_minutes=duration_minutes,
            type_key=type_key or None,
            location_kind=location_kind,
            location=location,
        )
        for i in range(count)
    ]
    session.add_all(slots)
    await session.flush()
    await audit.record(
        session, "slots.published", staff=created_by, details={"staff_id": staff_id, "count": count}
    )
    return slots


async def open_slots(
    session: AsyncSession, *, now: dt.datetime | None = None, limit: int = 200
) -> list[Slot]:
    """Published slots from now on (free and taken), for the planner."""
    rows = await session.scalars(
        select(Slot).where(Slot.starts_at >= (now or utcnow())).order_by(Slot.starts_at).limit(limit)
    )
    return list(rows)


async def agenda(
    session: AsyncSession, day: dt.date, zone: str, *, team_id: int | None = None
) -> list[Appointment]:
    """The appointments of one local day (all statuses), in time order; ``team_id`` limits to a team."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(zone))
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(zone))
    stmt = (
        select(Appointment)
        .join(Participant, Participant.id == Appointment.participant_id)
        .where(and_(Appointment.starts_at >= start, Appointment.starts_at < end))
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if team_id is not None:
        stmt = stmt.where(Participant.team_id == team_id)
    return list(await session.scalars(stmt))


async def create_group_session(
    session: AsyncSession,
    rules: PlanningRules,
    *,
    type_key: str,
    starts_at: dt.datetime,
    location_kind: str,
    location: str,
    staff_id: int | None,
    capacity: int,
    created_by: StaffUser,
) -> GroupSession:
    """A session several participants can be invited to."""
    kind = rules.types.get(type_key)
    if kind is None:
        raise PlanningError(f"Onbekend afspraaktype: {type_key}")
    group = GroupSession(
        type_key=type_key,
        starts_at=starts_at,
        duration_minutes=kind.duration_minutes,
        location_kind=location_kind,
        location=location,
        staff_id=staff_id,
        capacity=capacity,
        created_by_id=created_by.id,
    )
    session.add(group)
    await session.flush()
    await audit.record(session, "session.created", staff=created_by, details={"session_id": group.id})
    return group


async def invite_to_session(
    session: AsyncSession,
    rules: PlanningRules,
    group: GroupSession,
    people: list[Participant],
    *,
    by: StaffUser,
) -> tuple[int, int]:
    """Invite participants to a group session (one appointment each). Returns (invited, skipped):
    people already invited and places beyond the capacity are skipped."""
    existing = set(
        await session.scalars(
            select(Appointment.participant_id).where(
                Appointment.session_id == group.id, Appointment.status != "cancelled"
            )
        )
    )
    room = group.capacity - len(existing)
    invited = 0
    for person in people:
        if person.id in existing or invited >= room:
            continue
        await create_appointment(
            session,
            rules,
            participant=person,
            type_key=group.type_key,
            starts_at=group.starts_at,
            location=group.location,
            location_kind=group.location_kind,
            duration_minutes=group.duration_minutes,
            staff_id=group.staff_id,
            session_id=group.id,
            created_by=by,
        )
        invited += 1
    return invited, len(people) - invited


async def group_sessions_from(
    session: AsyncSession, since: dt.datetime, limit: int = 200
) -> list[GroupSession]:
    """Group sessions starting from ``since``, soonest first."""
    rows = await session.scalars(
        select(GroupSession)
        .where(GroupSession.starts_at >= since)
        .order_by(GroupSession.starts_at)
        .limit(limit)
    )
    return list(rows)


async def session_members(session: AsyncSession, group_id: int) -> list[Appointment]:
    """The appointments made for one group session."""
    rows = await session.scalars(
        select(Appointment).where(Appointment.session_id == group_id).order_by(Appointment.id)
    )
    return list(rows)
