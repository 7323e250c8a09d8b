"""Appointments in the chat: see them in your language, confirm, cancel with a reason, pick a new
time, ask for a tolk, get a calendar file, mark documents, stop reminders. Through the real pipeline."""

from __future__ import annotations

import datetime as dt
import itertools

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.pipeline import Pipeline
from cases.db import transaction
from cases.models import (
    Appointment,
    AuditEvent,
    ChecklistItem,
    Message,
    Participant,
    Reminder,
    Slot,
    StaffTask,
)
from cases.services import appointments
from dialogs.vocabulary import STOP_WORDS
from locales.catalog import format_local_datetime, t
from locales.languages import LANGUAGES
from tests.helpers import linked_identity, make_participant, make_staff

_ids = itertools.count(1)


class Chat:
    """One linked person talking to the pipeline."""

    def __init__(self, pipeline: Pipeline, identity) -> None:  # type: ignore[no-untyped-def]
        self.pipeline = pipeline
        self.identity = identity

    async def send(self, text: str = "", payload: str | None = None) -> list[Message]:
        kind = "button" if payload else "text"
        await self.pipeline.accept(
            self.identity, external_id=f"m{next(_ids)}", kind=kind, text=text, payload=payload, schedule=False
        )
        turns = await self.pipeline.process(self.identity.id)
        ids = [i for turn in turns for i in turn.outbound_ids]
        async with self.pipeline.sessions() as session:
            return list(
                await session.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id))
            )


async def _setup(sessions, settings, language: str = "nl", days: int = 5):  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language=language)
    async with transaction(sessions) as session:
        appt = await appointments.create_appointment(
            session,
            settings.planning(),
            participant=await session.get(Participant, person.id),
            type_key="brede_intake",
            starts_at=(dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(
                minute=0, second=0, microsecond=0
            ),
            location="Stadskantoor, balie 4",
            staff_id=km.id,
            tolk_needed=False,
        )
    return Chat(Pipeline(sessions, settings), identity), person, appt, km


def _payloads(message: Message) -> list[str]:
    return [b["payload"] for b in message.buttons or []]


async def test_my_appointments_in_arabic_with_time_place_and_documents(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    chat, _, appt, _ = await _setup(sessions, settings, language="ar")
    (reply,) = await chat.send(payload="menu:appointments")
    date, time = format_local_datetime(appt.starts_at, "ar", settings.timezone)
    assert date in reply.text and time in reply.text
    assert "Stadskantoor, balie 4" in reply.text
    assert t("ar", "document.diplomas") in reply.text  # what to bring, in Arabic
    assert t("ar", "appointment_type.brede_intake") in reply.text
    assert reply.translated_text and t("nl", "document.diplomas") in reply.translated_text  # Dutch for staff
    assert {f"ap:ok:{appt.id}", f"ap:move:{appt.id}", f"ap:cancel:{appt.id}", f"ap:tolk:{appt.id}"} <= set(
        _payloads(reply)
    )


async def test_confirm_tolk_and_cancel_land_on_the_appointment_and_in_the_timeline(
    sessions, settings
) -> None:  # type: ignore[no-untyped-def]
    chat, person, appt, _ = await _setup(sessions, settings, language="tr")
    (reply,) = await chat.send(payload=f"ap:ok:{appt.id}")
    assert t("tr", "appointments.confirmed").split("{")[0] in reply.text
    (reply,) = await chat.send(payload=f"ap:tolk:{appt.id}")
    assert "Türkçe" in reply.text
    (ask,) = await chat.send(payload=f"ap:cancel:{appt.id}")
    assert f"ap:why:{appt.id}:work" in _payloads(ask) and f"ap:move:{appt.id}" in _payloads(ask)
    (done,) = await chat.send(payload=f"ap:why:{appt.id}:work")
    assert done.text == t("tr", "appointments.cancelled")
    async with sessions() as session:
        row = await session.get(Appointment, appt.id)
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.participant_id == person.id, AuditEvent.actor_type == "chat")
                .order_by(AuditEvent.id)
            )
        )
        pending = list(await session.scalars(select(Reminder).where(Reminder.status == "pending")))
    assert row is not None and row.confirmed_at is not None
    assert row.tolk_needed and row.tolk_language == "tr"
    assert row.status == "cancelled" and row.cancel_reason == "work" and row.cancelled_by == "participant"
    assert actions == [
        "chat.linked",
        "appointment.confirmed",
        "appointment.tolk_requested",
        "appointment.cancelled",
    ]
    assert pending == []  # reminders end with the appointment
    # A tap on the old reminder button now gets a clear answer, and changes nothing.
    (late,) = await chat.send(payload=f"ap:ok:{appt.id}")
    assert late.text == t("tr", "appointments.not_found")


