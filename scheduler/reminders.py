"""The reminder dispatcher: claims due reminders and hands them to the outbox (or makes a task).

Each batch is one transaction: claiming the rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
has one writer), writing the outbox messages or tasks, and marking the reminders handled. So a
reminder reaches the outbox exactly once, also with two dispatching processes, and after a process
is killed mid-batch (its transaction never commits; the rows are claimed again).

During quiet hours only tasks are made; messages wait until the quiet hours end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from cases.db import transaction
from cases.models import Appointment, ChannelIdentity, Conversation, Message, Participant, Reminder, utcnow
from cases.services import messages
from cases.services import reminders as reminder_rows
from cases.services.tasks import task_row
from dialogs.appointments import reminder_reply
from dialogs.model import AppointmentView
from scheduler import rules as schedule_rules

log = logging.getLogger(__name__)

OnQueued = Callable[[str, int], Awaitable[None]]


@dataclass
class DispatchReport:
    sent: int = 0
    tasks: int = 0
    skipped: int = 0
    batches: int = 0
    recipients: set[tuple[str, int]] = field(default_factory=set)

    @property
    def handled(self) -> int:
        return self.sent + self.tasks + self.skipped

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.tasks += other.tasks
        self.skipped += other.skipped
        self.batches += other.batches
        self.recipients |= other.recipients


@dataclass(frozen=True)
class _Chat:
    identity_id: int
    channel: str
    language: str | None


class ReminderDispatcher:
    """Dispatches due reminders in batches; run by APScheduler and woken when staff plan something."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        on_queued: OnQueued | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.on_queued = on_queued
        self.quiet = settings.quiet_hours()
        self.ladder = {step.step: step for step in schedule_rules.load(settings.schedule_rules_file).ladder}
        self._lock = asyncio.Lock()
        self._pending_wake: asyncio.Task[DispatchReport] | None = None

    async def run(self, now: dt.datetime | None = None, *, max_batches: int | None = None) -> DispatchReport:
        """Dispatch everything due (batch after batch), then tell the channels about new messages."""
        report = DispatchReport()
        async with self._lock:
            while max_batches is None or report.batches < max_batches:
                batch = await self.run_batch(now or utcnow())
                report.add(batch)
                if batch.handled < self.settings.reminder_batch:
                    break
        if self.on_queued is not None:
            for channel, identity_id in sorted(report.recipients):
                await self.on_queued(channel, identity_id)
        if report.handled:
            log.info("reminders: %d sent, %d tasks, %d skipped", report.sent, report.tasks, report.skipped)
        return report

    def wake(self) -> None:
        """Run soon (something was planned now); one wake-up at a time is enough."""
        if self._pending_wake is None or self._pending_wake.done():
            self._pending_wake = asyncio.create_task(self.run(), name="reminder-dispatch")

    async def run_batch(self, now: dt.datetime) -> DispatchReport:
        """Claim and handle one batch in one transaction."""
        kinds = ("task",) if self.quiet.contains(now) else (*reminder_rows.MESSAGE_KINDS, "task")
        async with transaction(self.sessions) as session:
            claimed = await reminder_rows.claim_due(
                session, now=now, limit=self.settings.reminder_batch, kinds=kinds
            )
            if not claimed:
                return DispatchReport()
            return await self._handle(session, claimed, now)

    async def _handle(
        self, session: AsyncSession, claimed: list[Reminder], now: dt.datetime
    ) -> DispatchReport:
        report = DispatchReport(batches=1)
        people = {r.participant_id for r in claimed}
        appointments = await _appointments(session, {r.appointment_id for r in claimed if r.appointment_id})
        participants = await _participants(session, people)
        chats = await _chats(session, people)
        conversations = await _conversations(session, {c.identity_id for c in chats.values()})
        rebooked = await _latest_planned(
            session, {r.participant_id for r in claimed if r.kind in ("ladder", "task")}
        )

        outcomes: list[dict[str, Any]] = []
        new_messages: list[dict[str, Any]] = []
        message_for: list[int] = []  # reminder id per new message, in order
        tasks: list[dict[str, object]] = []
        for reminder in claimed:
            person = participants.get(reminder.participant_id)
            appt, status = appointments.get(reminder.appointment_id or 0, (None, ""))
            why = self._skip_reason(reminder, person, appt, status, rebooked, now)
            if why is None and reminder.kind == "task":
                step = self.ladder.get(reminder.rule)
                tasks.append(
                    task_row(
                        person,  # type: ignore[arg-type]
                        kind=f"no_show.{reminder.rule}",
                        text=step.task if step else reminder.rule,
                        dedupe_key=f"rem:{reminder.id}",
                        due_on=now.date(),
                    )
                )
                outcomes.append({"id": reminder.id, "status": "done", "outcome": "task"})
                report.tasks += 1
                continue
            chat = chats.get(reminder.participant_id)
            if why is None and chat is None:
                why = "no_chat"
            if why is not None:
                outcomes.append({"id": reminder.id, "status": "skipped", "outcome": why})
                report.skipped += 1
                continue
            assert chat is not None and person is not None
            conversation_id = conversations.get(chat.identity_id)
            if conversation_id is None:
                identity = await session.get(ChannelIdentity, chat.identity_id)
                assert identity is not None
                conversation_id = (await messages.conversation_for(session, identity)).id
                conversations[chat.identity_id] = conversation_id
            language = chat.language or person.preferred_language or "nl"
            reply, params = reminder_reply(
                language, reminder.rule, reminder.kind, appt, self.settings.timezone
            )
            new_messages.append(
                {
                    "conversation_id": conversation_id,
                    "identity_id": chat.identity_id,
                    "participant_id": person.id,
                    "direction": "out",
                    "channel": chat.channel,
                    "kind": "text",
                    "text": reply.text,
                    "buttons": [b.as_dict() for b in reply.buttons] or None,
                    "language": language,
                    "intent": f"reminder.{reminder.kind}.{reminder.rule}"[:80],
                    "translated_text": reply.dutch,
                    "translation_language": "nl" if reply.dutch else None,
                    "translation_engine": "catalog" if reply.dutch else None,
                    "template_kind": "appointment" if params else None,
                    "template_params": params,
                    "status": "queued",
                    "attempts": 0,
                    "created_at": now,
                }
            )
            message_for.append(reminder.id)
            report.recipients.add((chat.channel, chat.identity_id))
        if new_messages:
            ids = await messages.allocate_ids(session, len(new_messages))
            for row, message_id in zip(new_messages, ids, strict=True):
                row["id"] = message_id
            await session.execute(insert(Message), new_messages)
            for reminder_id, message_id in zip(message_for, ids, strict=True):
                outcomes.append(
                    {"id": reminder_id, "status": "sent", "outcome": "queued", "message_id": message_id}
                )
            report.sent = len(ids)
        await reminder_rows.add_tasks(session, tasks)
        await reminder_rows.record_outcomes(session, outcomes)
        return report

    def _skip_reason(
        self,
        reminder: Reminder,
        person: Participant | None,
        appt: AppointmentView | None,
        status: str,
        rebooked: dict[int, dt.datetime],
        now: dt.datetime,
    ) -> str | None:
        if person is None:
            return "no_participant"
        if reminder.kind == "appointment":
            if appt is None:
                return "no_appointment"
            if reminder.rule == "cancelled":
                return None if status == "cancelled" else "not_cancelled"
            if status != "planned":
                return status
            if appt.starts_at <= now:
                return "past"
            if reminder.rule not in reminder_rows.NOTICES and person.reminders_stopped_at is not None:
                return "stopped"
            return None
        if reminder.kind in ("ladder", "task"):
            missed_at = reminder.created_at
            if reminder.participant_id in rebooked and rebooked[reminder.participant_id] >= missed_at:
                return "rebooked"
        if reminder.kind in ("ladder", "deadline") and person.reminders_stopped_at is not None:
            return "stopped"
        return None


