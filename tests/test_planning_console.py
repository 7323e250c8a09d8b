"""Planning in the console over HTTP: book, move, cancel, attendance, free slots, group sessions,
group messages with a preview in every language and a delivery report, tasks and document checks."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from bot.settings import Settings, load_settings
from cases.db import transaction
from cases.models import (
    Appointment,
    AuditEvent,
    Campaign,
    ChecklistItem,
    Message,
    Reminder,
    Slot,
    StaffTask,
)
from locales.catalog import t
from locales.languages import LANGUAGES
from tests.conftest import SECRET
from tests.helpers import csrf_from, linked_identity, login, make_participant, make_staff

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def settings(db_url: str) -> Settings:
    """No quiet hours here: these tests check that notices go out at once, whatever the hour they run."""
    return load_settings(
        database_url=db_url,
        secret_key=SECRET,
        cookie_secure=False,
        workers=2,
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",
    )


async def _post(client: TestClient, path: str, data: dict[str, str], page: str = "/console/agenda"):  # type: ignore[no-untyped-def]
    token = csrf_from(await (await client.get(page)).text())
    return await client.post(path, data={**data, "csrf_token": token}, allow_redirects=False)


async def _wait_for(sessions, condition, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        async with sessions() as session:
            if await condition(session):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _future(days: int, hour: int = 10) -> tuple[str, str, dt.datetime]:
    day = dt.datetime.now(AMS).date() + dt.timedelta(days=days)
    local = dt.datetime.combine(day, dt.time(hour), tzinfo=AMS)
    return day.isoformat(), f"{hour:02d}:00", local.astimezone(dt.UTC)


async def _planner_and_person(client: TestClient, sessions, language: str = "ar"):  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    await make_staff(sessions, "planner@example.nl", ["planner"])
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language=language)
    await login(client, "planner@example.nl")
    return km, person, identity


async def test_a_planner_books_moves_and_cancels_and_the_person_hears_each_time(
    client: TestClient, sessions
) -> None:  # type: ignore[no-untyped-def]
    km, person, identity = await _planner_and_person(client, sessions)
    form = await client.get(f"/console/participants/{person.id}/appointments/new")
    assert form.status == 200 and "Brede intake" in await form.text()
    day, clock, starts = _future(10)
    resp = await _post(
        client,
        f"/console/participants/{person.id}/appointments",
        {"type": "brede_intake", "date": day, "time": clock, "location": "Stadskantoor", "staff": str(km.id)},
    )
    assert resp.status == 302, await resp.text()
    async with sessions() as session:
        appt = await session.scalar(select(Appointment))
        rules = set(await session.scalars(select(Reminder.rule)))
        documents = set(await session.scalars(select(ChecklistItem.item_key)))
    assert appt is not None and appt.starts_at == starts and appt.tolk_needed  # brede intake offers a tolk
    assert rules == {"invitation", "7d", "1d", "2h"}
    assert documents == {"identiteitsbewijs", "diplomas", "werkervaring"}

    async def invited(session) -> bool:  # type: ignore[no-untyped-def]
        return bool(
            await session.scalar(
                select(Message.id).where(Message.intent == "reminder.appointment.invitation")
            )
        )

    await _wait_for(sessions, invited, "the invitation in the outbox")  # the dispatcher was woken
    detail = await client.get(f"/console/appointments/{appt.id}")
    assert detail.status == 200 and "Uitnodiging" in await detail.text()

    new_day, new_clock, new_start = _future(12, 14)
    resp = await _post(client, f"/console/appointments/{appt.id}/move", {"date": new_day, "time": new_clock})
    assert resp.status == 302

    async def moved(session) -> bool:  # type: ignore[no-untyped-def]
        return bool(
            await session.scalar(select(Message.id).where(Message.intent == "reminder.appointment.moved"))
        )

    await _wait_for(sessions, moved, "the moved notice")
    resp = await _post(client, f"/console/appointments/{appt.id}/cancel", {"reason": "other"})
    assert resp.status == 302

    async def cancelled(session) -> bool:  # type: ignore[no-untyped-def]
        return bool(
            await session.scalar(select(Message.id).where(Message.intent == "reminder.appointment.cancelled"))
        )

    await _wait_for(sessions, cancelled, "the cancellation notice")
    async with sessions() as session:
        row = await session.get(Appointment, appt.id)
        texts = list(
            await session.scalars(
                select(Message.text)
                .where(Message.direction == "out", Message.intent.like("reminder.%"))
                .order_by(Message.id)
            )
        )
        pending = await session.scalar(select(func.count()).where(Reminder.status == "pending"))
        actions = list(
            await session.scalars(select(AuditEvent.action).where(AuditEvent.actor_type == "staff"))
        )
    assert row is not None and row.status == "cancelled" and row.starts_at == new_start
    assert len(texts) == 3 and all(any("\u0600" <= c <= "\u06ff" for c in text) for text in texts)  # Arabic
    assert pending == 0
    assert {"appointment.created", "appointment.moved", "appointment.cancelled"} <= set(actions)


async def test_a_planning_mistake_gets_a_clear_answer(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    _, person, _ = await _planner_and_person(client, sessions)
    resp = await _post(
        client,
        f"/console/participants/{person.id}/appointments",
        {"type": "brede_intake", "date": "2020-01-01", "time": "10:00"},
    )
    assert resp.status == 422 and "toekomst" in await resp.text()
    resp = await _post(
        client, f"/console/participants/{person.id}/appointments", {"type": "nope", "date": "x", "time": "y"}
    )
    assert resp.status == 422


async def test_attendance_on_the_agenda_and_a_no_show_starts_the_ladder(
    client: TestClient, sessions, settings
) -> None:  # type: ignore[no-untyped-def]
    from cases.models import Participant
    from cases.services import appointments

    km, person, _ = await _planner_and_person(client, sessions)
    async with transaction(sessions) as session:
        appt = await appointments.create_appointment(
            session,
            settings.planning(),
            participant=await session.get(Participant, person.id),
            type_key="kennismakingsgesprek",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
            notify=False,
        )
        await session.execute(
            update(Appointment)
            .where(Appointment.id == appt.id)
            .values(starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30))
        )
    today = dt.datetime.now(AMS).date().isoformat()
    page = await client.get(f"/console/agenda?dag={today}")
    text = await page.text()
    assert page.status == 200 and "Kennismakingsgesprek" in text and "Niet gekomen" in text
    resp = await _post(
        client,
        f"/console/appointments/{appt.id}/attendance",
        {"attended": "0", "back": f"/console/agenda?dag={today}"},
    )
    assert resp.status == 302 and resp.headers["Location"].startswith("/console/agenda")
    async with sessions() as session:
        row = await session.get(Appointment, appt.id)
        ladder = sorted(
            await session.scalars(select(Reminder.rule).where(Reminder.kind.in_(("ladder", "task"))))
        )
    assert row is not None and row.status == "no_show"
    assert ladder == ["call", "letter_or_visit", "message_new_slot"]


async def test_slots_sessions_and_a_group_message_with_a_delivery_report(
    client: TestClient, sessions
) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    await make_staff(sessions, "teamleider@example.nl", ["teamleider"])
    people = [await make_participant(sessions, reference=f"WW-00{i}", klantmanager=km) for i in range(1, 4)]
    await linked_identity(sessions, people[0], external_id="p1", language="ti")
    await linked_identity(sessions, people[1], external_id="p2", language="so")
    await login(client, "teamleider@example.nl")

    day, clock, first = _future(5, 9)
    resp = await _post(
        client,
        "/console/slots",
        {"staff": str(km.id), "date": day, "time": clock, "count": "3", "duration": "30"},
    )
    assert resp.status == 302
    async with sessions() as session:
        starts = list(await session.scalars(select(Slot.starts_at).order_by(Slot.starts_at)))
    assert starts == [first + dt.timedelta(minutes=30 * i) for i in range(3)]

    day, clock, _ = _future(12, 13)
    resp = await _post(
        client,
        "/console/sessions",
        {"type": "pvt_bijeenkomst", "date": day, "time": clock, "location": "Wijkcentrum", "capacity": "2"},
    )
    assert resp.status == 302
    group_url = resp.headers["Location"]
    group_id = int(group_url.rsplit("/", 1)[1])
    resp = await _post(client, f"{group_url}/invite", {"references": "WW-001, WW-002, WW-003"})
    assert resp.status == 302 and "2+uitgenodigd" in resp.headers["Location"]  # capacity 2
    async with sessions() as session:
        members = list(await session.scalars(select(Appointment).where(Appointment.session_id == group_id)))
    assert len(members) == 2

    preview = await _post(
        client, "/console/campaigns", {"message": "campaign.session", "session": str(group_id)}
    )
    html = await preview.text()
    assert preview.status == 200 and "2 deelnemers" in html
    for code in LANGUAGES:  # a preview in every language
        assert t(code, "campaign.session", date="…", time="…", where="…") in html.replace("&#39;", "'")
    resp = await _post(
        client,
        "/console/campaigns",
        {"message": "campaign.session", "session": str(group_id), "action": "send"},
    )
    assert resp.status == 302
    campaign_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    async with sessions() as session:
        sent = list(await session.scalars(select(Message).where(Message.campaign_id == campaign_id)))
        campaign = await session.get(Campaign, campaign_id)
    assert (
        sorted(m.language for m in sent) == ["so", "ti"] and campaign is not None and campaign.recipients == 2
    )
    assert all("Wijkcentrum" in m.text for m in sent)
    async with transaction(sessions) as session:  # the platform reports delivery and a reading
        await session.execute(update(Message).where(Message.id == sent[0].id).values(status="read"))
        await session.execute(update(Message).where(Message.id == sent[1].id).values(status="delivered"))
    report = await (await client.get(f"/console/campaigns/{campaign_id}")).text()
    assert (
        'data-count="read">1<' in report
        and 'data-count="sent">2<' in report
        and 'data-count="failed">0<' in report
    )


async def test_tasks_and_document_checks(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    from cases.services import tasks

    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km)
    async with transaction(sessions) as session:
        from cases.models import Participant

        await tasks.add(
            session,
            participant=await session.get(Participant, person.id),
            kind="deadline.pip_due",
            text="PIP moet binnen 10 weken klaar",
            dedupe_key="t1",
        )
    await login(client, "km@example.nl")
    page = await client.get("/console/tasks")
    assert "PIP moet binnen 10 weken klaar" in await page.text()
    task_id = await _scalar(sessions, select(StaffTask.id))
    assert (await _post(client, f"/console/tasks/{task_id}/done", {}, "/console/tasks")).status == 302
    assert await _scalar(sessions, select(StaffTask.status)) == "done"
    resp = await _post(
        client, f"/console/participants/{person.id}/checklist", {"item": "bankpas"}, "/console/tasks"
    )
    assert resp.status == 302
    item_id = await _scalar(sessions, select(ChecklistItem.id))
    page = await (await client.get(f"/console/participants/{person.id}")).text()
    assert "Bankpas" in page and "Gecontroleerd" in page
    assert (await _post(client, f"/console/checklist/{item_id}/verify", {}, "/console/tasks")).status == 302
    assert await _scalar(sessions, select(ChecklistItem.status)) == "verified"
    assert (
        await _post(client, f"/console/participants/{person.id}/checklist", {"item": "<x>"}, "/console/tasks")
    ).status == 400


async def test_staff_of_another_team_cannot_plan_for_this_participant(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"], team="Team Noord")
    await make_staff(sessions, "zuid@example.nl", ["planner"], team="Team Zuid")
    person = await make_participant(sessions, klantmanager=km)
    await login(client, "zuid@example.nl")
    day, clock, _ = _future(4)
    resp = await _post(
        client,
        f"/console/participants/{person.id}/appointments",
        {"type": "brede_intake", "date": day, "time": clock},
    )
    assert resp.status == 404
    assert await _scalar(sessions, select(func.count()).select_from(Appointment)) == 0


async def test_names_in_the_agenda_are_escaped(client: TestClient, sessions, settings) -> None:  # type: ignore[no-untyped-def]
    from cases.models import Participant
    from cases.services import appointments

    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km, first_name="<script>alert(1)</script>")
    async with transaction(sessions) as session:
        await appointments.create_appointment(
            session,
            settings.planning(),
            participant=await session.get(Participant, person.id),
            type_key="pip_gesprek",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2),
            location='"><img src=x onerror=alert(1)>',
        )
    await login(client, "km@example.nl")
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).astimezone(AMS).date().isoformat()
    html = await (await client.get(f"/console/agenda?dag={day}")).text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html


async def _scalar(sessions, stmt):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return await session.scalar(stmt)
