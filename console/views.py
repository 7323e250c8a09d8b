"""Console pages: login, conversations, participants (with transcript and koppelcode), staff."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import select

from cases.db import transaction
from cases.models import STAFF_ROLES, StaffUser
from cases.services import (
    appointments,
    audit,
    checklists,
    escalations,
    identities,
    knowledge,
    koppelcode,
    messages,
    participants,
    tasks,
)
from cases.services import staff as staff_service
from console.security import (
    SESSIONS_KEY,
    SETTINGS_KEY,
    csrf_token,
    current_staff,
    end_session,
    requires,
    staff_of,
    start_login_session,
)
from locales.catalog import catalog, t
from locales.knowledge import base as knowledge_base_content
from locales.languages import LANGUAGES

routes = web.RouteTableDef()

CASE_ROLES = ("klantmanager", "teamleider")
DELIVERY_LABELS = {
    "queued": "in de wachtrij",
    "sending": "wordt verstuurd",
    "held": "wacht op reactie (WhatsApp-venster dicht)",
    "sent": "verstuurd",
    "delivered": "afgeleverd",
    "read": "gelezen",
    "failed": "mislukt",
    "dead": "opgegeven na herhaalde pogingen",
}
PARTICIPANT_LIST_ROLES = ("klantmanager", "teamleider", "planner")
KOPPELCODE_ROLES = ("klantmanager", "teamleider", "planner")
KNOWLEDGE_ROLES = ("klantmanager", "teamleider", "beheerder")
APPOINTMENT_ROLES = ("planner", "klantmanager", "teamleider")  # agenda, appointments, tasks
PLANNER_ROLES = ("planner", "teamleider")  # free slots, group sessions, group messages


async def render_page(request: web.Request, template: str, **context: object) -> web.Response:
    session = await get_session(request)
    staff = await current_staff(request)
    unread = context.pop("unread", None)  # the inbox counted it already
    if unread is None and staff is not None and staff.has_role(*CASE_ROLES):
        async with request.app[SESSIONS_KEY]() as db:
            unread = await escalations.unread_count(
                db, staff, designated_role=request.app[SETTINGS_KEY].safety_role
            )
    context.setdefault("revealed", await _revealed(request, staff))
    context.update(
        staff=staff,
        unread_escalations=unread or 0,
        csrf_token=csrf_token(session),
        languages=LANGUAGES,
        case_roles=CASE_ROLES,
        participant_roles=PARTICIPANT_LIST_ROLES,
        delivery_labels=DELIVERY_LABELS,
        knowledge_roles=KNOWLEDGE_ROLES,
        appointment_roles=APPOINTMENT_ROLES,
        planner_roles=PLANNER_ROLES,
        safety_role=request.app[SETTINGS_KEY].safety_role,
    )
    return aiohttp_jinja2.render_template(template, request, context)


REVEAL_MINUTES = 10


async def _revealed(request: web.Request, staff: StaffUser | None) -> set[int]:
    """The message a staff member just chose to reveal (``?toon=ID``), only if that was audited."""
    ident = request.query.get("toon", "")
    if staff is None or not ident.isdigit():
        return set()
    async with request.app[SESSIONS_KEY]() as db:
        recent = await audit.recent_reveal(db, staff.id, int(ident), minutes=REVEAL_MINUTES)
    return {int(ident)} if recent else set()


@routes.post("/messages/{id:\\d+}/reveal")
@requires(*CASE_ROLES)
async def reveal_message(request: web.Request) -> web.StreamResponse:
    """Show one message unmasked (BSN, IBAN, phone number): recorded in the audit trail."""
    staff = staff_of(request)
    message_id = int(request.match_info["id"])
    async with transaction(request.app[SESSIONS_KEY]) as db:
        message = await messages.get_message(db, message_id)
        conversation = (
            await messages.get_conversation(db, staff, message.conversation_id) if message else None
        )
        if message is None or conversation is None:
            raise web.HTTPNotFound(text="Bericht niet gevonden.")
        await audit.record(
            db,
            "message.revealed",
            staff=staff,
            participant_id=conversation.participant_id,
            details={"message_id": message_id},
        )
    back = request.headers.get("Referer", "")
    path = back.split("://", 1)[-1].split("/", 1)[-1] if back else ""
    target = "/" + path.split("?", 1)[0].split("#", 1)[0] if path.startswith("console/") else "/console/inbox"
    raise web.HTTPFound(f"{target}?toon={message_id}#m{message_id}")


def _home_for(staff: StaffUser) -> str:
    if staff.has_role(*CASE_ROLES):
        return "/console/inbox"
    if staff.has_role(*PARTICIPANT_LIST_ROLES):
        return "/console/participants"
    return "/console/staff"


def _next_url(request: web.Request) -> str:
    """Where to go after login: only a console path on this site (no open redirect)."""
    target = request.query.get("next", "")
    return target if target.startswith("/console/") and "//" not in target and "\\" not in target else ""


@routes.get("/")
@requires()
async def home(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    raise web.HTTPFound(_home_for(staff))


@routes.get("/login")
async def login_form(request: web.Request) -> web.StreamResponse:
    if (staff := await current_staff(request)) is not None:
        raise web.HTTPFound(_home_for(staff))
    return await render_page(request, "login.html", error=None, email="", next_url=_next_url(request))


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    settings = request.app[SETTINGS_KEY]
    async with transaction(request.app[SESSIONS_KEY]) as db:
        result = await staff_service.authenticate(
            db,
            email,
            password,
            max_failures=settings.login_max_failures,
            lock_minutes=settings.login_lock_minutes,
        )
    if result.outcome == "ok" and result.user is not None:
        await start_login_session(request, result.user)
        raise web.HTTPFound(_next_url(request) or _home_for(result.user))
    error = (
        "Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. Probeer het later opnieuw."
        if result.outcome == "locked"
        else "Onbekende combinatie van e-mailadres en wachtwoord."
    )
    response = await render_page(request, "login.html", error=error, email=email, next_url=_next_url(request))
    response.set_status(429 if result.outcome == "locked" else 401)
    return response


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    await end_session(request)
    raise web.HTTPFound("/console/login")


@routes.get("/conversations")
@requires(*CASE_ROLES)
async def conversation_list(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with request.app[SESSIONS_KEY]() as db:
        rows = await messages.list_conversations(db, staff)
    return await render_page(request, "conversations.html", rows=rows)


@routes.get("/conversations/{id:\\d+}")
@requires(*CASE_ROLES)
async def conversation_detail(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with transaction(request.app[SESSIONS_KEY]) as db:
        conversation = await messages.get_conversation(db, staff, int(request.match_info["id"]))
        if conversation is None:
            raise web.HTTPNotFound(text="Gesprek niet gevonden.")
        if conversation.participant_id is not None:
            raise web.HTTPFound(f"/console/participants/{conversation.participant_id}#gesprek")
        transcript = await messages.transcript(db, conversation.id)
        speakers = await staff_service.speakers_by_language(db)
        await audit.record(
            db, "conversation.viewed", staff=staff, details={"conversation_id": conversation.id}
        )
    return await render_page(
        request, "conversation.html", conversation=conversation, transcript=transcript, speakers=speakers
    )


@routes.get("/delivery")
@requires(*CASE_ROLES)
async def delivery_problems(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with request.app[SESSIONS_KEY]() as db:
        rows = await messages.delivery_problems(db, staff)
    return await render_page(request, "delivery.html", rows=rows)


@routes.get("/knowledge")
@requires(*KNOWLEDGE_ROLES)
async def knowledge_base(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS_KEY]() as db:
        counts = await knowledge.article_counts(db)
    kb = knowledge_base_content.default()
    return await render_page(request, "knowledge.html", kb=kb, counts=counts)


@routes.get("/knowledge/unanswered")
@requires(*KNOWLEDGE_ROLES)
async def unanswered_questions(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS_KEY]() as db:
        rows = await knowledge.unanswered(db)
    return await render_page(request, "unanswered.html", rows=rows, kb=knowledge_base_content.default())


@routes.get("/safety")
@requires()
async def safety_alerts(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    role = request.app[SETTINGS_KEY].safety_role
    if not staff.has_role(role):
        raise web.HTTPForbidden(text="Alleen voor de aangewezen rol.")
    async with transaction(request.app[SESSIONS_KEY]) as db:
        rows = await escalations.safety_alerts(db, staff, designated_role=role)
        await audit.record(db, "safety_alerts.viewed", staff=staff, details={"count": len(rows)})
    return await render_page(request, "safety.html", rows=rows)


@routes.get("/participants")
@requires(*PARTICIPANT_LIST_ROLES)
async def participant_list(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with request.app[SESSIONS_KEY]() as db:
        rows = await participants.list_visible(db, staff)
    return await render_page(request, "participants.html", rows=rows)


@routes.get("/participants/{id:\\d+}")
@requires(*PARTICIPANT_LIST_ROLES)
async def participant_detail(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    async with transaction(request.app[SESSIONS_KEY]) as db:
        participant = await participants.get_visible(db, staff, int(request.match_info["id"]))
        if participant is None:
            raise web.HTTPNotFound(text="Deelnemer niet gevonden.")
        may_read_chat = staff.has_role(*CASE_ROLES)
        transcript = await messages.participant_transcript(db, participant.id) if may_read_chat else []
        chats = await identities.linked_to(db, participant.id)
        speakers = await staff_service.speakers_by_language(db)
        all_appointments = await appointments.for_participant(db, participant.id)
        documents = await checklists.for_participant(db, participant.id)
        open_tasks = [
            task for task in await tasks.for_participant(db, participant.id) if task.status == "open"
        ]
        timeline = await audit.events_for_participant(db, participant.id, limit=100)
        await audit.record(
            db,
            "participant.viewed",
            staff=staff,
            participant_id=participant.id,
            details={"transcript": may_read_chat},
        )
    return await render_page(
        request,
        "participant.html",
        participant=participant,
        transcript=transcript,
        chats=chats,
        appointments=all_appointments,
        documents=documents,
        tasks=open_tasks,
        timeline=timeline,
        may_read_chat=may_read_chat,
        planning_roles=APPOINTMENT_ROLES,
        type_name=lambda key: t("nl", f"appointment_type.{key}"),
        document_name=lambda key: t("nl", f"document.{key}"),
        document_keys=document_keys(),
        new_code=None,
        speakers=speakers,
    )


@routes.post("/participants/{id:\\d+}/koppelcode")
@requires(*KOPPELCODE_ROLES)
async def create_koppelcode(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    settings = request.app[SETTINGS_KEY]
    async with transaction(request.app[SESSIONS_KEY]) as db:
        participant = await participants.get_visible(db, staff, int(request.match_info["id"]))
        if participant is None:
            raise web.HTTPNotFound(text="Deelnemer niet gevonden.")
        code, expires_at = await koppelcode.create_koppelcode(
            db, participant, valid_days=settings.koppelcode_valid_days, created_by=staff
        )
    return await render_page(
        request, "koppelcode.html", participant=participant, code=code, expires_at=expires_at
    )


@routes.get("/staff")
@requires("beheerder", "teamleider")
async def staff_list(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS_KEY]() as db:
        users = list(await db.scalars(select(StaffUser).order_by(StaffUser.name)))
    return await render_page(
        request, "staff.html", users=users, roles=STAFF_ROLES, error=request.query.get("fout")
    )


def document_keys() -> list[str]:
    """Every document the catalogs can name (for adding one to a case)."""
    return sorted(k.removeprefix("document.") for k in catalog("nl").messages if k.startswith("document."))
