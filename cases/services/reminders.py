"""Reminders as rows with a due time: planned with their appointment (or deadline, or no-show),
cancelled with it, and claimed by the dispatcher when due.

``dedupe_key`` is unique: planning the same reminder twice (two scans, a retry) stores it once.
A claim and its outcome (an outbox row or a task) are written in one transaction, so a reminder is
handed over exactly once, also with several dispatchers and after a crash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.db import dialect_insert
from cases.models import Appointment, Reminder, StaffTask, utcnow
from scheduler.rules import LadderStep, QuietHours, reminder_due_times, shift

NOTICES = ("invitation", "moved", "cancelled")  # sent even after "stop": they change what to do
MESSAGE_KINDS = ("appointment", "deadline", "ladder")  # produce a chat message; "task" makes a task


def insert_ignoring_duplicates(session: AsyncSession, model: type[Any]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for ``model`` (rows with a unique ``dedupe_key``)."""
    return dialect_insert(session, model).on_conflict_do_nothing(index_elements=["dedupe_key"])


async def add_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Store reminders; ones whose dedupe key exists already are left as they are."""
    if rows:
        now = utcnow()
        await session.execute(
            insert_ignoring_duplicates(session, Reminder),
            [{"status": "pending", "created_at": now, **row} for row in rows],
        )


async def plan_for_appointment(
    session: AsyncSession,
    appointment: Appointment,
    offsets: Iterable[str],
    quiet: QuietHours,
    *,
    now: dt.datetime,
    notice: str | None = None,
    generation: int = 0,
) -> None:
    """Plan the reminders of an appointment (and a notice such as the invitation, due now)."""
    rows = [
        {
            "dedupe_key": f"ap:{appointment.id}:{generation}:{offset}",
            "kind": "appointment",
            "rule": offset,
            "participant_id": appointment.participant_id,
            "appointment_id": appointment.id,
            "due_at": due,
        }
        for offset, due in reminder_due_times(appointment.starts_at, tuple(offsets), quiet, now).items()
    ]
    await add_many(session, rows)
    if notice:
        await plan_notice(session, appointment, notice, quiet, now=now, generation=generation)


async def plan_notice(
    session: AsyncSession,
    appointment: Appointment,
    notice: str,
    quiet: QuietHours,
    *,
    now: dt.datetime,
    generation: int = 0,
) -> None:
    """A message about the appointment (invitation, moved, cancelled), due now or after quiet hours."""
    await add_many(
        session,
        [
            {
                "dedupe_key": f"ap:{appointment.id}:{generation or int(now.timestamp())}:{notice}",
                "kind": "appointment",
                "rule": notice,
                "participant_id": appointment.participant_id,
                "appointment_id": appointment.id,
                "due_at": quiet.adjust(now),
            }
        ],
    )


async def cancel_pending(
    session: AsyncSession, appointment_id: int, kinds: Sequence[str] = ("appointment",)
) -> int:
    """Cancel the appointment's reminders of ``kinds`` that have not gone out yet."""
    result = await session.execute(
        update(Reminder)
        .where(
            Reminder.appointment_id == appointment_id,
            Reminder.status == "pending",
            Reminder.kind.in_(kinds),
        )
        .values(status="cancelled", handled_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def plan_ladder(
    session: AsyncSession,
    appointment: Appointment,
    ladder: Sequence[LadderStep],
    quiet: QuietHours,
    *,
    now: dt.datetime,
) -> None:
    """Plan the steps of the no-show ladder for a missed appointment."""
    rows = []
    for step in ladder:
        due = shift(now, step.after, quiet.zone)
        rows.append(
            {
                "dedupe_key": f"ns:{appointment.id}:{step.step}",
                "kind": "ladder" if step.action == "message" else "task",
                "rule": step.step,
                "participant_id": appointment.participant_id,
                "appointment_id": appointment.id,
                "due_at": quiet.adjust(due) if step.action == "message" else due,
            }
        )
    await add_many(session, rows)


async def claim_due(
    session: AsyncSession, *, now: dt.datetime, limit: int, kinds: Sequence[str]
) -> list[Reminder]:
    """Take up to ``limit`` due reminders of ``kinds`` (skipping rows another dispatcher holds)."""
    rows = await session.scalars(
        select(Reminder)
        .where(Reminder.status == "pending", Reminder.due_at <= now, Reminder.kind.in_(kinds))
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def record_outcomes(session: AsyncSession, outcomes: Sequence[dict[str, Any]]) -> None:
    """Write what became of claimed reminders: ``{"id", "status", "outcome", "message_id"}`` each."""
    if outcomes:
        now = utcnow()
        await session.execute(update(Reminder), [{"handled_at": now, **row} for row in outcomes])


async def for_participant(session: AsyncSession, participant_id: int, limit: int = 100) -> list[Reminder]:
    """A participant's reminders, newest due first (for the case view)."""
    rows = await session.scalars(
        select(Reminder)
        .where(Reminder.participant_id == participant_id)
        .order_by(Reminder.due_at.desc())
        .limit(limit)
    )
    return list(rows)


async def add_tasks(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Store staff tasks; ones whose dedupe key exists already are left as they are."""
    if rows:
        now = utcnow()
        await session.execute(
            insert_ignoring_duplicates(session, StaffTask),
            [{"status": "open", "created_at": now, **row} for row in rows],
        )
