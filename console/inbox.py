"""The escalation inbox: conversations that need a person, live; the conversation view with a reply in
Dutch (translation preview and back-translation), canned replies, private notes, assignment,
resolve and hand back to the bot."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.db import transaction
from cases.models import CannedReply, ChannelIdentity, Conversation, Escalation, Participant, StaffUser
from cases.services import appointments, audit, console_settings, escalations, messages
from cases.services import staff as staff_service
from cases.services.escalations import ACTIVE, OUTCOMES, EscalationError, InboxFilter
from console.planning import DELIVER_KEY
from console.security import SESSIONS_KEY, SETTINGS_KEY, requires, staff_of
from console.views import CASE_ROLES, render_page
from locales.catalog import t
from locales.translation.engine import TranslationService

routes = web.RouteTableDef()

TRANSLATOR_KEY: web.AppKey[object] = web.AppKey("translator", object)
LIVE_POLL_SECONDS = 1.5
REASON_LABELS = {
    "person_requested": "vraagt om een medewerker",
    "not_understood": "bot begreep de vraag niet",
    "topic": "onderwerp met persoonlijk advies",
    "keyword": "trefwoord",
    "safety": "veiligheid (vertrouwelijk)",
}
STATUS_LABELS = {
    "open": "nieuw",
    "assigned": "in behandeling",
    "waiting": "wacht op inburgeraar",
    "resolved": "afgerond",
}
OUTCOME_LABELS = {
    "answered": "beantwoord",
    "referred": "doorverwezen",
    "appointment_made": "afspraak gemaakt",
    "no_response": "geen reactie",
    "duplicate": "dubbel",
    "other": "anders",
}


def _role(request: web.Request) -> str:
    return request.app[SETTINGS_KEY].safety_role


async def _target(db: AsyncSession) -> int:
    return int((await console_settings.get_all(db))["first_response_minutes"])


def _filters(request: web.Request) -> InboxFilter:
    q = request.query
    return InboxFilter(
        status=q.get("status", "active")
        if q.get("status") in (*ACTIVE, "active", "resolved", "all")
        else "active",
        mine=q.get("mine") == "1",
        language=q.get("taal", "")[:8],
        priority=q.get("prioriteit", "") if q.get("prioriteit") in ("normal", "high", "urgent") else "",
        search=q.get("zoek", "")[:100],
    )


@routes.get("/inbox")
@requires(*CASE_ROLES)
async def inbox(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    filters = _filters(request)
    async with request.app[SESSIONS_KEY]() as db:
        target = await _target(db)
        rows = await escalations.inbox(
            db, staff, designated_role=_role(request), target_minutes=target, filters=filters
        )
        unread = await escalations.unread_count(db, staff, designated_role=_role(request))
    template = "_inbox_rows.html" if request.query.get("deel") == "rijen" else "inbox.html"
    return await render_page(
        request,
        template,
        rows=rows,
        unread=unread,
        filters=filters,
        target=target,
        reason_labels=REASON_LABELS,
        status_labels=STATUS_LABELS,
    )


@routes.get("/inbox/live")
@requires(*CASE_ROLES)
async def inbox_live(request: web.Request) -> web.StreamResponse:
    """Server-sent events: "changed" whenever something in this person's inbox changes (works across
    processes: it watches the database, not one process's memory)."""
    staff = staff_of(request)
    escalation_id = request.query.get("gesprek", "")
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    last = None
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
        while True:
            async with request.app[SESSIONS_KEY]() as db:
                current = await escalations.version(db, staff, designated_role=_role(request))
                if escalation_id.isdigit():
                    current += ":" + str(await _conversation_version(db, int(escalation_id)))
                unread = await escalations.unread_count(db, staff, designated_role=_role(request))
            if current != last:
                payload = json.dumps({"unread": unread})
                await response.write(f"event: changed\ndata: {payload}\n\n".encode())
                last = current
            else:
                await response.write(b": ping\n\n")
            await asyncio.sleep(LIVE_POLL_SECONDS)
    return response


async def _conversation_version(db: AsyncSession, escalation_id: int) -> int:
    escalation = await db.get(Escalation, escalation_id)
    if escalation is None:
        return 0
    return await messages.last_message_id(db, escalation.conversation_id)


@dataclass(frozen=True)
class Preview:
    dutch: str
    translated: str | None
    back: str | None
    engine: str
    language: str
    canned: bool


