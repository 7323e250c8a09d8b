"""Console pages for planning: the day's agenda, appointments, free slots, group sessions, group
messages with a delivery report, staff tasks and document checks."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.db import transaction
from cases.models import Appointment, ChecklistItem, GroupSession, Participant, StaffTask, StaffUser
from cases.services import appointments, audit, campaigns, checklists, participants, reminders, tasks
from cases.services.appointments import PlanningError
from cases.services.campaigns import CampaignError
from console.security import SESSIONS_KEY, SETTINGS_KEY, requires, staff_of
from console.views import APPOINTMENT_ROLES, PLANNER_ROLES, document_keys, render_page
from locales.catalog import t

routes = web.RouteTableDef()


DISPATCHER_KEY: web.AppKey[object] = web.AppKey("dispatcher", object)
DELIVER_KEY: web.AppKey[object] = web.AppKey("deliver", object)  # pipeline.deliver(channel, identity)
LOCATION_KINDS = {
    "office": "Kantoor",
    "online": "Online",
    "phone": "Telefonisch",
    "provider": "Taalaanbieder",
}
STATUS_LABELS = {
    "planned": "gepland",
    "attended": "gekomen",
    "no_show": "niet gekomen",
    "cancelled": "geannuleerd",
}
REMINDER_STATUS = {
    "pending": "gepland",
    "sent": "in de outbox gezet",
    "done": "taak gemaakt",
    "skipped": "overgeslagen",
    "cancelled": "vervallen",
}
SKIP_REASONS = {
    "no_chat": "geen gekoppelde chat: stuur een brief of bel",
    "stopped": "deelnemer heeft herinneringen uitgezet",
    "past": "afspraak al voorbij",
    "cancelled": "afspraak geannuleerd",
    "rebooked": "nieuwe afspraak gemaakt",
    "queued": "",
    "task": "",
}
DOCUMENT_STATUS = {
    "open": "nog niet aangegeven",
    "have": "heeft het (volgens deelnemer)",
    "need_help": "hulp nodig",
    "verified": "gecontroleerd",
}


def reminder_label(kind: str, rule: str) -> str:
    """What a reminder row is, in Dutch for staff ("Herinnering 1 dag vooraf", "Uitnodiging")."""
    notices = {
        "invitation": "Uitnodiging",
        "moved": "Bericht: afspraak verzet",
        "cancelled": "Bericht: afspraak geannuleerd",
    }
    if kind == "appointment":
        if rule in notices:
            return notices[rule]
        amount, unit = rule[:-1], rule[-1:]
        units = {"d": "dag(en)", "h": "uur", "m": "minuten", "w": "week/weken"}
        return f"Herinnering {amount} {units.get(unit, unit)} vooraf"
    if kind == "deadline":
        return f"Termijnbericht ({rule})"
    return f"No-show-opvolging: {rule}"


REASON_LABELS = {
    "ill": "ziek",
    "work": "werk",
    "childcare": "geen kinderopvang",
    "other_appointment": "andere afspraak",
    "other": "andere reden",
}


def _zone(request: web.Request) -> ZoneInfo:
    return ZoneInfo(request.app[SETTINGS_KEY].timezone)


def _wake(request: web.Request) -> None:
    """Reminders or notices are due now: let the dispatcher run instead of waiting for its next turn."""
    dispatcher = request.app.get(DISPATCHER_KEY)
    if dispatcher is not None:
        dispatcher.wake()  # type: ignore[attr-defined]


def _local_datetime(request: web.Request, day: str, clock: str) -> dt.datetime:
    try:
        local = dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(clock))
    except ValueError:
        raise PlanningError("Vul een geldige datum (JJJJ-MM-DD) en tijd (UU:MM) in.") from None
    return local.replace(tzinfo=_zone(request)).astimezone(dt.UTC)


def _common(request: web.Request) -> dict[str, object]:
    settings = request.app[SETTINGS_KEY]
    return {
        "types": settings.planning().types,
        "type_name": lambda key: t("nl", f"appointment_type.{key}"),
        "document_name": lambda key: t("nl", f"document.{key}"),
        "location_kinds": LOCATION_KINDS,
        "status_labels": STATUS_LABELS,
        "reason_labels": REASON_LABELS,
        "reminder_label": reminder_label,
        "reminder_status": REMINDER_STATUS,
        "skip_reasons": SKIP_REASONS,
        "document_status": DOCUMENT_STATUS,
    }


async def _visible_appointment(db: AsyncSession, staff: StaffUser, appointment_id: int) -> Appointment:
    appointment = await db.get(Appointment, appointment_id)
    if appointment is None or await participants.get_visible(db, staff, appointment.participant_id) is None:
        raise web.HTTPNotFound(text="Afspraak niet gevonden.")
    return appointment


async def _team_staff(db: AsyncSession, staff: StaffUser) -> list[StaffUser]:
    stmt = select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name)
    if staff.team_id is not None:
        stmt = stmt.where(StaffUser.team_id == staff.team_id)
    return list(await db.scalars(stmt))


# Agenda ----------------------------------------------------------------------------------------
@routes.get("/agenda")
@requires(*APPOINTMENT_ROLES)
async def agenda(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    zone = _zone(request)
    try:
        day = dt.date.fromisoformat(request.query.get("dag", ""))
    except ValueError:
        day = dt.datetime.now(zone).date()
    async with request.app[SESSIONS_KEY]() as db:
        rows = await appointments.agenda(db, day, str(zone), team_id=staff.team_id)
    return await render_page(
        request,
        "agenda.html",
        day=day,
        previous=day - dt.timedelta(days=1),
        next=day + dt.timedelta(days=1),
        rows=rows,
        now=dt.datetime.now(dt.UTC),
        **_common(request),
    )


# Appointments ----------------------------------------------------------------------------------
@routes.get("/participants/{id:\\d+}/appointments/new")
@requires(*APPOINTMENT_ROLES)
async def new_appointment(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with request.app[SESSIONS_KEY]() as db:
        participant = await participants.get_visible(db, staff, int(request.match_info["id"]))
        if participant is None:
            raise web.HTTPNotFound(text="Deelnemer niet gevonden.")
        colleagues = await _team_staff(db, staff)
    return await render_page(
        request,
        "appointment_new.html",
        participant=participant,
        colleagues=colleagues,
        error=None,
        form={},
        **_common(request),
    )


@routes.post("/participants/{id:\\d+}/appointments")
@requires(*APPOINTMENT_ROLES)
async def create_appointment(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    form = await request.post()
    rules = request.app[SETTINGS_KEY].planning()
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            participant = await participants.get_visible(db, staff, int(request.match_info["id"]))
            if participant is None:
                raise web.HTTPNotFound(text="Deelnemer niet gevonden.")
            appointment = await appointments.create_appointment(
                db,
                rules,
                participant=participant,
                type_key=str(form.get("type", "")),
                starts_at=_local_datetime(request, str(form.get("date", "")), str(form.get("time", ""))),
                location=str(form.get("location", ""))[:300],
                location_kind=_location_kind(form),
                duration_minutes=_int(form.get("duration")),
                staff_id=_int(form.get("staff")),
                tolk_needed={"1": True, "0": False}.get(str(form.get("tolk", ""))),
                tolk_language=str(form.get("tolk_language", "")).replace("nl", "") or None,
                created_by=staff,
            )
    except PlanningError as exc:
        async with request.app[SESSIONS_KEY]() as db:
            participant = await participants.get_visible(db, staff, int(request.match_info["id"]))
            colleagues = await _team_staff(db, staff)
        response = await render_page(
            request,
            "appointment_new.html",
            participant=participant,
            colleagues=colleagues,
            error=str(exc),
            form=dict(form),
            **_common(request),
        )
        response.set_status(422)
        return response
    _wake(request)
    raise web.HTTPFound(f"/console/appointments/{appointment.id}")


def _location_kind(form: MultiDictProxy[object]) -> str | None:
    kind = str(form.get("location_kind", ""))
    return kind if kind in LOCATION_KINDS else None


def _int(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


@routes.get("/appointments/{id:\\d+}")
@requires(*APPOINTMENT_ROLES)
async def appointment_detail(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with transaction(request.app[SESSIONS_KEY]) as db:
        appointment = await _visible_appointment(db, staff, int(request.match_info["id"]))
        items = [
            i
            for i in await checklists.for_participant(db, appointment.participant_id)
            if i.appointment_id == appointment.id
        ]
        planned = [
            r
            for r in await reminders.for_participant(db, appointment.participant_id)
            if r.appointment_id == appointment.id
        ]
        await audit.record(
            db,
            "appointment.viewed",
            staff=staff,
            participant_id=appointment.participant_id,
            details={"appointment_id": appointment.id},
        )
    return await render_page(
        request,
        "appointment.html",
        appointment=appointment,
        items=items,
        planned=planned,
        now=dt.datetime.now(dt.UTC),
        error=request.query.get("fout"),
        **_common(request),
    )


@routes.post("/appointments/{id:\\d+}/move")
@requires(*APPOINTMENT_ROLES)
async def move_appointment(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    form = await request.post()
    rules = request.app[SETTINGS_KEY].planning()
    appointment_id = int(request.match_info["id"])
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            appointment = await _visible_appointment(db, staff, appointment_id)
            await appointments.move(
                db,
                rules,
                appointment,
                starts_at=_local_datetime(request, str(form.get("date", "")), str(form.get("time", ""))),
                location=str(form.get("location", appointment.location))[:300],
                location_kind=_location_kind(form),
                by=staff,
            )
    except PlanningError as exc:
        raise web.HTTPFound(f"/console/appointments/{appointment_id}?fout={exc}") from None
    _wake(request)
    raise web.HTTPFound(f"/console/appointments/{appointment_id}")


@routes.post("/appointments/{id:\\d+}/cancel")
@requires(*APPOINTMENT_ROLES)
async def cancel_appointment(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    form = await request.post()
    rules = request.app[SETTINGS_KEY].planning()
    async with transaction(request.app[SESSIONS_KEY]) as db:
        appointment = await _visible_appointment(db, staff, int(request.match_info["id"]))
        await appointments.cancel(db, rules, appointment, reason=str(form.get("reason", "other")), by=staff)
    _wake(request)
    raise web.HTTPFound(f"/console/appointments/{appointment.id}")


@routes.post("/appointments/{id:\\d+}/attendance")
@requires(*APPOINTMENT_ROLES)
async def mark_attendance(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    form = await request.post()
    rules = request.app[SETTINGS_KEY].planning()
    appointment_id = int(request.match_info["id"])
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            appointment = await _visible_appointment(db, staff, appointment_id)
            await appointments.mark_attendance(
                db, rules, appointment, attended=form.get("attended") == "1", by=staff
            )
    except PlanningError as exc:
        raise web.HTTPFound(f"/console/appointments/{appointment_id}?fout={exc}") from None
    _wake(request)
    back = str(form.get("back", ""))
    raise web.HTTPFound(
        back if back.startswith("/console/agenda") else f"/console/appointments/{appointment_id}"
    )


# Documents ------------------------------------------------------------------------------------
@routes.post("/checklist/{id:\\d+}/verify")
@requires(*APPOINTMENT_ROLES)
async def verify_document(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with transaction(request.app[SESSIONS_KEY]) as db:
        item = await db.get(ChecklistItem, int(request.match_info["id"]))
        if item is None or await participants.get_visible(db, staff, item.participant_id) is None:
            raise web.HTTPNotFound(text="Document niet gevonden.")
        await checklists.verify(db, item, by=staff)
    raise web.HTTPFound(f"/console/participants/{item.participant_id}#documenten")


@routes.post("/participants/{id:\\d+}/checklist")
@requires(*APPOINTMENT_ROLES)
async def add_document(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    form = await request.post()
    key = str(form.get("item", ""))
    participant_id = int(request.match_info["id"])
    async with transaction(request.app[SESSIONS_KEY]) as db:
        if await participants.get_visible(db, staff, participant_id) is None:
            raise web.HTTPNotFound(text="Deelnemer niet gevonden.")
        if key not in document_keys():
            raise web.HTTPBadRequest(text="Onbekend document.")
        await checklists.add_for_case(db, participant_id, key, by=staff)
    raise web.HTTPFound(f"/console/participants/{participant_id}#documenten")


# Free slots ------------------------------------------------------------------------------------
@routes.get("/slots")
@requires(*PLANNER_ROLES)
async def slot_list(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with request.app[SESSIONS_KEY]() as db:
        rows = await appointments.open_slots(db)
        colleagues = await _team_staff(db, staff)
    return await render_page(
        request,
        "slots.html",
        rows=rows,
        colleagues=colleagues,
        error=request.query.get("fout"),
        **_common(request),
    )


@routes.post("/slots")
@requires(*PLANNER_ROLES)
async def publish_slots(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    form = await request.post()
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            staff_id = _int(form.get("staff"))
            if staff_id is None or staff_id not in {c.id for c in await _team_staff(db, staff)}:
                raise PlanningError("Kies een medewerker uit uw team.")
            await appointments.publish_slots(
                db,
                staff_id=staff_id,
                first=_local_datetime(request, str(form.get("date", "")), str(form.get("time", ""))),
                count=_int(form.get("count")) or 1,
                duration_minutes=_int(form.get("duration")) or 60,
                type_key=str(form.get("type", "")) or None,
                location_kind=_location_kind(form) or "office",
                location=str(form.get("location", ""))[:300],
                created_by=staff,
            )
    except PlanningError as exc:
        raise web.HTTPFound(f"/console/slots?fout={exc}") from None
    raise web.HTTPFound("/console/slots")


# Group sessions --------------------------------------------------------------------------------
@routes.get("/sessions")
@requires(*PLANNER_ROLES)
async def session_list(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with request.app[SESSIONS_KEY]() as db:
        rows = await appointments.group_sessions_from(db, dt.datetime.now(dt.UTC) - dt.timedelta(days=7))
        colleagues = await _team_staff(db, staff)
    return await render_page(
        request,
        "sessions.html",
        rows=rows,
        colleagues=colleagues,
        error=request.query.get("fout"),
        **_common(request),
    )


@routes.post("/sessions")
@requires(*PLANNER_ROLES)
async def create_session(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    form = await request.post()
    rules = request.app[SETTINGS_KEY].planning()
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            group = await appointments.create_group_session(
                db,
                rules,
                type_key=str(form.get("type", "")),
                starts_at=_local_datetime(request, str(form.get("date", "")), str(form.get("time", ""))),
                location_kind=_location_kind(form) or "office",
                location=str(form.get("location", ""))[:300],
                staff_id=_int(form.get("staff")),
                capacity=min(_int(form.get("capacity")) or 20, 500),
                created_by=staff,
            )
    except PlanningError as exc:
        raise web.HTTPFound(f"/console/sessions?fout={exc}") from None
    raise web.HTTPFound(f"/console/sessions/{group.id}")


@routes.get("/sessions/{id:\\d+}")
@requires(*PLANNER_ROLES)
async def session_detail(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS_KEY]() as db:
        group = await db.get(GroupSession, int(request.match_info["id"]))
        if group is None:
            raise web.HTTPNotFound(text="Bijeenkomst niet gevonden.")
        members = await appointments.session_members(db, group.id)
    return await render_page(
        request,
        "session.html",
        group=group,
        members=members,
        result=request.query.get("uitgenodigd"),
        error=request.query.get("fout"),
        **_common(request),
    )


@routes.post("/sessions/{id:\\d+}/invite")
@requires(*PLANNER_ROLES)
async def invite_to_session(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    form = await request.post()
    rules = request.app[SETTINGS_KEY].planning()
    group_id = int(request.match_info["id"])
    references = [
        r.strip() for r in str(form.get("references", "")).replace("\n", ",").split(",") if r.strip()
    ]
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            group = await db.get(GroupSession, group_id)
            if group is None:
                raise web.HTTPNotFound(text="Bijeenkomst niet gevonden.")
            people = await _audience(db, staff, form, references)
            invited, skipped = await appointments.invite_to_session(db, rules, group, people, by=staff)
    except PlanningError as exc:
        raise web.HTTPFound(f"/console/sessions/{group_id}?fout={exc}") from None
    _wake(request)
    raise web.HTTPFound(
        f"/console/sessions/{group_id}?uitgenodigd={invited}+uitgenodigd,+{skipped}+overgeslagen"
    )


async def _audience(
    db: AsyncSession, staff: StaffUser, form: MultiDictProxy[object], references: list[str]
) -> list[Participant]:
    """The people a planner chose: by dossier reference, or a segment (route, provider, language, phase)."""
    if references:
        people = []
        for ref in references:
            person = await participants.find(db, ref)
            if person is None or await participants.get_visible(db, staff, person.id) is None:
                raise PlanningError(f"Dossier {ref} niet gevonden in uw team.")
            people.append(person)
        return people
    segment = {k: str(form.get(k, "")) for k in ("leerroute", "provider", "language", "phase")}
    if not any(segment.values()):
        raise PlanningError("Kies dossiers of een groep (route, aanbieder, taal of fase).")
    return await participants.segment(db, staff, **segment)


# Group messages --------------------------------------------------------------------------------
@routes.get("/campaigns")
@requires(*PLANNER_ROLES)
async def campaign_list(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS_KEY]() as db:
        return await _campaign_form(request, db, previews=None, form=dict(request.query), count=None)


@routes.post("/campaigns")
@requires(*PLANNER_ROLES)
async def send_campaign(request: web.Request) -> web.StreamResponse:
    """Preview (in every language, with the number of recipients) and then send a group message."""
    staff = staff_of(request)
    form = await request.post()
    key = str(form.get("message", ""))
    params = {"date": str(form.get("date", ""))} if str(form.get("date", "")) else {}
    zone = request.app[SETTINGS_KEY].timezone
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            group_id = _int(form.get("session"))
            session_appointments = None
            if group_id is not None:
                members = [
                    a for a in await appointments.session_members(db, group_id) if a.status == "planned"
                ]
                people = [a.participant for a in members]
                session_appointments = {a.participant_id: a for a in members}
                audience = {"session": group_id, "size": len(people)}
            else:
                people = await _audience(db, staff, form, [])
                audience = {k: str(form.get(k, "")) for k in ("leerroute", "provider", "language", "phase")}
                audience["size"] = len(people)  # type: ignore[assignment]
            if form.get("action") != "send":
                previews = campaigns.preview(key, params)
                return await _campaign_form(
                    request, db, previews=previews, form=dict(form), count=len(people)
                )
            campaign, queued = await campaigns.send(
                db,
                key=key,
                params=params,
                people=people,
                audience=audience,
                by=staff,
                zone=zone,
                session_appointments=session_appointments,
            )
    except (CampaignError, PlanningError) as exc:
        async with request.app[SESSIONS_KEY]() as db:
            response = await _campaign_form(
                request, db, previews=None, form=dict(form), count=None, error=str(exc)
            )
        response.set_status(422)
        return response
    deliver = request.app.get(DELIVER_KEY)
    if deliver is not None:
        for channel, identity_id in queued:
            await deliver(channel, identity_id)  # type: ignore[operator]
    raise web.HTTPFound(f"/console/campaigns/{campaign.id}")


async def _campaign_form(
    request: web.Request,
    db: AsyncSession,
    *,
    previews: dict[str, str] | None,
    form: dict[str, object],
    count: int | None,
    error: str | None = None,
) -> web.StreamResponse:
    groups = await appointments.group_sessions_from(db, dt.datetime.now(dt.UTC))
    return await render_page(
        request,
        "campaigns.html",
        rows=await campaigns.recent(db),
        groups=groups,
        messages=campaigns.CAMPAIGN_MESSAGES,
        previews=previews,
        form=form,
        count=count,
        error=error,
        **_common(request),
    )


@routes.get("/campaigns/{id:\\d+}")
@requires(*PLANNER_ROLES)
async def campaign_report(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS_KEY]() as db:
        from cases.models import Campaign

        campaign = await db.get(Campaign, int(request.match_info["id"]))
        if campaign is None:
            raise web.HTTPNotFound(text="Bericht niet gevonden.")
        report = await campaigns.report(db, campaign)
    return await render_page(request, "campaign.html", report=report, **_common(request))


# Tasks -----------------------------------------------------------------------------------------
@routes.get("/tasks")
@requires(*APPOINTMENT_ROLES)
async def task_list(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS_KEY]() as db:
        rows = await tasks.open_for(db, staff_of(request))
    return await render_page(request, "tasks.html", rows=rows)


@routes.post("/tasks/{id:\\d+}/done")
@requires(*APPOINTMENT_ROLES)
async def complete_task(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with transaction(request.app[SESSIONS_KEY]) as db:
        task = await db.get(StaffTask, int(request.match_info["id"]))
        if task is None or await participants.get_visible(db, staff, task.participant_id) is None:
            raise web.HTTPNotFound(text="Taak niet gevonden.")
        await tasks.complete(db, task, by=staff)
    raise web.HTTPFound("/console/tasks")