async def test_a_new_time_from_free_slots_in_other_parts_of_the_day(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    chat, person, appt, km = await _setup(sessions, settings)
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=8)).date()
    async with transaction(sessions) as session:
        for hour in (8, 9, 10, 13, 14, 18, 19):  # local morning, afternoon and evening
            local = dt.datetime.combine(day, dt.time(hour)).replace(tzinfo=dt.timezone(dt.timedelta(hours=1)))
            session.add(
                Slot(
                    staff_id=km.id,
                    starts_at=local.astimezone(dt.UTC),
                    duration_minutes=60,
                    location="Kamer 1",
                )
            )
    (offer,) = await chat.send(payload=f"ap:move:{appt.id}")
    slots = [p for p in _payloads(offer) if p.startswith("ap:slot:")]
    async with sessions() as session:
        offered = [await session.get(Slot, int(p.rsplit(":", 1)[1])) for p in slots]
    parts = {appointments.part_of_day(s.starts_at, settings.timezone) for s in offered if s}
    assert parts == {0, 1, 2} and len(slots) == 6  # two per part of the day
    chosen = offered[-1]
    assert chosen is not None
    (booked,) = await chat.send(payload=slots[-1])
    date, time = format_local_datetime(chosen.starts_at, "nl", settings.timezone)
    assert booked.text == t("nl", "appointments.moved", date=date, time=time)
    async with sessions() as session:
        row = await session.get(Appointment, appt.id)
        slot = await session.get(Slot, chosen.id)
        reminders = list(await session.scalars(select(Reminder).where(Reminder.appointment_id == appt.id)))
    assert row is not None and row.starts_at == chosen.starts_at and row.location == "Kamer 1"
    assert slot is not None and slot.appointment_id == appt.id
    pending = {r.rule: r.due_at for r in reminders if r.status == "pending"}
    assert pending["1d"].astimezone(dt.UTC) == chosen.starts_at - dt.timedelta(days=1)  # planned again
    # Someone else can no longer take that slot.
    (again,) = await chat.send(payload=slots[-1])
    assert again.text == t("nl", "appointments.slots.taken")


