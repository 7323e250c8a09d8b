"""Reminders: planned with their appointment, sent once when due, never in quiet hours, correct across
clock changes, never for cancelled or past appointments, stopped by "STOP"; deadlines; no-shows."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from benchmarks.reminders import outcome, seed
from bot.settings import load_settings
from cases.db import transaction
from cases.models import Appointment, Message, Participant, Reminder, StaffTask
from cases.services import appointments, participants
from scheduler import deadlines
from scheduler.reminders import ReminderDispatcher
from scheduler.rules import QuietHours, reminder_due_times
from tests.helpers import linked_identity, make_participant, make_staff

AMS = ZoneInfo("Europe/Amsterdam")
QUIET = QuietHours.parse("21:00", "08:00", "Europe/Amsterdam")
ROOT = Path(__file__).resolve().parents[1]


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=AMS).astimezone(dt.UTC)


# Rules (pure) -------------------------------------------------------------------------------------
def test_days_keep_the_clock_time_across_the_march_clock_change() -> None:
    starts = local(2027, 3, 29, 10, 0)  # Monday after the change of Sunday 28 March 2027
    due = reminder_due_times(starts, ("7d", "1d", "2h"), QUIET, now=local(2027, 3, 1, 9))
    assert due["7d"] == local(2027, 3, 22, 10, 0) == dt.datetime(2027, 3, 22, 9, 0, tzinfo=dt.UTC)
    assert due["7d"] != starts - dt.timedelta(days=7)  # a week less an hour on the clock
    assert due["1d"] == local(2027, 3, 28, 10, 0) == dt.datetime(2027, 3, 28, 8, 0, tzinfo=dt.UTC)
    assert due["2h"] == starts - dt.timedelta(hours=2)


def test_days_keep_the_clock_time_across_the_october_clock_change() -> None:
    starts = local(2027, 11, 1, 10, 0)  # Monday after the change of Sunday 31 October 2027
    due = reminder_due_times(starts, ("7d", "1d"), QUIET, now=local(2027, 10, 1, 9))
    assert due["7d"] == local(2027, 10, 25, 10, 0) == dt.datetime(2027, 10, 25, 8, 0, tzinfo=dt.UTC)
    assert due["7d"] != starts - dt.timedelta(days=7)  # a week and an hour on the clock
    assert due["1d"] == local(2027, 10, 31, 10, 0) == dt.datetime(2027, 10, 31, 9, 0, tzinfo=dt.UTC)


def test_hours_count_on_the_clock_over_the_short_night() -> None:
    # 10:00 on the night the clocks go forward: 2 clock hours before is 07:00 CEST (05:00 UTC), in the
    # quiet hours, so it moves to 08:00 local, still before the appointment.
    starts = local(2027, 3, 28, 10, 0)
    due = reminder_due_times(starts, ("2h",), QUIET, now=local(2027, 3, 1, 9))
    assert due["2h"] == local(2027, 3, 28, 8, 0)


def test_quiet_hours_move_a_reminder_out_of_the_night() -> None:
    early = local(2027, 6, 14, 8, 30)  # 2h before is 06:30: quiet; 08:00 is too late? no, still before
    assert reminder_due_times(early, ("2h",), QUIET, now=local(2027, 6, 1, 9))["2h"] == local(
        2027, 6, 14, 8, 0
    )
    very_early = local(2027, 6, 14, 7, 45)  # 08:00 would be after the start: the evening before
    assert reminder_due_times(very_early, ("2h",), QUIET, now=local(2027, 6, 1, 9))["2h"] == local(
        2027, 6, 13, 20, 55
    )
    assert QUIET.contains(local(2027, 6, 14, 23, 0)) and QUIET.contains(local(2027, 6, 14, 7, 59))
    assert not QUIET.contains(local(2027, 6, 14, 8, 0)) and not QUIET.contains(local(2027, 6, 14, 20, 59))


def test_offsets_already_past_are_not_planned() -> None:
    starts = local(2027, 6, 14, 10, 0)
    due = reminder_due_times(starts, ("7d", "1d", "2h"), QUIET, now=local(2027, 6, 12, 9))
    assert set(due) == {"1d", "2h"}


# With the database --------------------------------------------------------------------------------
async def _person(sessions, language: str = "ar", ref: str = "WW-0001"):  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, f"km-{ref}@example.nl", ["klantmanager"])
    person = await make_participant(sessions, reference=ref, klantmanager=km)
    identity = await linked_identity(sessions, person, external_id=f"chat-{ref}", language=language)
    return person, identity


async def _plan(sessions, settings, person, starts_at, now, **extra):  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        return await appointments.create_appointment(
            session,
            settings.planning(),
            participant=await session.get(Participant, person.id),
            type_key=extra.pop("type_key", "pip_gesprek"),
            starts_at=starts_at,
            location="Stadskantoor, balie 4",
            now=now,
            **extra,
        )


async def _reminder_messages(sessions) -> list[Message]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Message).where(Message.intent.like("reminder.%")).order_by(Message.id)
            )
        )


async def test_an_appointment_plans_its_invitation_and_reminders(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    person, _ = await _person(sessions)
    now = local(2027, 6, 1, 9)
    appt = await _plan(sessions, settings, person, local(2027, 6, 14, 10, 0), now)
    async with sessions() as session:
        rows = {r.rule: r.due_at for r in await session.scalars(select(Reminder))}
        items = await session.scalar(
            select(func.count()).select_from(Appointment).where(Appointment.id == appt.id)
        )
    assert rows == {
        "invitation": now,
        "7d": local(2027, 6, 7, 10, 0),
        "1d": local(2027, 6, 13, 10, 0),
        "2h": local(2027, 6, 14, 8, 0),
    }
    assert items == 1


async def test_each_reminder_goes_out_once_when_due_in_the_persons_language(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    person, identity = await _person(sessions, language="ar")
    now = local(2027, 6, 1, 9)
    await _plan(sessions, settings, person, local(2027, 6, 14, 10, 0), now)
    dispatcher = ReminderDispatcher(sessions, settings)
    assert (await dispatcher.run(now)).sent == 1  # the invitation
    assert (await dispatcher.run(local(2027, 6, 7, 9, 59))).sent == 0  # 7d is not due yet
    assert (await dispatcher.run(local(2027, 6, 7, 10, 0))).sent == 1
    assert (await dispatcher.run(local(2027, 6, 7, 10, 5))).sent == 0  # not twice
    sent = await _reminder_messages(sessions)
    assert [m.intent for m in sent] == ["reminder.appointment.invitation", "reminder.appointment.7d"]
    reminder = sent[1]
    assert reminder.identity_id == identity.id and reminder.language == "ar"
    assert "10:00" in reminder.text and "Stadskantoor" in reminder.text
    assert reminder.translated_text and "10:00" in reminder.translated_text  # Dutch for staff
    assert [b["payload"].split(":")[1] for b in reminder.buttons or []] == ["ok", "move", "cancel"]
    assert reminder.template_kind == "appointment" and reminder.template_params
    # Nothing sensitive: not the kind of appointment, no names.
    for secret in ("PIP", "Amina", "Haddad", "Km"):
        assert secret not in reminder.text


async def test_no_reminders_for_cancelled_or_past_appointments(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    person, _ = await _person(sessions)
    now = local(2027, 6, 1, 9)
    appt = await _plan(sessions, settings, person, local(2027, 6, 14, 10, 0), now)
    other = await _plan(sessions, settings, person, local(2027, 6, 20, 10, 0), now)
    dispatcher = ReminderDispatcher(sessions, settings)
    await dispatcher.run(now)  # the two invitations
    async with transaction(sessions) as session:
        await appointments.cancel(
            session,
            settings.planning(),
            await session.get(Appointment, appt.id),
            reason="ill",
            identity_id=None,
        )
    async with transaction(sessions) as session:  # the other one lies in the past by the time we look
        await session.execute(
            update(Reminder).where(Reminder.appointment_id == other.id).values(due_at=local(2027, 6, 21, 9))
        )
    report = await dispatcher.run(local(2027, 6, 21, 9, 30))
    assert report.sent == 0
    async with sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Reminder.appointment_id, func.count())
                    .where(Reminder.status.in_(("cancelled", "skipped")))
                    .group_by(Reminder.appointment_id)
                )
            ).all()
        )
        outcomes = set(await session.scalars(select(Reminder.outcome).where(Reminder.status == "skipped")))
    assert statuses == {appt.id: 3, other.id: 3}
    assert outcomes == {"past"}


async def test_quiet_hours_hold_messages_until_morning(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    person, _ = await _person(sessions)
    await _plan(sessions, settings, person, local(2027, 6, 14, 10, 0), local(2027, 6, 1, 9))
    async with transaction(sessions) as session:
        await session.execute(update(Reminder).values(due_at=local(2027, 6, 1, 22, 30)))
    dispatcher = ReminderDispatcher(sessions, settings)
    assert (await dispatcher.run(local(2027, 6, 1, 23, 0))).sent == 0
    assert (await dispatcher.run(local(2027, 6, 2, 7, 59))).sent == 0
    assert (await dispatcher.run(local(2027, 6, 2, 8, 0))).sent == 4


async def test_stop_ends_reminders_but_not_news_about_the_appointment(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    person, identity = await _person(sessions)
    now = local(2027, 6, 1, 9)
    await _plan(sessions, settings, person, local(2027, 6, 14, 10, 0), now)
    async with transaction(sessions) as session:
        await participants.set_reminders(session, person.id, on=False, identity_id=identity.id)
    dispatcher = ReminderDispatcher(sessions, settings)
    assert (await dispatcher.run(now)).sent == 1  # the invitation still goes
    report = await dispatcher.run(local(2027, 6, 14, 9, 0))
    assert report.sent == 0 and report.skipped == 3
    async with sessions() as session:
        assert set(await session.scalars(select(Reminder.outcome).where(Reminder.status == "skipped"))) == {
            "stopped"
        }


async def test_a_person_without_a_linked_chat_is_recorded_not_lost(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    person = await make_participant(sessions, reference="WW-0099")
    now = local(2027, 6, 1, 9)
    await _plan(sessions, settings, person, local(2027, 6, 14, 10, 0), now)
    report = await ReminderDispatcher(sessions, settings).run(now)
    assert report.skipped == 1 and report.sent == 0
    async with sessions() as session:
        assert (
            await session.scalar(select(Reminder.outcome).where(Reminder.rule == "invitation")) == "no_chat"
        )


async def test_deadline_scan_makes_tasks_and_reminders_once(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    today = dt.date(2027, 6, 1)
    # PIP due 10 weeks after BRP: due 2027-06-08, so the 14-day task is due now.
    due_soon = await make_participant(sessions, reference="WW-0010", klantmanager=km)
    # Verlenging from 2.5 years after the PIP: opened 2027-05-20.
    verlenging = await make_participant(
        sessions, reference="WW-0011", klantmanager=km, pip_signed_date=dt.date(2024, 11, 20)
    )
    await linked_identity(sessions, verlenging, external_id="chat-11", language="tr")
    async with transaction(sessions) as session:
        await session.execute(
            update(Participant).where(Participant.id == due_soon.id).values(brp_date=dt.date(2027, 3, 30))
        )
        await session.execute(
            update(Participant)
            .where(Participant.id == verlenging.id)
            .values(termijn_end=dt.date(2028, 11, 20))
        )
    now = local(2027, 6, 1, 9)
    first = await deadlines.scan(sessions, settings, now=now)
    second = await deadlines.scan(sessions, settings, now=now)
    assert first.tasks == second.tasks >= 2
    async with sessions() as session:
        tasks = {(t.participant_id, t.kind) for t in await session.scalars(select(StaffTask))}
        reminders = list(await session.scalars(select(Reminder).where(Reminder.kind == "deadline")))
    assert (due_soon.id, "deadline.pip_due") in tasks
    assert (verlenging.id, "deadline.verlenging") in tasks
    assert len(tasks) == 2  # stored once, however often the scan runs
    assert [r.rule for r in reminders] == ["verlenging:0d"]
    report = await ReminderDispatcher(sessions, settings).run(now)
    assert report.sent == 1
    (message,) = await _reminder_messages(sessions)
    assert message.language == "tr" and (message.buttons or [])[0]["payload"] == "kb:waar-sta-ik"
    assert "DUO" not in message.text and "verlenging" not in message.text.lower()
    assert today  # the scan counts in the gemeente's local date


async def test_a_no_show_starts_the_ladder_and_rebooking_stops_it(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    person, identity = await _person(sessions)
    off = load_settings(  # the ladder's timing, whatever the time of day this test runs
        database_url=settings.database_url,
        secret_key="x" * 40,
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",
    )
    staff = await make_staff(sessions, "planner@example.nl", ["planner"])
    starts = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    appt = await _plan(sessions, off, person, starts, dt.datetime.now(dt.UTC))
    async with transaction(sessions) as session:  # the appointment took place without them
        await session.execute(
            update(Appointment)
            .where(Appointment.id == appt.id)
            .values(starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
    async with transaction(sessions) as session:
        await appointments.mark_attendance(
            session,
            off.planning(),
            await session.get(Appointment, appt.id),
            attended=False,
            by=await session.get(type(staff), staff.id),
        )
    dispatcher = ReminderDispatcher(sessions, off)
    now = dt.datetime.now(dt.UTC)
    report = await dispatcher.run(now)
    assert report.sent >= 1
    missed = [m for m in await _reminder_messages(sessions) if m.intent == "reminder.ladder.message_new_slot"]
    assert len(missed) == 1 and (missed[0].buttons or [])[0]["payload"] == f"ap:move:{appt.id}"
    assert (await dispatcher.run(now + dt.timedelta(days=2, minutes=1))).tasks == 1  # "call" step
    # They book a new appointment: the last step (letter or home visit) is no longer needed.
    await _plan(sessions, off, person, now + dt.timedelta(days=10), now)
    report = await dispatcher.run(now + dt.timedelta(days=7, minutes=1))
    assert report.tasks == 0
    async with sessions() as session:
        steps = dict(
            (
                await session.execute(
                    select(Reminder.rule, Reminder.outcome).where(Reminder.kind != "appointment")
                )
            ).all()
        )
        tasks = list(await session.scalars(select(StaffTask.kind)))
    assert steps == {"message_new_slot": "queued", "call": "task", "letter_or_visit": "rebooked"}
    assert tasks == ["no_show.call"]
    assert identity.id


# Reliability: several processes, and a process killed mid-dispatch ---------------------------------
def _dispatch_process(url: str, batch: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "WEGWIJS_SECRET_KEY": "x" * 40,
        "WEGWIJS_REMINDER_BATCH": str(batch),
        "WEGWIJS_QUIET_HOURS_START": "00:00",
        "WEGWIJS_QUIET_HOURS_END": "00:00",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "reminders", "dispatch"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def test_two_dispatcher_processes_send_each_reminder_once(db_url: str, sessions) -> None:  # type: ignore[no-untyped-def]
    total = await seed(sessions, participants=300, per_participant=10, due_at=dt.datetime.now(dt.UTC))
    procs = [_dispatch_process(db_url, batch=100) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    sent_by = [int(out.decode().split()[0]) for out, _ in outputs]
    assert sum(sent_by) == total, sent_by
    if db_url.startswith("postgresql"):  # SKIP LOCKED shares the work; SQLite takes turns on its one writer
        assert all(n > 0 for n in sent_by), sent_by
    result = await outcome(sessions)
    assert result == {"pending": 0, "sent": total, "messages": total, "duplicates": 0}


async def test_a_dispatcher_killed_mid_batch_loses_and_doubles_nothing(db_url: str, sessions) -> None:  # type: ignore[no-untyped-def]
    total = await seed(sessions, participants=1500, per_participant=10, due_at=dt.datetime.now(dt.UTC))
    proc = _dispatch_process(db_url, batch=500)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (await outcome(sessions))["sent"] > 0:
            break
        await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    half = await outcome(sessions)
    assert 0 < half["sent"] < total, half  # killed part-way
    assert half["messages"] == half["sent"]  # every committed batch is whole
    again = _dispatch_process(db_url, batch=500)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert await outcome(sessions) == {"pending": 0, "sent": total, "messages": total, "duplicates": 0}