async def _appointments(session: AsyncSession, ids: set[int]) -> dict[int, tuple[AppointmentView, str]]:
    """Appointments by id: what the dialogs see of each, and its status."""
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Appointment.id,
            Appointment.type_key,
            Appointment.starts_at,
            Appointment.location,
            Appointment.duration_minutes,
            Appointment.location_kind,
            Appointment.status,
        ).where(Appointment.id.in_(ids))
    )
    return {
        row.id: (
            AppointmentView(
                row.type_key,
                row.starts_at,
                row.location,
                id=row.id,
                duration_minutes=row.duration_minutes,
                location_kind=row.location_kind,
            ),
            row.status,
        )
        for row in rows
    }


async def _participants(session: AsyncSession, ids: set[int]) -> dict[int, Participant]:
    rows = await session.scalars(select(Participant).where(Participant.id.in_(ids)))
    return {p.id: p for p in rows}


async def _chats(session: AsyncSession, participant_ids: set[int]) -> dict[int, _Chat]:
    """Per participant, the chat to reach them on: the most recently linked one with consent."""
    rows = await session.execute(
        select(
            ChannelIdentity.id,
            ChannelIdentity.participant_id,
            ChannelIdentity.channel,
            ChannelIdentity.language,
        )
        .where(
            ChannelIdentity.participant_id.in_(participant_ids),
            ChannelIdentity.consent_given_at.is_not(None),
        )
        .order_by(ChannelIdentity.linked_at, ChannelIdentity.id)
    )
    return {row.participant_id: _Chat(row.id, row.channel, row.language) for row in rows}


async def _conversations(session: AsyncSession, identity_ids: set[int]) -> dict[int, int]:
    if not identity_ids:
        return {}
    rows = await session.execute(
        select(Conversation.identity_id, Conversation.id).where(Conversation.identity_id.in_(identity_ids))
    )
    return {row.identity_id: row.id for row in rows}


async def _latest_planned(session: AsyncSession, participant_ids: set[int]) -> dict[int, dt.datetime]:
    """When each participant last got a new planned appointment (a no-show ladder stops then)."""
    if not participant_ids:
        return {}
    rows = await session.execute(
        select(Appointment.participant_id, func.max(Appointment.created_at))
        .where(Appointment.participant_id.in_(participant_ids), Appointment.status == "planned")
        .group_by(Appointment.participant_id)
    )
    return {pid: created for pid, created in rows}