async def test_no_free_slot_asks_the_klantmanager(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    chat, person, appt, km = await _setup(sessions, settings)
    (reply,) = await chat.send(payload=f"ap:move:{appt.id}")
    assert reply.text == t("nl", "appointments.slots.none")
    async with sessions() as session:
        task = await session.scalar(select(StaffTask))
        row = await session.get(Appointment, appt.id)
    assert task is not None and task.kind == "reschedule" and task.staff_id == km.id
    assert row is not None and row.reschedule_requested_at is not None and row.status == "planned"


async def test_someone_elses_appointment_cannot_be_touched(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    chat, _, appt, _ = await _setup(sessions, settings)
    other = await make_participant(sessions, reference="WW-0002", first_name="Olena")
    async with transaction(sessions) as session:
        theirs = await appointments.create_appointment(
            session,
            settings.planning(),
            participant=await session.get(Participant, other.id),
            type_key="pip_gesprek",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=4),
        )
    for payload in (
        f"ap:ok:{theirs.id}",
        f"ap:why:{theirs.id}:ill",
        f"ap:move:{theirs.id}",
        f"ap:show:{theirs.id}",
    ):
        (reply,) = await chat.send(payload=payload)
        assert reply.text == t("nl", "appointments.not_found"), payload
    async with sessions() as session:
        row = await session.get(Appointment, theirs.id)
    assert row is not None and row.status == "planned" and row.confirmed_at is None


async def test_documents_can_be_marked_and_help_reaches_staff(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    chat, person, appt, km = await _setup(sessions, settings, language="uk")
    (listing,) = await chat.send(payload="menu:documents")
    assert t("uk", "document.identiteitsbewijs") in listing.text
    items = [p for p in _payloads(listing) if p.startswith("doc:item:")]
    assert len(items) == 3
    first, second = (int(p.rsplit(":", 1)[1]) for p in items[:2])
    (ask,) = await chat.send(payload=f"doc:item:{first}")
    assert _payloads(ask)[:2] == [f"doc:have:{first}", f"doc:help:{first}"]
    await chat.send(payload=f"doc:have:{first}")
    (helped,) = await chat.send(payload=f"doc:help:{second}")
    assert helped.intent == "documents.need_help"
    async with sessions() as session:
        statuses = dict((await session.execute(select(ChecklistItem.id, ChecklistItem.status))).all())
        task = await session.scalar(select(StaffTask).where(StaffTask.kind == "document_help"))
    assert statuses[first] == "have" and statuses[second] == "need_help"
    assert task is not None and task.staff_id == km.id


async def test_stop_in_every_language_turns_reminders_off_and_the_button_turns_them_on(
    sessions, settings
) -> None:  # type: ignore[no-untyped-def]
    chat, person, _, _ = await _setup(sessions, settings)
    words = {
        "nl": "STOP",
        "en": "stop",
        "ar": "توقف",
        "ti": "ኣቁም",
        "fa": "لغو",
        "tr": "dur",
        "uk": "стоп",
        "so": "jooji",
    }
    assert set(words) == set(LANGUAGES) and all(
        w.lower() in {s.lower() for s in STOP_WORDS} for w in words.values()
    )
    for word in words.values():
        (reply,) = await chat.send(word)
        assert reply.intent == "reminders.stop"
        assert "rem:start" in _payloads(reply)
        async with sessions() as session:
            assert (await session.get(Participant, person.id)).reminders_stopped_at is not None  # type: ignore[union-attr]
        (back,) = await chat.send(payload="rem:start")
        assert back.intent == "reminders.on"
        async with sessions() as session:
            assert (await session.get(Participant, person.id)).reminders_stopped_at is None  # type: ignore[union-attr]
    (question,) = await chat.send("stop ik met de taallessen als ik werk?")
    assert question.intent != "reminders.stop"  # a question that contains "stop" is a question


async def test_a_calendar_file_only_for_the_holder_of_the_link(
    client: TestClient, sessions, settings, app
) -> None:  # type: ignore[no-untyped-def]
    from bot.app import PIPELINE_KEY

    chat, _, appt, _ = await _setup(sessions, settings)
    chat.pipeline = app[PIPELINE_KEY]
    (reply,) = await chat.send(payload=f"ap:ics:{appt.id}")
    url = reply.text.split()[-1]
    path = url.split(str(settings.port), 1)[-1] if "://" in url else url
    path = "/" + path.split("/", 3)[3] if path.startswith("http") else path
    resp = await client.get(path)
    assert resp.status == 200 and resp.content_type == "text/calendar"
    body = await resp.text()
    assert "BEGIN:VEVENT" in body and "LOCATION:Stadskantoor\\, balie 4" in body
    assert appt.starts_at.strftime("%Y%m%dT%H%M%SZ") in body
    assert "Haddad" not in body and "Amina" not in body
    forged = path.rsplit("/", 1)[0] + "/" + "0" * 32 + ".ics"
    assert (await client.get(forged)).status == 404