async def _preview(
    request: web.Request, escalation: Escalation, dutch: str, canned: CannedReply | None
) -> Preview:
    """The reply in the person's language, and translated back to Dutch so staff can check it."""
    language = escalation.language or "nl"
    if language == "nl":
        return Preview(dutch, dutch, None, "identity", language, False)
    if canned is not None and canned.text_nl.strip() == dutch.strip() and canned.translations.get(language):
        return Preview(dutch, canned.translations[language], None, "canned", language, True)
    translator: TranslationService | None = request.app.get(TRANSLATOR_KEY)  # type: ignore[assignment]
    if translator is None:
        return Preview(dutch, None, None, "unavailable", language, False)
    there = await translator.translate(dutch, "nl", language)
    if not there.available:
        return Preview(dutch, None, None, "unavailable", language, False)
    back = await translator.translate(there.text or "", language, "nl")
    return Preview(dutch, there.text, back.text, there.engine, language, False)


async def _view(request: web.Request, escalation_id: int, **extra: object) -> web.StreamResponse:
    staff = staff_of(request)
    async with transaction(request.app[SESSIONS_KEY]) as db:
        escalation = await escalations.get_visible(db, staff, escalation_id, designated_role=_role(request))
        if escalation is None:
            raise web.HTTPNotFound(text="Gesprek niet gevonden.")
        conversation = await db.get(Conversation, escalation.conversation_id)
        identity = await db.get(ChannelIdentity, escalation.identity_id)
        participant = (
            await db.get(Participant, escalation.participant_id) if escalation.participant_id else None
        )
        transcript = await messages.transcript(db, escalation.conversation_id)
        upcoming = await appointments.upcoming(db, participant.id, limit=1) if participant else []
        notes = await escalations.notes(db, escalation.id)
        canned = list(
            await db.scalars(
                select(CannedReply).where(CannedReply.active.is_(True)).order_by(CannedReply.title)
            )
        )
        colleagues = [s for s in await _colleagues(db, staff) if s.id != staff.id]
        speakers = await staff_service.speakers_by_language(db)
        await escalations.mark_seen(db, escalation, staff)
        await audit.record(
            db,
            "escalation.viewed",
            staff=staff,
            participant_id=escalation.participant_id,
            details={"escalation_id": escalation.id},
        )
    question = [
        m
        for m in transcript
        if m.direction == "in" and m.kind == "text" and m.intent not in ("koppelcode", "greeting")
    ][-3:]
    return await render_page(
        request,
        "escalation.html",
        escalation=escalation,
        conversation=conversation,
        identity=identity,
        participant=participant,
        transcript=transcript,
        next_appointment=upcoming[0] if upcoming else None,
        question=question,
        notes=notes,
        canned=canned,
        colleagues=colleagues,
        speakers=speakers,
        reason_labels=REASON_LABELS,
        status_labels=STATUS_LABELS,
        outcomes={k: OUTCOME_LABELS[k] for k in OUTCOMES},
        type_name=lambda key: t("nl", f"appointment_type.{key}"),
        preview=extra.get("preview"),
        draft=extra.get("draft", ""),
        canned_id=extra.get("canned_id"),
        error=extra.get("error") or request.query.get("fout"),
    )


async def _colleagues(db: AsyncSession, staff: StaffUser) -> list[StaffUser]:
    stmt = select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name)
    if staff.team_id is not None:
        stmt = stmt.where(StaffUser.team_id == staff.team_id)
    return [s for s in await db.scalars(stmt) if s.has_role(*CASE_ROLES)]


@routes.get("/escalations/{id:\\d+}")
@requires(*CASE_ROLES)
async def escalation_detail(request: web.Request) -> web.StreamResponse:
    return await _view(request, int(request.match_info["id"]))


