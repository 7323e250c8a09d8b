"""AVG in the console: inzage/export of one participant (JSON and a readable page), erasure, closing a
case (retention counts from there), and the audit-log viewer for beheerders (filter, CSV export)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from aiohttp import web
from sqlalchemy import select

from cases.db import transaction
from cases.models import AuditEvent, ChannelIdentity, Conversation, Participant, StaffUser
from cases.services import audit, participants, privacy
from console.security import SESSIONS_KEY, requires, staff_of
from console.views import CASE_ROLES, render_page

routes = web.RouteTableDef()
ERASE_ROLES = ("teamleider", "beheerder")


async def _exportable(request: web.Request) -> dict[str, object]:
    staff = staff_of(request)
    participant_id = int(request.match_info["id"])
    async with transaction(request.app[SESSIONS_KEY]) as db:
        if await participants.get_visible(db, staff, participant_id) is None:
            raise web.HTTPNotFound(text="Deelnemer niet gevonden.")
        data = await privacy.export(db, participant_id)
        await audit.record(db, "participant.exported", staff=staff, participant_id=participant_id)
    return data


@routes.get("/participants/{id:\\d+}/export.json")
@requires(*CASE_ROLES)
async def export_json(request: web.Request) -> web.StreamResponse:
    data = await _exportable(request)
    return web.Response(
        text=json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="inzage-{request.match_info["id"]}.json"',
            "Cache-Control": "no-store",
        },
    )


@routes.get("/participants/{id:\\d+}/export")
@requires(*CASE_ROLES)
async def export_page(request: web.Request) -> web.StreamResponse:
    data = await _exportable(request)
    response = await render_page(request, "export.html", data=data, participant_id=request.match_info["id"])
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/participants/{id:\\d+}/close")
@requires(*CASE_ROLES)
async def close_case(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    participant_id = int(request.match_info["id"])
    async with transaction(request.app[SESSIONS_KEY]) as db:
        person = await participants.get_visible(db, staff, participant_id)
        if person is None:
            raise web.HTTPNotFound(text="Deelnemer niet gevonden.")
        person.case_closed_on = dt.date.today()
        await audit.record(db, "participant.case_closed", staff=staff, participant_id=participant_id)
    raise web.HTTPFound(f"/console/participants/{participant_id}")


@routes.post("/participants/{id:\\d+}/erase")
@requires(*ERASE_ROLES)
async def erase_participant(request: web.Request) -> web.StreamResponse:
    """Erase on request (AVG art. 17). Typing WISSEN confirms: it cannot be undone."""
    staff = staff_of(request)
    form = await request.post()
    participant_id = int(request.match_info["id"])
    if str(form.get("confirm", "")).strip().upper() != "WISSEN":
        raise web.HTTPBadRequest(text="Typ WISSEN om te bevestigen.")
    async with transaction(request.app[SESSIONS_KEY]) as db:
        person = await db.get(Participant, participant_id)
        me = await db.get(StaffUser, staff.id)
        if person is None or me is None or not _may_erase(me, person):
            raise web.HTTPNotFound(text="Deelnemer niet gevonden.")
        await privacy.erase_participant(db, participant_id, by=me)
    raise web.HTTPFound(f"/console/participants/{participant_id}")


def _may_erase(staff: StaffUser, person: Participant) -> bool:
    return staff.has_role("beheerder") or (staff.team_id is not None and staff.team_id == person.team_id)


@routes.get("/chats/{id:\\d+}")
@requires(*CASE_ROLES)
async def chat(request: web.Request) -> web.StreamResponse:
    """An unlinked chat (from a task): its conversation page."""
    async with request.app[SESSIONS_KEY]() as db:
        conversation_id = await db.scalar(
            select(Conversation.id).where(Conversation.identity_id == int(request.match_info["id"]))
        )
    if conversation_id is None:
        raise web.HTTPNotFound(text="Chat niet gevonden.")
    raise web.HTTPFound(f"/console/conversations/{conversation_id}")


@routes.post("/chats/{id:\\d+}/erase")
@requires(*ERASE_ROLES)
async def erase_chat(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    if str(form.get("confirm", "")).strip().upper() != "WISSEN":
        raise web.HTTPBadRequest(text="Typ WISSEN om te bevestigen.")
    async with transaction(request.app[SESSIONS_KEY]) as db:
        identity = await db.get(ChannelIdentity, int(request.match_info["id"]))
        me = await db.get(StaffUser, staff_of(request).id)
        if identity is None or identity.participant_id is not None or me is None:
            raise web.HTTPNotFound(text="Niet-gekoppelde chat niet gevonden.")
        await privacy.erase_identity(db, identity.id, by=me)
    raise web.HTTPFound("/console/conversations")


# The audit log ------------------------------------------------------------------------------------
def _audit_query(request: web.Request):  # type: ignore[no-untyped-def]
    q = request.query
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action := q.get("actie", "").strip():
        stmt = stmt.where(AuditEvent.action.startswith(action[:60]))
    if (staff_id := q.get("medewerker", "")).isdigit():
        stmt = stmt.where(AuditEvent.actor_staff_id == int(staff_id))
    if (participant_id := q.get("deelnemer", "")).isdigit():
        stmt = stmt.where(AuditEvent.participant_id == int(participant_id))
    for name, op in (("van", "ge"), ("tot", "lt")):
        try:
            day = dt.date.fromisoformat(q.get(name, ""))
        except ValueError:
            continue
        moment = dt.datetime.combine(
            day + dt.timedelta(days=1 if op == "lt" else 0), dt.time(), tzinfo=dt.UTC
        )
        stmt = stmt.where(AuditEvent.at >= moment if op == "ge" else AuditEvent.at < moment)
    return stmt


@routes.get("/audit")
@requires("beheerder")
async def audit_log(request: web.Request) -> web.StreamResponse:
    """Who saw or changed what, when: filterable, exportable as CSV."""
    async with transaction(request.app[SESSIONS_KEY]) as db:
        export_csv = request.query.get("formaat") == "csv"
        rows = list(await db.scalars(_audit_query(request).limit(100_000 if export_csv else 500)))
        names = {u.id: u.name for u in await db.scalars(select(StaffUser))}
        await audit.record(
            db, "audit.viewed", staff=staff_of(request), details={"csv": export_csv, "rows": len(rows)}
        )
    if export_csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "tijd", "wie", "medewerker", "actie", "deelnemer", "details"])
        for e in rows:
            writer.writerow(
                [
                    e.id,
                    e.at.isoformat(),
                    e.actor_type,
                    names.get(e.actor_staff_id or 0, ""),
                    e.action,
                    e.participant_id or "",
                    json.dumps(e.details, ensure_ascii=False),
                ]
            )
        return web.Response(
            text=out.getvalue(),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"', "Cache-Control": "no-store"},
        )
    return await render_page(request, "audit.html", rows=rows, names=names, query=dict(request.query))
