"""The web chat end to end over a real websocket: consent, language, transcript, linking."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.settings import load_settings
from cases.db import transaction
from cases.models import Message
from cases.services import appointments, koppelcode
from locales.catalog import t
from tests.helpers import make_participant
from tests.webchat_client import ChatClient


async def _through_consent(client, language: str = "nl") -> ChatClient:  # type: ignore[no-untyped-def]
    chat = await ChatClient.connect(client, language=language)
    await chat.replies(3)  # welcome, notice, question
    await chat.tap("consent:yes")
    await chat.replies(1)  # language choice
    await chat.tap(f"lang:{language}")
    await chat.replies(2)  # language changed, menu
    return chat


async def test_first_visit_greets_with_privacy_notice(client) -> None:  # type: ignore[no-untyped-def]
    chat = await ChatClient.connect(client, language="ar-SY")
    assert chat.transcript == [] and chat.language == "ar" and chat.dir == "rtl"
    welcome, notice, question = await chat.replies(3)
    assert notice["text"] == t("ar", "consent.notice") and notice["dir"] == "rtl"
    assert [b["payload"] for b in question["buttons"]] == ["consent:yes", "consent:no", "other_language"]
    await chat.close()


async def test_consent_language_and_menu(client) -> None:  # type: ignore[no-untyped-def]
    chat = await ChatClient.connect(client)
    await chat.replies(3)
    await chat.tap("consent:yes", "Ja, akkoord")
    (choice,) = await chat.replies(1)
    assert "lang:ti" in [b["payload"] for b in choice["buttons"]]
    await chat.tap("lang:ti", "ትግርኛ")
    changed, menu = await chat.replies(2)
    assert changed["text"] == t("ti", "language.changed") and changed["language"] == "ti"
    assert [b["label"] for b in menu["buttons"]][0] == t("ti", "menu.button.appointments")
    await chat.close()


async def test_reconnect_shows_the_transcript_again(client) -> None:  # type: ignore[no-untyped-def]
    chat = await _through_consent(client)
    await chat.say("hallo")
    await chat.replies(1)
    token = chat.session
    await chat.close()

    again = await ChatClient.connect(client, session=token)
    assert again.session == token
    texts = [(m["direction"], m["text"]) for m in again.transcript]
    assert ("in", "hallo") in texts
    assert ("out", t("nl", "menu.greeting")) in texts
    assert texts[0] == ("out", t("nl", "welcome")), "the start event itself is not shown"
    await again.close()


async def test_replies_made_while_offline_arrive_on_reconnect(client, app) -> None:  # type: ignore[no-untyped-def]
    from bot.app import PIPELINE_KEY

    chat = await _through_consent(client)
    token = chat.session
    await chat.close()
    await asyncio.sleep(0.05)
    pipeline = app[PIPELINE_KEY]
    async with pipeline.sessions() as session:
        identity_id = await session.scalar(select(Message.identity_id).limit(1))
    from cases.models import ChannelIdentity

    async with pipeline.sessions() as session:
        identity = await session.get(ChannelIdentity, identity_id)
    await pipeline.accept(identity, external_id="offline-1", text="hallo", schedule=False)
    await pipeline.process(identity.id)  # nobody connected: the reply stays queued
    async with pipeline.sessions() as session:
        queued = await session.scalar(select(func.count()).where(Message.status == "queued"))
    assert queued == 1
    again = await ChatClient.connect(client, session=token)
    assert t("nl", "menu.greeting") in [m["text"] for m in again.transcript]
    await asyncio.sleep(0.1)
    async with pipeline.sessions() as session:
        queued = await session.scalar(select(func.count()).where(Message.status == "queued"))
    assert queued == 0
    await again.close()


async def test_a_resent_message_is_stored_once(client, sessions) -> None:  # type: ignore[no-untyped-def]
    chat = await _through_consent(client)
    a = await chat.say("hallo", client_id="same-id")
    b = await chat.say("hallo", client_id="same-id")
    assert a["message_id"] == b["message_id"]
    await chat.replies(1)
    with_text = select(func.count()).where(Message.direction == "in", Message.text == "hallo")
    async with sessions() as session:
        assert await session.scalar(with_text) == 1
    await chat.close()


async def test_bad_input_gets_a_defined_answer(client, sessions) -> None:  # type: ignore[no-untyped-def]
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "message", "id": "x", "text": "hoi"})
    assert (await ws.receive_json())["code"] == "hello_first"
    await ws.send_str("{not json")
    assert (await ws.receive_json())["code"] == "bad_request"
    await ws.close()

    chat = await _through_consent(client)
    await chat.say("x" * 2001)
    (reply,) = await chat.replies(1)
    assert reply["text"] == t("nl", "error.too_long", limit=2000)
    await chat.ws.send_json({"type": "message", "id": "e", "text": "   "})
    assert (await chat.receive("error"))["code"] == "empty"
    async with sessions() as session:
        kept = await session.scalar(
            select(Message.text).where(Message.intent == "too_long", Message.direction == "in")
        )
    assert kept == "x" * 2001, "a long message is answered politely and kept whole"
    await chat.close()


async def test_koppelcode_in_the_chat_unlocks_personal_data(client, sessions) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    participant = await make_participant(sessions, first_name="Yonas")
    async with transaction(sessions) as session:
        code, _ = await koppelcode.create_koppelcode(session, participant, valid_days=30, created_by=None)
        await appointments.create_appointment(
            session,
            load_settings().planning(),
            participant=participant,
            type_key="brede_intake",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
            location="Stadskantoor balie 4",
        )
    chat = await _through_consent(client)
    await chat.tap("menu:appointments")
    (before,) = await chat.replies(1)
    assert before["text"] == t("nl", "appointments.unlinked")
    assert "Stadskantoor" not in before["text"]

    await chat.say(code.lower())
    success, menu = await chat.replies(2)
    assert success["text"] == t("nl", "koppelcode.success", name="Yonas")
    await chat.tap("menu:appointments")
    (after,) = await chat.replies(1)
    assert "Brede intake" in after["text"] and "Stadskantoor balie 4" in after["text"]
    async with sessions() as session:
        linked = await session.scalar(
            select(func.count()).where(Message.participant_id == participant.id, Message.direction == "in")
        )
    assert linked >= 4, "earlier messages of this chat land in the case too"
    await chat.close()
