"""The console over HTTP: login, CSRF, lock-out, session fixation, roles, team scope, audit, escaping."""

from __future__ import annotations

import re

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from cases.db import transaction
from cases.models import AuditEvent, Message
from cases.services import identities, koppelcode
from tests.helpers import PASSWORD, csrf_from, login, make_participant, make_staff
from tests.webchat_client import ChatClient

ROUTES = [
    ("GET", "/console/conversations"),
    ("GET", "/console/conversations/{conversation}"),
    ("GET", "/console/participants"),
    ("GET", "/console/participants/{participant}"),
    ("POST", "/console/participants/{participant}/koppelcode"),
    ("GET", "/console/staff"),
    ("GET", "/console/delivery"),
    ("GET", "/console/knowledge"),
    ("GET", "/console/knowledge/unanswered"),
    ("GET", "/console/safety"),
    ("GET", "/console/agenda"),
    ("GET", "/console/tasks"),
    ("GET", "/console/participants/{participant}/appointments/new"),
    ("GET", "/console/slots"),
    ("GET", "/console/sessions"),
    ("GET", "/console/campaigns"),
    ("GET", "/console/inbox"),
    ("GET", "/console/admin"),
]
# Which roles may use each route (anonymous visitors are sent to the login page everywhere).
ALLOWED = {
    "/console/conversations": {"klantmanager", "teamleider"},
    "/console/conversations/{conversation}": {"klantmanager", "teamleider"},
    "/console/participants": {"klantmanager", "teamleider", "planner"},
    "/console/participants/{participant}": {"klantmanager", "teamleider", "planner"},
    "/console/participants/{participant}/koppelcode": {"klantmanager", "teamleider", "planner"},
    "/console/staff": {"beheerder", "teamleider"},
    "/console/delivery": {"klantmanager", "teamleider"},
    "/console/knowledge": {"klantmanager", "teamleider", "beheerder"},
    "/console/knowledge/unanswered": {"klantmanager", "teamleider", "beheerder"},
    "/console/safety": {"teamleider"},  # the designated role (WEGWIJS_SAFETY_ROLE)
    "/console/agenda": {"planner", "klantmanager", "teamleider"},
    "/console/tasks": {"planner", "klantmanager", "teamleider"},
    "/console/participants/{participant}/appointments/new": {"planner", "klantmanager", "teamleider"},
    "/console/slots": {"planner", "teamleider"},
    "/console/sessions": {"planner", "teamleider"},
    "/console/campaigns": {"planner", "teamleider"},
    "/console/inbox": {"klantmanager", "teamleider"},
    "/console/admin": {"beheerder"},
}


