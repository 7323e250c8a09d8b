"""The daily deadline scan: PIP due, verlenging window, ontzorgen review, end of the termijn.

For every rule in ``rules.toml`` and every participant it applies to, a chat reminder and a task for
the klantmanager are planned when their moment has come and the deadline has not passed. Dedupe
keys make the scan safe to run as often as wanted: each reminder and task is stored once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from cases.db import transaction
from cases.models import Participant, utcnow
from cases.services import reminders
from cases.services.tasks import task_row
from scheduler.rules import DeadlineRule, load, shift_date

log = logging.getLogger(__name__)
_PAGE = 500  # small pages, with a pause between them: the scan shares the loop with live requests


@dataclass
class ScanReport:
    participants: int = 0
    reminders: int = 0
    tasks: int = 0


def due_items(
    rule: DeadlineRule, person: Participant, today: dt.date
) -> tuple[list[tuple[str, dt.date]], list[tuple[str, dt.date]]]:
    """The (offset, deadline) pairs whose moment has come for this person: chat reminders, tasks."""
    anchor = getattr(person, rule.anchor)
    if anchor is None or person.target_group not in rule.target_groups:
        return [], []
    if rule.stop_when_set and getattr(person, rule.stop_when_set) is not None:
        return [], []
    deadline = rule.deadline(anchor)
    if deadline + dt.timedelta(days=rule.late_days) < today:
        return [], []

    def come(offsets: tuple[str, ...]) -> list[tuple[str, dt.date]]:
        return [(o, deadline) for o in offsets if shift_date(deadline, o, sign=-1) <= today]

    return come(rule.participant_before), come(rule.staff_before)


async def scan(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, *, now: dt.datetime | None = None
) -> ScanReport:
    """Plan the deadline reminders and tasks that are due by today (local date)."""
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    rules = load(settings.schedule_rules_file).deadlines
    quiet = settings.quiet_hours()
    report = ScanReport()
    anchors = {rule.anchor for rule in rules.values()}
    last_id = 0
    while True:
        async with sessions() as session:
            page = list(
                await session.scalars(
                    select(Participant)
                    .where(
                        Participant.id > last_id,
                        or_(*(getattr(Participant, a).is_not(None) for a in anchors)),
                    )
                    .order_by(Participant.id)
                    .limit(_PAGE)
                )
            )
        if not page:
            break
        last_id = page[-1].id
        reminder_rows: list[dict[str, object]] = []
        tasks: list[dict[str, object]] = []
        for person in page:
            report.participants += 1
            for rule in rules.values():
                chat, staff = due_items(rule, person, today)
                for offset, deadline in chat:
                    reminder_rows.append(
                        {
                            "dedupe_key": f"dl:{person.id}:{rule.key}:{offset}:{deadline.isoformat()}",
                            "kind": "deadline",
                            "rule": f"{rule.key}:{offset}"[:40],
                            "participant_id": person.id,
                            "appointment_id": None,
                            "due_at": quiet.adjust(now),
                        }
                    )
                for offset, deadline in staff:
                    tasks.append(
                        task_row(
                            person,
                            kind=f"deadline.{rule.key}",
                            text=f"{rule.task} (uiterlijk {deadline:%d-%m-%Y})",
                            dedupe_key=f"dl:{person.id}:{rule.key}:{offset}:{deadline.isoformat()}",
                            due_on=deadline,
                        )
                    )
        async with transaction(sessions) as session:
            await reminders.add_many(session, reminder_rows)
            await reminders.add_tasks(session, tasks)
        report.reminders += len(reminder_rows)
        report.tasks += len(tasks)
        await asyncio.sleep(0)  # let waiting requests run between pages
    log.info("deadline scan: %d participants, %d reminders and %d tasks due", *vars(report).values())
    return report
