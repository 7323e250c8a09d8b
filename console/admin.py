"""Beheer: staff accounts and teams, canned replies (Dutch with a curated text per language), office
hours, escalation keywords and the first-response target."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from cases.db import transaction
from cases.models import STAFF_ROLES, CannedReply, StaffUser
from cases.services import audit, console_settings
from cases.services import staff as staff_service
from console.security import SESSIONS_KEY, requires, staff_of
from console.views import render_page
from locales.languages import LANGUAGES
from scheduler.rules import DAYS, OfficeHours, RuleError

routes = web.RouteTableDef()
ADMIN = ("beheerder",)
PIPELINE_SETTINGS_KEY: web.AppKey[object] = web.AppKey("settings-changed", object)


@routes.get("/admin")
@requires(*ADMIN)
async def admin_home(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS_KEY]() as db:
        values = await console_settings.get_all(db)
        canned = list(await db.scalars(select(CannedReply).order_by(CannedReply.title)))
    return await render_page(
        request,
        "admin.html",
        values=values,
        days=DAYS,
        canned=canned,
        roles=STAFF_ROLES,
        error=request.query.get("fout"),
        done=request.query.get("ok"),
    )


@routes.post("/admin/settings")
@requires(*ADMIN)
async def save_settings(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        hours = OfficeHours.check(
            {
                day: [str(form.get(f"{day}_open", "")), str(form.get(f"{day}_close", ""))]
                if form.get(f"{day}_open") and form.get(f"{day}_close")
                else None
                for day in DAYS
            }
        )
        target = int(str(form.get("first_response_minutes", "")))
        promise = int(str(form.get("response_hours", "")))
        if not (5 <= target <= 7 * 24 * 60 and 1 <= promise <= 14 * 24):
            raise RuleError("doel tussen 5 minuten en 7 dagen, belofte tussen 1 uur en 14 dagen")
    except (RuleError, ValueError) as exc:
        raise web.HTTPFound(f"/console/admin?fout={exc}") from None
    keywords = sorted({k.strip() for k in str(form.get("keywords", "")).splitlines() if k.strip()})[:200]
    async with transaction(request.app[SESSIONS_KEY]) as db:
        me = await db.get(StaffUser, staff_of(request).id)
        assert me is not None
        await console_settings.put(db, "office_hours", hours, by=me)
        await console_settings.put(db, "escalation_keywords", keywords, by=me)
        await console_settings.put(db, "first_response_minutes", target, by=me)
        await console_settings.put(db, "response_hours", promise, by=me)
    if (changed := request.app.get(PIPELINE_SETTINGS_KEY)) is not None:
        changed()  # type: ignore[operator]
    raise web.HTTPFound("/console/admin?ok=Opgeslagen")


@routes.post("/admin/canned")
@requires(*ADMIN)
async def save_canned(request: web.Request) -> web.StreamResponse:
    """Add or change a canned reply; a translation left empty is machine-translated at sending (with
    a preview and back-translation for the klantmanager)."""
    form = await request.post()
    title = str(form.get("title", "")).strip()[:120]
    text_nl = str(form.get("text_nl", "")).strip()[:4000]
    if not title or not text_nl:
        raise web.HTTPFound("/console/admin?fout=Titel en Nederlandse tekst zijn nodig.")
    translations = {
        code: text
        for code in LANGUAGES
        if code != "nl" and (text := str(form.get(f"text_{code}", "")).strip()[:4000])
    }
    ident = str(form.get("id", ""))
    async with transaction(request.app[SESSIONS_KEY]) as db:
        me = staff_of(request)
        reply = await db.get(CannedReply, int(ident)) if ident.isdigit() else None
        if reply is None:
            reply = CannedReply(title=title, text_nl=text_nl, translations=translations, updated_by_id=me.id)
            db.add(reply)
        else:
            reply.title, reply.text_nl, reply.translations, reply.updated_by_id = (
                title,
                text_nl,
                translations,
                me.id,
            )
        reply.active = form.get("active", "1") == "1"
        await db.flush()
        await audit.record(db, "canned_reply.saved", staff=me, details={"canned_reply_id": reply.id})
    raise web.HTTPFound("/console/admin?ok=Standaardantwoord opgeslagen")


@routes.post("/admin/staff")
@requires(*ADMIN)
async def add_staff(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    roles = [r for r in form.getall("roles", []) if r in STAFF_ROLES]  # type: ignore[arg-type]
    languages = [code for code in form.getall("languages", []) if code in LANGUAGES]  # type: ignore[arg-type]
    if len(str(form.get("password", ""))) < 12:
        raise web.HTTPFound("/console/admin?fout=Een wachtwoord heeft minstens 12 tekens.")
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            await staff_service.create_staff(
                db,
                name=str(form.get("name", "")).strip()[:200],
                email=str(form.get("email", "")).strip()[:254],
                password=str(form.get("password", "")),
                roles=roles,
                team=str(form.get("team", "")).strip()[:120] or None,
                languages=languages,
                created_by=staff_of(request),
            )
    except staff_service.StaffError as exc:
        raise web.HTTPFound(f"/console/admin?fout={exc}") from None
    raise web.HTTPFound("/console/staff")


@routes.post("/admin/staff/{id:\\d+}")
@requires(*ADMIN)
async def edit_staff(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        async with transaction(request.app[SESSIONS_KEY]) as db:
            user = await db.get(StaffUser, int(request.match_info["id"]))
            me = await db.get(StaffUser, staff_of(request).id)
            if user is None or me is None:
                raise web.HTTPNotFound(text="Medewerker niet gevonden.")
            await staff_service.update_staff(
                db,
                user,
                roles=[r for r in form.getall("roles", []) if r in STAFF_ROLES],  # type: ignore[arg-type]
                team=str(form.get("team", "")).strip()[:120] or None,
                languages=[c for c in form.getall("languages", []) if c in LANGUAGES],  # type: ignore[arg-type]
                active=form.get("active") == "1",
                by=me,
            )
    except staff_service.StaffError as exc:
        raise web.HTTPFound(f"/console/staff?fout={exc}") from None
    raise web.HTTPFound("/console/staff")