async def test_console_redirects_to_login_and_sets_strict_cookie(client: TestClient) -> None:
    resp = await client.get("/console", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/console/"
    resp = await client.get("/console/", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/console/login")
    page = await client.get("/console/login")
    assert page.status == 200
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


async def test_login_without_csrf_token_is_refused(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    await make_staff(sessions, "km@example.nl", ["klantmanager"])
    resp = await client.post("/console/login", data={"email": "km@example.nl", "password": PASSWORD})
    assert resp.status == 403
    await client.get("/console/login")
    resp = await client.post(
        "/console/login", data={"email": "km@example.nl", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert resp.status == 403


async def test_wrong_password_then_lock_out(client: TestClient, sessions, settings) -> None:  # type: ignore[no-untyped-def]
    await make_staff(sessions, "km@example.nl", ["klantmanager"])
    token = csrf_from(await (await client.get("/console/login")).text())
    statuses = []
    for _ in range(settings.login_max_failures):
        resp = await client.post(
            "/console/login",
            data={"email": "km@example.nl", "password": "wrong-password!", "csrf_token": token},
        )
        statuses.append(resp.status)
    assert statuses == [401] * (settings.login_max_failures - 1) + [429]
    resp = await client.post(
        "/console/login",
        data={"email": "km@example.nl", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert resp.status == 429, "the right password does not open a locked account"
    async with sessions() as session:
        assert "staff.locked_out" in list(await session.scalars(select(AuditEvent.action)))


async def test_login_gives_a_new_session_and_logout_ends_it(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    await make_staff(sessions, "km@example.nl", ["klantmanager"])
    await client.get("/console/login")
    before = client.session.cookie_jar.filter_cookies(client.make_url("/console/"))["wegwijs_console"].value
    await login(client, "km@example.nl")
    after = client.session.cookie_jar.filter_cookies(client.make_url("/console/"))["wegwijs_console"].value
    assert before != after
    page = await client.get("/console/conversations")
    assert page.status == 200
    token = csrf_from(await page.text())
    # The pre-login cookie does not carry the login (no fixation).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as planted:
        resp = await planted.get(
            client.make_url("/console/conversations"),
            headers={"Cookie": f"wegwijs_console={before}"},
            allow_redirects=False,
        )
        assert resp.status == 302
    assert (await client.post("/console/logout", data={}, allow_redirects=False)).status == 403
    resp = await client.post("/console/logout", data={"csrf_token": token}, allow_redirects=False)
    assert resp.status == 302
    assert (await client.get("/console/conversations", allow_redirects=False)).status == 302


@pytest.mark.parametrize("role", ["anonymous", "klantmanager", "planner", "teamleider", "beheerder"])
async def test_authorization_matrix(client: TestClient, sessions, role: str) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "owner@example.nl", ["klantmanager"])
    participant = await make_participant(sessions, klantmanager=km)
    chat = await ChatClient.connect(client)
    await chat.replies(3)
    await chat.close()
    async with sessions() as session:
        from cases.models import Conversation

        conversation_id = await session.scalar(select(Conversation.id))
    if role != "anonymous":
        await make_staff(sessions, f"{role}@example.nl", [role])
        await login(client, f"{role}@example.nl")
    for method, pattern in ROUTES:
        path = pattern.format(participant=participant.id, conversation=conversation_id)
        if method == "POST":
            home = await client.get("/console/", allow_redirects=True)
            token = csrf_from(await home.text()) if role != "anonymous" else "none"
            resp = await client.post(path, data={"csrf_token": token}, allow_redirects=False)
        else:
            resp = await client.get(path, allow_redirects=False)
        if role == "anonymous":
            expected = {403} if method == "POST" else {302}  # POST: no CSRF token without a session
        elif role in ALLOWED[pattern]:
            expected = {200}
        else:
            expected = {403}
        assert resp.status in expected, f"{role} {method} {pattern}: {resp.status}"


async def test_staff_see_only_their_own_team(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    noord = await make_staff(sessions, "noord@example.nl", ["klantmanager"], team="Team Noord")
    await make_staff(sessions, "zuid@example.nl", ["klantmanager"], team="Team Zuid")
    participant = await make_participant(sessions, klantmanager=noord)
    await login(client, "zuid@example.nl")
    assert (await client.get(f"/console/participants/{participant.id}")).status == 404
    listing = await (await client.get("/console/participants")).text()
    assert "WW-0001" not in listing


async def test_participant_page_is_audited_and_makes_koppelcodes(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    participant = await make_participant(sessions, klantmanager=km)
    await login(client, "km@example.nl")
    page = await client.get(f"/console/participants/{participant.id}")
    html = await page.text()
    assert page.status == 200 and "Amina Haddad" in html and "Wi2021" in html
    resp = await client.post(
        f"/console/participants/{participant.id}/koppelcode", data={"csrf_token": csrf_from(html)}
    )
    shown = re.search(r'id="koppelcode">([A-Z0-9-]+)<', await resp.text())
    assert resp.status == 200 and shown
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, "webchat", "from-console")
        outcome = await koppelcode.redeem(session, identity, shown.group(1), max_failures=5, lock_minutes=15)
    assert outcome.status == "linked"
    async with sessions() as session:
        events = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.participant_id == participant.id))
        )
    by_action = {e.action: e for e in events}
    assert by_action["participant.viewed"].actor_staff_id == km.id
    assert by_action["koppelcode.created"].actor_staff_id == km.id
    assert "chat.linked" in by_action


async def test_chat_text_is_shown_escaped_never_run(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    await make_staff(sessions, "km@example.nl", ["klantmanager"])
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    chat = await ChatClient.connect(client)
    await chat.replies(3)
    await chat.tap("consent:yes")
    await chat.replies(1)
    await chat.say(payload)
    await chat.replies(1)
    await chat.close()
    await login(client, "km@example.nl")
    listing = await (await client.get("/console/conversations")).text()
    link = re.search(r'href="(/console/conversations/\d+)"', listing)
    assert link
    page = await (await client.get(link.group(1))).text()
    for html in (listing, page):
        assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page


async def test_healthz(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "database": "ok"}


async def test_failed_and_dead_messages_are_shown_to_staff(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    from cases.services import messages, outbox

    await make_staff(sessions, "km@example.nl", ["klantmanager"])
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, "whatsapp", "31600000000")
        conversation = await messages.conversation_for(session, identity)
        messages.add_outbound(session, conversation, identity, text="Uw afspraak is morgen.", language="nl")
        messages.add_outbound(session, conversation, identity, text="Tweede bericht.", language="nl")
    for code, dead in (("131026", False), ("network", True)):
        async with transaction(sessions) as session:
            (claimed,) = await outbox.claim_due(session, ["whatsapp"], follow=0)
            await outbox.record_failed(
                session, claimed.id, code=code, detail="Message undeliverable", dead=dead
            )
    await login(client, "km@example.nl")
    page = await (await client.get("/console/delivery")).text()
    assert "131026" in page and "Uw afspraak is morgen." in page
    assert "opgegeven na herhaalde pogingen" in page and "mislukt" in page
    link = re.search(r'href="(/console/conversations/\d+)"', page)
    assert link
    transcript = await (await client.get(link.group(1))).text()
    assert "mislukt (131026: Message undeliverable)" in transcript


async def test_untranslated_messages_suggest_an_interpreter_or_a_colleague(
    client: TestClient, sessions
) -> None:  # type: ignore[no-untyped-def]
    from cases.services import messages, staff

    async with transaction(sessions) as session:
        await staff.create_staff(
            session,
            name="Selam Tesfay",
            email="selam@example.nl",
            password=PASSWORD,
            roles=["klantmanager"],
            team="Team Noord",
            languages=["ti", "nl"],
        )
        identity = await identities.get_or_create(session, "telegram", "555")
        identities.set_language(identity, "ti")
        stored = await messages.store_inbound(session, identity, external_id="u1", text="ሰላም፣ ሕቶ ኣለኒ")
        row = await session.get(Message, stored.message_id)
        assert row is not None
        row.status = "processed"
        messages.record_translation(row, language="ti", text=None, engine="unavailable", model="")
    await login(client, "selam@example.nl")
    listing = await (await client.get("/console/conversations")).text()
    link = re.search(r'href="(/console/conversations/\d+)"', listing)
    assert link
    page = await (await client.get(link.group(1))).text()
    assert "Niet vertaald" in page and "geen vertaalmodel voor het Tigrinya" in page
    assert "Vraag een tolk (Global Talk), of een collega die Tigrinya spreekt: Selam Tesfay" in page


async def test_outside_demo_the_cookie_is_secure(db_url: str) -> None:
    from aiohttp.test_utils import TestServer

    from bot.app import create_app
    from bot.settings import load_settings
    from tests.conftest import SECRET

    app = create_app(load_settings(database_url=db_url, secret_key=SECRET))  # cookie_secure defaults to on
    async with TestClient(TestServer(app, host="127.0.0.1")) as secure_client:
        cookie = (await secure_client.get("/console/login")).headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
