"""Staff tasks: work for the klantmanager (deadlines, no-show follow-up, a person needing help)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import Participant, StaffTask, StaffUser, utcnow
from cases.services import audit
from cases.services.reminders import add_tasks


def task_row(
    participant: Participant, *, kind: str, text: str, dedupe_key: str, due_on: dt.date | None = None
) -> dict[str, object]:
    """The row of a task for the participant's klantmanager (or their team when there is none)."""
    return {
        "dedupe_key": dedupe_key,
        "participant_id": participant.id,
        "staff_id": participant.klantmanager_id,
        "team_id": participant.team_id,
        "kind": kind,
        "text": text[:300],
        "due_on": due_on,
    }


async def add(
    session: AsyncSession,
    *,
    participant: Participant,
    kind: str,
    text: str,
    dedupe_key: str,
    due_on: dt.date | None = None,
) -> None:
    """Add one task (stored once per ``dedupe_key``)."""
    await add_tasks(
        session, [task_row(participant, kind=kind, text=text, dedupe_key=dedupe_key, due_on=due_on)]
    )


async def open_for(session: AsyncSession, staff: StaffUser, limit: int = 200) -> list[StaffTask]:
    """Open tasks this staff member should see: their own, and their team's unassigned ones."""
    stmt = select(StaffTask).where(StaffTask.status == "open")
    if not staff.has_role("teamleider", "beheerder"):
        stmt = stmt.where(
            (StaffTask.staff_id == staff.id)
            | ((StaffTask.staff_id.is_(None)) & (StaffTask.team_id == staff.team_id))
        )
    elif staff.has_role("teamleider") and not staff.has_role("beheerder"):
        stmt = stmt.where((StaffTask.team_id == staff.team_id) | StaffTask.team_id.is_(None))
    rows = await session.scalars(
        stmt.order_by(StaffTask.due_on.is_(None), StaffTask.due_on, StaffTask.id).limit(limit)
    )
    return list(rows)


async def for_participant(session: AsyncSession, participant_id: int) -> list[StaffTask]:
    rows = await session.scalars(
        select(StaffTask).where(StaffTask.participant_id == participant_id).order_by(StaffTask.id.desc())
    )
    return list(rows)


async def complete(session: AsyncSession, task: StaffTask, *, by: StaffUser) -> None:
    """Mark a task done."""
    if task.status == "done":
        return
    task.status = "done"
    task.done_at = utcnow()
    task.done_by_id = by.id
    await audit.record(
        session, "task.done", staff=by, participant_id=task.participant_id, details={"task_id": task.id}
    )
