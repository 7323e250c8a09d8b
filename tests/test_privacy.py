"""AVG: "delete my data" in every language, inzage/export, erasure that keeps the audit trail,
retention, masked sensitive numbers (revealing one is audited), the audit-log viewer, and logs
without personal data."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import logging

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from bot import logs
from bot.app import PIPELINE_KEY
from cases.db import transaction
from cases.models import AuditEvent, ChannelIdentity, Conversation, Message, Participant, StaffTask
from cases.sensitive import find, is_bsn, is_iban, mask
from cases.services import privacy
from dialogs.vocabulary import DELETE_WORDS
from locales.catalog import t
from locales.languages import LANGUAGES
from tests.helpers import consented_identity, csrf_from, linked_identity, login, make_participant, make_staff

_ids = itertools.count(1)
BSN = "123456782"  # passes the elfproef
IBAN = "NL91 ABNA 0417 1643 00"
PHONE = "06-12345678"


async def _say(app, identity, text: str = "", payload: str | None = None) -> Message:  # type: ignore[no-untyped-def]
    pipeline = app[PIPELINE_KEY]
    kind = "button" if payload else "text"
    await pipeline.accept(
        identity, external_id=f"p{next(_ids)}", kind=kind, text=text, payload=payload, schedule=False
    )
    turns = await pipeline.process(identity.id)
    async with pipeline.sessions() as session:
        return await session.get(Message, turns[-1].outbound_ids[-1])  # type: ignore[return-value]


# Sensitive numbers -----------------------------------------------------------------------------------
def test_bsn_iban_and_phone_numbers_are_recognised_and_masked() -> None:
    assert is_bsn(BSN) and not is_bsn("123456789") and not is_bsn("000000000")
    assert is_iban(IBAN) and not is_iban("NL91 ABNA 0417 1643 01")
    text = f"Mijn BSN is {BSN}, rekening {IBAN}, bel {PHONE} of +31 6 1234 5678."
    masked = mask(text)
    for value in (BSN, IBAN, PHONE, "+31 6 1234 5678"):
        assert value not in masked
    assert {kind for kind, _ in find(text)} == {"bsn", "iban", "phone"}
    harmless = "Afspraak op 24-11-2026 om 10:30, 123456789 is geen BSN, code KX7P-4M2W"
    assert mask(harmless) == harmless


def test_log_lines_never_hold_sensitive_numbers() -> None:
    stream = io.StringIO()
    handler = logs.configure(logging.INFO, stream)
    try:
        logging.getLogger("wegwijs.test").info("bericht van %s met BSN %s", PHONE, BSN)
        logging.getLogger("argostranslate.utils").info("paragraphs: ['Mijn naam is Amina']")  # kept quiet
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert "bericht van" in output and PHONE not in output and BSN not in output
    assert "Amina" not in output


async def test_a_conversation_leaves_no_personal_data_in_the_logs(app, sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km, first_name="Zahra")
    identity = await linked_identity(
        sessions, person, external_id="31687654321", channel="whatsapp", language="nl"
    )
    stream = io.StringIO()
    handler = logs.configure(logging.DEBUG, stream)  # the product's logging, even at its most talkative
    try:
        await _say(app, identity, f"Ik ben Zahra, mijn BSN is {BSN} en mijn nummer {PHONE}")
        await _say(app, identity, payload="menu:appointments")
        logging.getLogger("bot.pipeline").error("a failure mentioning %s", PHONE)
    finally:
        logging.getLogger().removeHandler(handler)
    captured = stream.getvalue()
    assert "a failure mentioning" in captured  # the log works
    for secret in ("Zahra", BSN, PHONE, "31687654321", "Haddad"):
        assert secret not in captured, secret


async def test_lists_mask_numbers_and_revealing_one_is_audited(client: TestClient, app, sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language="nl")
    await _say(app, identity, f"mijn bsn is {BSN}")
    await login(client, "km@example.nl")
    assert BSN not in await (await client.get("/console/participants")).text()
    html = await (await client.get(f"/console/participants/{person.id}")).text()
    assert BSN not in html and "[BSN verborgen]" in html
    async with sessions() as session:
        message_id = await session.scalar(select(Message.id).where(Message.text.contains(BSN)))
    page = await client.get(f"/console/participants/{person.id}")
    assert (
        BSN not in await (await client.get(f"/console/participants/{person.id}?toon={message_id}")).text()
    )  # not without audit
    resp = await client.post(
        f"/console/messages/{message_id}/reveal",
        data={"csrf_token": csrf_from(await page.text())},
        headers={"Referer": str(client.make_url(f"/console/participants/{person.id}"))},
        allow_redirects=False,
    )
    assert resp.status == 302 and f"toon={message_id}" in resp.headers["Location"]
    assert BSN in await (await client.get(resp.headers["Location"])).text()
    async with sessions() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "message.revealed"))
    assert event is not None and event.details == {"message_id": message_id} and event.actor_staff_id == km.id


# "Delete my data" ------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_delete_my_data_is_understood_in_every_language(language: str) -> None:
    from dialogs import engine
    from dialogs.model import Context, Inbound, RequestErasure

    phrase = {
        "nl": "wis mijn gegevens",
        "en": "delete my data",
        "ar": "احذف بياناتي",
        "ti": "ሓበሬታይ ደምስሱ",
        "fa": "اطلاعاتم را پاک کنید",
        "tr": "verilerimi sil",
        "uk": "видаліть мої дані",
        "so": "tirtir xogtayda",
    }[language]
    assert phrase in DELETE_WORDS
    assert phrase in t(language, "privacy.notice")  # the notice tells them what to type
    ctx = Context(language=language, consented=True, state={"step": "menu"})
    asked = engine.handle(ctx, Inbound("text", text=phrase))
    assert asked.intent == "privacy.confirm" and "privacy:delete" in [
        b.payload for b in asked.replies[0].buttons
    ]
    confirmed = engine.handle(ctx, Inbound("button", payload="privacy:delete"))
    assert RequestErasure() in confirmed.effects


async def test_a_deletion_request_becomes_a_task_with_the_legal_deadline(app, sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km)
    identity = await linked_identity(sessions, person, language="tr")
    await _say(app, identity, "verilerimi sil")
    reply = await _say(app, identity, payload="privacy:delete")
    async with sessions() as session:
        task = await session.scalar(select(StaffTask).where(StaffTask.kind == "avg.erasure"))
    today = dt.datetime.now(dt.UTC).date()
    assert task is not None and task.staff_id == km.id and task.participant_id == person.id
    assert task.due_on is not None and 28 <= (task.due_on - today).days <= 31
    assert reply.intent == "privacy.delete" and reply.language == "tr"
    unlinked = await consented_identity(sessions, "anon", "en")
    await _say(app, unlinked, payload="privacy:delete")
    async with sessions() as session:
        tasks = list(await session.scalars(select(StaffTask).where(StaffTask.identity_id == unlinked.id)))
    assert len(tasks) == 1 and tasks[0].participant_id is None


# Inzage, erasure, retention, audit log --------------------------------------------------------------------
async def test_export_erase_and_the_audit_trail_that_remains(client: TestClient, app, sessions) -> None:  # type: ignore[no-untyped-def]
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    await make_staff(sessions, "tl@example.nl", ["teamleider"])
    person = await make_participant(sessions, klantmanager=km, first_name="Samira")
    identity = await linked_identity(
        sessions, person, external_id="31611112222", channel="whatsapp", language="ar"
    )
    await _say(app, identity, "متى موعدي القادم؟")
    await login(client, "km@example.nl")
    resp = await client.get(f"/console/participants/{person.id}/export.json")
    data = json.loads(await resp.text())
    assert resp.status == 200 and data["participant"]["first_name"] == "Samira"
    assert any(m["text"] == "متى موعدي القادم؟" for m in data["messages"])
    assert data["chats"][0]["external_id"] == "31611112222"
    assert (
        any(e["action"] == "participant.exported" for e in data["who_saw_or_changed"]) is False
    )  # recorded after
    page = await client.get(f"/console/participants/{person.id}/export")
    assert page.status == 200 and "متى موعدي القادم؟" in await page.text()

    token = csrf_from(await (await client.get("/console/inbox")).text())
    denied = await client.post(
        f"/console/participants/{person.id}/erase", data={"csrf_token": token, "confirm": "WISSEN"}
    )
    assert denied.status == 403  # klantmanagers do not erase
    await login(client, "tl@example.nl")
    token = csrf_from(await (await client.get("/console/inbox")).text())
    assert (
        await client.post(
            f"/console/participants/{person.id}/erase", data={"csrf_token": token, "confirm": "nee"}
        )
    ).status == 400
    done = await client.post(
        f"/console/participants/{person.id}/erase",
        data={"csrf_token": token, "confirm": "WISSEN"},
        allow_redirects=False,
    )
    assert done.status == 302
    async with sessions() as session:
        row = await session.get(Participant, person.id)
        texts = set(await session.scalars(select(Message.text).where(Message.identity_id == identity.id)))
        chat = await session.get(ChannelIdentity, identity.id)
        actions = list(
            await session.scalars(select(AuditEvent.action).where(AuditEvent.participant_id == person.id))
        )
    assert (
        row is not None
        and row.first_name == privacy.ERASED
        and row.erased_at is not None
        and row.brp_date is None
    )
    assert texts == {privacy.ERASED}
    assert chat is not None and "31611112222" not in chat.external_id
    assert {"chat.linked", "participant.exported", "participant.erased"} <= set(actions)  # metadata stays


async def test_retention_removes_old_texts_and_reports_it(sessions) -> None:  # type: ignore[no-untyped-def]
    old = await make_participant(sessions, reference="WW-0001")
    recent = await make_participant(sessions, reference="WW-0002", first_name="Recent")
    old_chat = await linked_identity(sessions, old, external_id="old")
    recent_chat = await linked_identity(sessions, recent, external_id="recent")
    silent = await consented_identity(sessions, "silent")
    async with transaction(sessions) as session:
        from cases.services import messages

        for identity in (old_chat, recent_chat, silent):
            await messages.store_inbound(
                session,
                await session.get(ChannelIdentity, identity.id),
                external_id=f"x{identity.id}",
                text="mijn vraag",
            )
        await session.execute(
            update(Participant).where(Participant.id == old.id).values(case_closed_on=dt.date(2024, 1, 1))
        )
        await session.execute(
            update(Participant).where(Participant.id == recent.id).values(case_closed_on=dt.date.today())
        )
        await session.execute(
            update(Conversation)
            .where(Conversation.identity_id == silent.id)
            .values(last_message_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=800))
        )
    async with transaction(sessions) as session:
        report = await privacy.apply_retention(session, months=12)
    assert report == {
        "closed_case_messages": 1,
        "unlinked_chat_messages": 1,
        "closed_cases": 1,
        "unlinked_chats": 1,
    }
    async with sessions() as session:
        kept = await session.scalar(select(func.count()).where(Message.text == "mijn vraag"))
        logged = await session.scalar(
            select(AuditEvent.details).where(AuditEvent.action == "retention.applied")
        )
    assert kept == 1 and logged is not None and logged["closed_cases"] == 1


async def test_beheerders_filter_and_export_the_audit_log(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    await make_staff(sessions, "admin@example.nl", ["beheerder"])
    km = await make_staff(sessions, "km@example.nl", ["klantmanager"])
    person = await make_participant(sessions, klantmanager=km)
    await login(client, "km@example.nl")
    await client.get(f"/console/participants/{person.id}")
    assert (await client.get("/console/audit", allow_redirects=False)).status == 403
    await login(client, "admin@example.nl")
    html = await (await client.get(f"/console/audit?actie=participant.viewed&medewerker={km.id}")).text()
    assert "participant.viewed" in html and "staff.created" not in html
    csv_resp = await client.get(f"/console/audit?actie=participant.&deelnemer={person.id}&formaat=csv")
    body = await csv_resp.text()
    assert csv_resp.content_type == "text/csv" and body.splitlines()[0].startswith("id,tijd,wie")
    assert "participant.viewed" in body and "participant.created" in body