@routes.post("/escalations/{id:\\d+}/reply")
@requires(*CASE_ROLES)
async def reply(request: web.Request) -> web.StreamResponse:
    """First "Voorbeeld" (translation and back-translation), then "Versturen" with the same text."""
    staff = staff_of(request)
    form = await request.post()
    escalation_id = int(request.match_info["id"])
    dutch = str(form.get("text", "")).strip()[:4000]
    canned_id = str(form.get("canned", ""))
    async with request.app[SESSIONS_KEY]() as db:
        escalation = await escalations.get_visible(db, staff, escalation_id, designated_role=_role(request))
        if escalation is None:
            raise web.HTTPNotFound(text="Gesprek niet gevonden.")
        canned = await db.get(CannedReply, int(canned_id)) if canned_id.isdigit() else None
    if canned is not None and not dutch:
        dutch = canned.text_nl
    if not dutch:
        return await _view(request, escalation_id, error="Schrijf eerst een antwoord.")
    preview = await _preview(request, escalation, dutch, canned)
    if form.get("action") != "send" or str(form.get("previewed", "")) != dutch:
        return await _view(
            request, escalation_id, preview=preview, draft=dutch, canned_id=canned.id if canned else None
        )
    if preview.translated is None and form.get("send_dutch") != "1":
        return await _view(
            request,
            escalation_id,
            preview=preview,
            draft=dutch,
            error="Er is geen vertaling: vink aan dat het in het Nederlands mag.",
        )
    async with transaction(request.app[SESSIONS_KEY]) as db:
        escalation = await escalations.get_visible(db, staff, escalation_id, designated_role=_role(request))
        if escalation is None or escalation.status == "resolved":
            raise web.HTTPFound(f"/console/escalations/{escalation_id}?fout=Dit gesprek is al afgerond.")
        identity = await db.get(ChannelIdentity, escalation.identity_id)
        conversation = await db.get(Conversation, escalation.conversation_id)
        assert identity is not None and conversation is not None
        language = preview.language if preview.translated is not None else "nl"
        body = preview.translated if preview.translated is not None else dutch
        message = messages.add_outbound(
            db,
            conversation,
            identity,
            text=f"{t(language, 'person.staff_label')}\n{body}",
            language=language,
            intent="staff_reply",
            author=await db.get(StaffUser, staff.id),
            dutch=None if language == "nl" else f"{t('nl', 'person.staff_label')}\n{dutch}",
        )
        if language != "nl":
            message.translation_engine = preview.engine
        await db.flush()
        await escalations.record_reply(db, escalation, message, by=staff)
        channel, identity_id = identity.channel, identity.id
    deliver = request.app.get(DELIVER_KEY)
    if deliver is not None:
        await deliver(channel, identity_id)  # type: ignore[operator]
    raise web.HTTPFound(f"/console/escalations/{escalation_id}#gesprek")


@routes.post("/escalations/{id:\\d+}/take")
@requires(*CASE_ROLES)
async def take(request: web.Request) -> web.StreamResponse:
    return await _change(request, "take")


@routes.post("/escalations/{id:\\d+}/assign")
@requires(*CASE_ROLES)
async def assign(request: web.Request) -> web.StreamResponse:
    return await _change(request, "assign")


@routes.post("/escalations/{id:\\d+}/note")
@requires(*CASE_ROLES)
async def note(request: web.Request) -> web.StreamResponse:
    return await _change(request, "note")


@routes.post("/escalations/{id:\\d+}/resolve")
@requires(*CASE_ROLES)
async def resolve(request: web.Request) -> web.StreamResponse:
    return await _change(request, "resolve")


async def _change(request: web.Request, action: str) -> web.StreamResponse:
    staff = staff_of(request)
    form = await request.post()
    escalation_id = int(request.match_info["id"])
    handed_back: tuple[str, int] | None = None
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            escalation = await escalations.get_visible(
                db, staff, escalation_id, designated_role=_role(request)
            )
            if escalation is None:
                raise web.HTTPNotFound(text="Gesprek niet gevonden.")
            me = await db.get(StaffUser, staff.id)
            assert me is not None
            if action == "take":
                await escalations.assign(db, escalation, me, by=me)
            elif action == "assign":
                to_id = str(form.get("to", ""))
                colleague = await db.get(StaffUser, int(to_id)) if to_id.isdigit() else None
                if colleague is None or colleague.id not in {c.id for c in await _colleagues(db, me)}:
                    raise EscalationError("Kies een collega uit uw team.")
                await escalations.assign(db, escalation, colleague, by=me)
            elif action == "note":
                text = str(form.get("text", "")).strip()
                if not text:
                    raise EscalationError("Een notitie mag niet leeg zijn.")
                await escalations.add_note(db, escalation, text, by=me)
            elif action == "resolve":
                await escalations.resolve(db, escalation, outcome=str(form.get("outcome", "")), by=me)
                handed_back = await _say_handback(db, escalation)
    except EscalationError as exc:
        raise web.HTTPFound(f"/console/escalations/{escalation_id}?fout={exc}") from None
    if handed_back is not None and (deliver := request.app.get(DELIVER_KEY)) is not None:
        await deliver(*handed_back)  # type: ignore[operator]
    if action == "resolve":
        raise web.HTTPFound("/console/inbox")
    raise web.HTTPFound(f"/console/escalations/{escalation_id}")


async def _say_handback(db: AsyncSession, escalation: Escalation) -> tuple[str, int] | None:
    """Tell the person the bot is back (in their language, Dutch kept for staff)."""
    identity = await db.get(ChannelIdentity, escalation.identity_id)
    conversation = await db.get(Conversation, escalation.conversation_id)
    if identity is None or conversation is None or escalation.confidential:
        return None  # a safety alert is not "closed" towards the person by a chat message
    language = identity.language or "nl"
    messages.add_outbound(
        db,
        conversation,
        identity,
        text=t(language, "person.handback"),
        buttons=[{"label": t(language, "menu.button.menu"), "payload": "menu"}],
        language=language,
        intent="handback",
        dutch=None if language == "nl" else t("nl", "person.handback"),
    )
    return identity.channel, identity.id
