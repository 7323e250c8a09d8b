"""The escalation inbox: triggers, routing, take and assign, replies in Dutch delivered in the person's
language (with preview and back-translation), notes, resolve and hand back, live updates, security."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import PIPELINE_KEY
from cases.db import transaction
from cases.models import AuditEvent, Conversation, Escalation, EscalationNote, Message
from dialogs import engine
from dialogs.model import Context, Inbound, RequestHandoff
from locales.catalog import format_local_datetime, t
from locales.translation import packages
from tests.argos_packages import build
from tests.helpers import consented_identity, csrf_from, linked_identity, login, make_participant, make_staff

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("inbox-models")
    return [build(out, s, t_, seed=n) for n, (s, t_) in enumerate((("nl", "en"), ("en", "nl")))]


@pytest.fixture
def models(tmp_path: Path, tiny_models: list[Path]) -> Path:
    """Dutch ↔ English installed (random-weight test models: the output is not real English)."""
    directory = tmp_path / "models"
    packages.use_directory(directory)
    for path in tiny_models:
        packages.install_file(path)
    return directory


# Triggers and what the bot says (pure) -------------------------------------------------------------
def _ctx(**extra: object) -> Context:
    extra.setdefault("state", {"step": "menu"})
    return Context(language="en", consented=True, **extra)  # type: ignore[arg-type]


def test_asking_for_a_person_says_when_an_answer_comes() -> None:
    result = engine.handle(_ctx(response_hours=8), Inbound("button", payload="menu:person"))
    assert RequestHandoff("person_requested") in result.effects and result.escalated
    assert t("en", "person.expect.open", hours=8) in result.replies[0].text
    opens = dt.datetime(2027, 6, 14, 6, 30, tzinfo=dt.UTC)  # Monday 08:30 in Amsterdam
    closed = engine.handle(
        _ctx(office_open=False, office_opens=opens), Inbound("button", payload="menu:person")
    )
    date, time = format_local_datetime(opens, "en")
    assert t("en", "person.expect.closed", when=f"{date} {time}") in closed.replies[0].text
    assert time in closed.replies[0].text and closed.replies[0].dutch and "08:30" in closed.replies[0].dutch


def test_two_questions_without_an_answer_bring_in_a_person() -> None:
    first = engine.handle(_ctx(), Inbound("text", text="zxqv blorp fnarg wibble"))
    assert not first.escalated and first.state["misses"] == 1
    second = engine.handle(_ctx(state=first.state), Inbound("text", text="qwpoe lkjh zzzz mnbv"))
    assert second.escalated and RequestHandoff("not_understood") in second.effects
    assert second.replies[0].text.startswith(t("en", "person.not_understood"))


def test_a_staff_keyword_brings_in_a_person() -> None:
    result = engine.handle(_ctx(keywords=("advocaat",)), Inbound("text", text="Ik heb een ADVOCAAT nodig"))
    assert RequestHandoff("keyword") in result.effects
    assert not engine.handle(_ctx(keywords=("advocaat",)), Inbound("text", text="advocaatje")).escalated


def test_while_staff_handle_it_the_bot_acknowledges_but_safety_and_menu_work() -> None:
    state = {"step": "handoff"}
    waiting = engine.handle(_ctx(state=state), Inbound("text", text="wat is een PIP?"))
    assert waiting.intent == "handoff_message" and waiting.replies[0].text == t("en", "person.waiting")
    danger = engine.handle(_ctx(state=state), Inbound("text", text="my husband hits me"))
    assert danger.intent == "safety"
    menu = engine.handle(_ctx(state=state), Inbound("text", text="menu"))
    assert menu.intent == "menu"


# Through the pipeline and the console ----------------------------------------------------------------
async def _say(app, identity, text: str = "", payload: str | None = None) -> None:  # type: ignore[no-untyped-def]
    pipeline = app[PIPELINE_KEY]
    kind = "button" if payload else "text"
    await pipeline.accept(
        identity, external_id=f"m{next(_ids)}", kind=kind, text=text, payload=payload, schedule=False
    )
    await pipeline.process(identity.id)


async def _post(client: TestClient, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_from(await (await client.get("/console/inbox")).text())
    return await client.post(path, data={**data, "csrf_token": token}, allow_redirects=False)


async def _escalation(sessions) -> Escalation:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        found = await session.scalar(select(Escalation).order_by(Escalation.id.desc()))
    assert found is not None
    return found


async def test_a_klantmanager_takes_replies_in_dutch_and_hands_back(
    client: TestClient, app, sessions, models
) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"], team="Team Noord")
    await make_staff(sessions, "zuid@example.nl", ["klantmanager"], team="Team Zuid")
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language="en")
    await _say(app, identity, payload="menu:person")
    await _say(app, identity, "Can I get more time for my exams?")
    escalation = await _escalation(sessions)
    assert escalation.team_id == km.team_id and escalation.language == "en" and escalation.status == "open"

    await login(client, "zuid@example.nl")  # another team does not see it
    assert "Amina" not in await (await client.get("/console/inbox")).text()
    assert (await client.get(f"/console/escalations/{escalation.id}")).status == 404

    await login(client, "km@example.nl")
    inbox = await (await client.get("/console/inbox")).text()
    assert "Amina Haddad" in inbox and "unread" in inbox
    page = await (await client.get(f"/console/escalations/{escalation.id}")).text()
    assert "Can I get more time for my exams?" in page and "Overdracht" in page
    assert (await _post(client, f"/console/escalations/{escalation.id}/take", {})).status == 302

    dutch = "U kunt verlenging aanvragen bij DUO. Ik help u daarbij."
    preview = await _post(
        client, f"/console/escalations/{escalation.id}/reply", {"text": dutch, "action": "preview"}
    )
    html = await preview.text()
    assert preview.status == 200 and 'id="preview-translation"' in html and 'id="preview-back"' in html
    sent = await _post(
        client,
        f"/console/escalations/{escalation.id}/reply",
        {"text": dutch, "previewed": dutch, "action": "send"},
    )
    assert sent.status == 302
    async with sessions() as session:
        reply = await session.scalar(select(Message).where(Message.intent == "staff_reply"))
        escalation = await session.get(Escalation, escalation.id)  # type: ignore[assignment]
    assert reply is not None and reply.author_staff_id == km.id and reply.language == "en"
    assert reply.text.startswith(t("en", "person.staff_label")) and dutch not in reply.text
    assert reply.translated_text == f"{t('nl', 'person.staff_label')}\n{dutch}"  # both texts kept
    assert reply.translation_engine == "argos-translate"
    assert escalation.status == "waiting" and escalation.first_response_at is not None

    await _say(app, identity, "Thank you! And the costs?")  # they write back: unread, back with staff
    async with sessions() as session:
        escalation = await session.get(Escalation, escalation.id)  # type: ignore[assignment]
        acknowledged = await session.scalar(select(Message.intent).order_by(Message.id.desc()))
    assert escalation.status == "assigned" and acknowledged == "handoff_message"
    assert "unread" in await (await client.get("/console/inbox")).text()

    assert (
        await _post(client, f"/console/escalations/{escalation.id}/note", {"text": "Belt DUO zelf"})
    ).status == 302
    resolved = await _post(client, f"/console/escalations/{escalation.id}/resolve", {"outcome": "answered"})
    assert resolved.status == 302
    async with sessions() as session:
        escalation = await session.get(Escalation, escalation.id)  # type: ignore[assignment]
        conversation = await session.get(Conversation, escalation.conversation_id)
        handback = await session.scalar(select(Message).where(Message.intent == "handback"))
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.participant_id == person.id)
                .order_by(AuditEvent.id)
            )
        )
        notes = list(await session.scalars(select(EscalationNote.text)))
        note_in_chat = await session.scalar(select(Message.id).where(Message.text.contains("Belt DUO")))
    assert escalation.status == "resolved" and escalation.outcome == "answered"
    assert conversation is not None and conversation.state["step"] == "menu"
    assert handback is not None and handback.text == t("en", "person.handback")
    assert notes == ["Belt DUO zelf"] and note_in_chat is None  # private
    for step in (
        "escalation.opened.person_requested",
        "escalation.taken",
        "escalation.replied",
        "escalation.note",
        "escalation.resolved",
    ):
        assert step in actions, step
    await _say(app, identity, "what is a PIP")  # the bot answers again
    async with sessions() as session:
        assert (await session.scalar(select(Message.intent).order_by(Message.id.desc()))).startswith("kb.")  # type: ignore[union-attr]


async def test_without_a_model_the_reply_goes_in_dutch_only_when_staff_say_so(
    client: TestClient, app, sessions
) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language="ti")
    await _say(app, identity, payload="menu:person")
    escalation = await _escalation(sessions)
    await login(client, "km@example.nl")
    text = "Ik bel u morgen."
    refused = await _post(
        client,
        f"/console/escalations/{escalation.id}/reply",
        {"text": text, "previewed": text, "action": "send"},
    )
    assert refused.status == 200 and "geen vertaling" in (await refused.text()).lower()
    ok = await _post(
        client,
        f"/console/escalations/{escalation.id}/reply",
        {"text": text, "previewed": text, "action": "send", "send_dutch": "1"},
    )
    assert ok.status == 302
    async with sessions() as session:
        reply = await session.scalar(select(Message).where(Message.intent == "staff_reply"))
    assert reply is not None and reply.language == "nl" and reply.text.endswith(text)


async def test_unlinked_chats_go_to_staff_who_speak_the_language(client: TestClient, app, sessions) -> None:  # type: ignore[no-untyped-def]
    from cases.services import staff

    async with transaction(sessions) as session:
        await staff.create_staff(
            session,
            name="Rana",
            email="rana@example.nl",
            password="x" * 16,
            roles=["klantmanager"],
            team="Team Zuid",
            languages=["ar"],
        )
    await make_staff(sessions, "nl@example.nl", ["klantmanager"], team="Team Noord")
    identity = await consented_identity(sessions, "anon-ar", "ar")
    await _say(app, identity, payload="menu:person")
    escalation = await _escalation(sessions)
    assert escalation.team_id is None and escalation.language == "ar"
    await login(client, "nl@example.nl")
    assert f"/console/escalations/{escalation.id}" not in await (await client.get("/console/inbox")).text()
    await login(client, "rana@example.nl", password="x" * 16)
    assert f"/console/escalations/{escalation.id}" in await (await client.get("/console/inbox")).text()


async def test_a_safety_alert_is_only_for_the_designated_role(client: TestClient, app, sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    await make_staff(sessions, "tl@example.nl", ["teamleider"])
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language="nl")
    await _say(app, identity, "mijn man slaat mij")
    escalation = await _escalation(sessions)
    assert escalation.confidential and escalation.priority == "urgent"
    await login(client, "km@example.nl")
    assert f"/console/escalations/{escalation.id}" not in await (await client.get("/console/inbox")).text()
    await login(client, "tl@example.nl")
    assert f"/console/escalations/{escalation.id}" in await (await client.get("/console/inbox")).text()


async def test_script_in_chat_text_or_notes_never_runs(client: TestClient, app, sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km, first_name='<img src=x onerror="alert(1)">')
    identity = await linked_identity(sessions, person, language="nl")
    await _say(app, identity, payload="menu:person")
    await _say(app, identity, "<script>alert('chat')</script>")
    escalation = await _escalation(sessions)
    await login(client, "km@example.nl")
    await _post(
        client, f"/console/escalations/{escalation.id}/note", {"text": "<b onmouseover=alert(2)>x</b>"}
    )
    for path in ("/console/inbox", f"/console/escalations/{escalation.id}"):
        resp = await client.get(path)
        html = await resp.text()
        assert "<script>alert" not in html and "<img src=x" not in html and "<b onmouseover" not in html, path
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


async def test_new_escalations_are_announced_live(client: TestClient, app, sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language="nl")
    await login(client, "km@example.nl")
    resp = await client.get("/console/inbox/live")
    assert resp.headers["Content-Type"].startswith("text/event-stream")

    async def next_event() -> str:
        while True:
            line = (await asyncio.wait_for(resp.content.readline(), 10)).decode()
            if line.startswith("data:"):
                return line

    assert '"unread": 0' in await next_event()
    await _say(app, identity, payload="menu:person")
    assert '"unread": 1' in await next_event()
    resp.close()


async def test_a_beheerder_sets_office_hours_and_keywords_the_bot_uses(
    client: TestClient, app, sessions
) -> None:  # type: ignore[no-untyped-def]
    await make_staff(sessions, "admin@example.nl", ["beheerder"])
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language="nl")
    await login(client, "admin@example.nl")
    page = await client.get("/console/admin")
    assert page.status == 200
    zone = ZoneInfo("Europe/Amsterdam")
    tomorrow = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    day = ("ma", "di", "wo", "do", "vr", "za", "zo")[tomorrow.weekday()]
    form = {
        f"{day}_open": "09:15",
        f"{day}_close": "12:00",
        "keywords": "advocaat\nrechter",
        "first_response_minutes": "120",
        "response_hours": "8",
    }
    token = csrf_from(await page.text())
    resp = await client.post(
        "/console/admin/settings", data={**form, "csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 302 and "ok=" in resp.headers["Location"]
    await _say(app, identity, "ik wil met een advocaat praten")
    async with sessions() as session:
        reply = await session.scalar(
            select(Message).where(Message.direction == "out").order_by(Message.id.desc())
        )
        escalation = await session.scalar(select(Escalation))
    assert escalation is not None and escalation.reason == "keyword"
    assert reply is not None and "09:15" in reply.text  # closed today: the answer comes tomorrow at opening
    bad = await client.post(
        "/console/admin/settings",
        data={
            "ma_open": "17:00",
            "ma_close": "09:00",
            "first_response_minutes": "60",
            "response_hours": "8",
            "csrf_token": token,
        },
        allow_redirects=False,
    )
    assert "fout=" in bad.headers["Location"]


def test_every_standard_answer_has_a_curated_text_in_every_language() -> None:
    from cases.services.console_settings import default_canned_replies
    from locales.languages import LANGUAGES

    scripts = {"ar": (0x0600, 0x06FF), "fa": (0x0600, 0x06FF), "ti": (0x1200, 0x137F), "uk": (0x0400, 0x04FF)}
    replies = default_canned_replies()
    assert len(replies) >= 5
    for reply in replies:
        assert set(LANGUAGES) <= set(reply), reply["title"]
        for code, (low, high) in scripts.items():
            assert any(low <= ord(c) <= high for c in reply[code]), (reply["title"], code)
        assert all(reply[code] != reply["nl"] for code in LANGUAGES if code != "nl")


async def test_a_standard_answer_goes_out_in_its_curated_translation(
    client: TestClient, app, sessions
) -> None:  # type: ignore[no-untyped-def]
    from cases.models import CannedReply
    from cases.services import console_settings

    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language="ar")
    async with transaction(sessions) as session:
        await console_settings.load_default_canned_replies(session)
    async with sessions() as session:
        canned = await session.scalar(select(CannedReply).where(CannedReply.title == "Tolk bij gesprek"))
    assert canned is not None
    await _say(app, identity, payload="menu:person")
    escalation = await _escalation(sessions)
    await login(client, "km@example.nl")
    preview = await _post(
        client, f"/console/escalations/{escalation.id}/reply", {"canned": str(canned.id), "action": "preview"}
    )
    assert canned.translations["ar"] in await preview.text()  # no Arabic model needed: it is curated
    sent = await _post(
        client,
        f"/console/escalations/{escalation.id}/reply",
        {"canned": str(canned.id), "text": canned.text_nl, "previewed": canned.text_nl, "action": "send"},
    )
    assert sent.status == 302
    async with sessions() as session:
        reply = await session.scalar(select(Message).where(Message.intent == "staff_reply"))
    assert (
        reply is not None
        and reply.text.endswith(canned.translations["ar"])
        and reply.translation_engine == "canned"
    )


async def test_a_beheerder_adds_changes_and_deactivates_staff(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    from multidict import MultiDict

    from cases.models import StaffUser

    await make_staff(sessions, "admin@example.nl", ["beheerder"])
    await login(client, "admin@example.nl")
    token = csrf_from(await (await client.get("/console/admin")).text())
    form = MultiDict(
        [
            ("name", "Nadia"),
            ("email", "nadia@example.nl"),
            ("password", "a-long-temporary-pw"),
            ("team", "Team West"),
            ("roles", "klantmanager"),
            ("languages", "ar"),
            ("languages", "fa"),
            ("csrf_token", token),
        ]
    )
    assert (await client.post("/console/admin/staff", data=form, allow_redirects=False)).status == 302
    async with sessions() as session:
        nadia = await session.scalar(select(StaffUser).where(StaffUser.email == "nadia@example.nl"))
    assert nadia is not None and nadia.roles == ["klantmanager"] and nadia.languages == ["ar", "fa"]
    assert nadia.team is not None and nadia.team.name == "Team West"
    change = MultiDict([("roles", "planner"), ("team", "Team Oost"), ("active", "0"), ("csrf_token", token)])
    assert (
        await client.post(f"/console/admin/staff/{nadia.id}", data=change, allow_redirects=False)
    ).status == 302
    async with sessions() as session:
        nadia = await session.get(StaffUser, nadia.id)
        me = await session.scalar(select(StaffUser).where(StaffUser.email == "admin@example.nl"))
    assert nadia is not None and nadia.roles == ["planner"] and not nadia.active and nadia.languages == []
    assert me is not None
    locked_out = MultiDict([("roles", "klantmanager"), ("active", "1"), ("csrf_token", token)])
    resp = await client.post(f"/console/admin/staff/{me.id}", data=locked_out, allow_redirects=False)
    assert "fout=" in resp.headers["Location"]  # a beheerder cannot take away their own rights
    page = await client.get("/console/login")
    resp = await client.post(
        "/console/login",
        data={
            "email": "nadia@example.nl",
            "password": "a-long-temporary-pw",
            "csrf_token": csrf_from(await page.text()),
        },
        allow_redirects=False,
    )
    assert resp.status == 401  # a deactivated account cannot log in
