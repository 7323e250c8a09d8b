"""Telegram over real HTTP: webhook with secret token in, Bot API stand-in (via PTB base_url) out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import create_app
from bot.settings import Settings, load_settings
from cases.db import transaction
from cases.models import ChannelIdentity, Message
from cases.services import koppelcode
from locales.catalog import t
from tests.conftest import SECRET
from tests.helpers import make_participant
from tests.standins import BotAPI

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
WEBHOOK_SECRET = "wegwijs-telegram-secret_1"
CHAT_ID = 987654321


@pytest.fixture
async def botapi() -> AsyncIterator[BotAPI]:
    standin = BotAPI(TOKEN)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
def tg_settings(db_url: str, botapi: BotAPI) -> Settings:
    return load_settings(
        database_url=db_url,
        secret_key=SECRET,
        cookie_secure=False,
        telegram_token=TOKEN,
        telegram_secret=WEBHOOK_SECRET,
        telegram_api_base=botapi.url,
        outbox_retry_base_seconds=0.01,
        outbox_retry_max_seconds=0.05,
        outbox_max_attempts=3,
    )


@pytest.fixture
async def tg(tg_settings: Settings) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(tg_settings), host="127.0.0.1")) as client:
        yield client


_update_ids = iter(range(10_000, 99_999))


def user() -> dict[str, Any]:
    return {"id": CHAT_ID, "is_bot": False, "first_name": "Yonas", "language_code": "ti"}


def text_update(text: str, update_id: int | None = None, chat_type: str = "private") -> dict[str, Any]:
    return {
        "update_id": update_id or next(_update_ids),
        "message": {
            "message_id": next(_update_ids),
            "date": int(time.time()),
            "from": user(),
            "chat": {"id": CHAT_ID, "type": chat_type, "first_name": "Yonas"},
            "text": text,
        },
    }


def callback_update(data: str, label: str) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": user(),
            "chat_instance": "-123",
            "data": data,
            "message": {
                "message_id": 5,
                "date": int(time.time()),
                "chat": {"id": CHAT_ID, "type": "private"},
                "text": "…",
                "reply_markup": {"inline_keyboard": [[{"text": label, "callback_data": data}]]},
            },
        },
    }


async def post(client: TestClient, update: dict[str, Any], secret: str = WEBHOOK_SECRET):  # type: ignore[no-untyped-def]
    return await client.post(
        "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
    )


async def test_text_message_is_answered_with_an_inline_keyboard(
    tg: TestClient, botapi: BotAPI, sessions
) -> None:  # type: ignore[no-untyped-def]
    assert (await post(tg, text_update("ሰላም"))).status == 200
    sent = await botapi.wait_for(3, path_endswith="/sendMessage")
    assert [r.body["chat_id"] for r in sent] == [str(CHAT_ID)] * 3
    assert sent[0].body["text"] == t("ti", "welcome")
    keyboard = sent[2].body["reply_markup"]["inline_keyboard"]
    assert [b["callback_data"] for row in keyboard for b in row] == [
        "consent:yes",
        "consent:no",
        "other_language",
    ]
    async with sessions() as session:
        identity = await session.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram"))
        statuses = list(await session.scalars(select(Message.status).where(Message.direction == "out")))
    assert identity is not None and identity.external_id == str(CHAT_ID) and identity.language == "ti"
    assert statuses == ["sent"] * 3


async def test_wrong_secret_token_is_refused_and_nothing_stored(
    tg: TestClient, botapi: BotAPI, sessions
) -> None:  # type: ignore[no-untyped-def]
    assert (await post(tg, text_update("hallo"), secret="wrong")).status == 401
    assert (await tg.post("/webhooks/telegram", json=text_update("hallo"))).status == 401
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
    assert botapi.matching("/sendMessage") == []


async def test_malformed_updates_get_400(tg: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    for body in (b"{nope", b"[]", b'{"message": {}}'):
        resp = await tg.post(
            "/webhooks/telegram",
            data=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"},
        )
        assert resp.status == 400
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_a_resent_update_is_stored_and_answered_once(tg: TestClient, botapi: BotAPI, sessions) -> None:  # type: ignore[no-untyped-def]
    update = text_update("hallo", update_id=4242)
    await post(tg, update)
    await botapi.wait_for(3, path_endswith="/sendMessage")
    await post(tg, update)
    await asyncio.sleep(0.3)
    assert len(botapi.matching("/sendMessage")) == 3
    async with sessions() as session:
        assert await session.scalar(select(func.count()).where(Message.direction == "in")) == 1


async def test_callback_queries_are_taps_and_get_acknowledged(tg: TestClient, botapi: BotAPI) -> None:
    await post(tg, text_update("hallo"))
    await botapi.wait_for(3, path_endswith="/sendMessage")
    await post(tg, callback_update("consent:yes", "እወ"))
    sent = await botapi.wait_for(4, path_endswith="/sendMessage")
    languages = [b["callback_data"] for row in sent[3].body["reply_markup"]["inline_keyboard"] for b in row]
    assert languages == [
        "lang:nl",
        "lang:en",
        "lang:ar",
        "lang:ti",
        "lang:fa",
        "lang:tr",
        "lang:uk",
        "lang:so",
    ]
    assert await botapi.wait_for(1, path_endswith="/answerCallbackQuery")


async def test_start_deep_link_links_after_consent_and_language(
    tg: TestClient, botapi: BotAPI, sessions
) -> None:  # type: ignore[no-untyped-def]
    participant = await make_participant(sessions, first_name="Yonas")
    async with transaction(sessions) as session:
        code, _ = await koppelcode.create_koppelcode(session, participant, valid_days=30, created_by=None)
    await post(tg, text_update(f"/start {code}"))
    await botapi.wait_for(3, path_endswith="/sendMessage")
    await post(tg, callback_update("consent:yes", "እወ"))
    await botapi.wait_for(4, path_endswith="/sendMessage")
    await post(tg, callback_update("lang:ti", "ትግርኛ"))
    sent = await botapi.wait_for(7, path_endswith="/sendMessage")
    texts = [r.body["text"] for r in sent]
    assert t("ti", "koppelcode.success", name="Yonas") in texts
    async with sessions() as session:
        identity = await session.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram"))
    assert identity is not None and identity.participant_id == participant.id


async def test_unsupported_messages_and_group_chats(tg: TestClient, botapi: BotAPI, sessions) -> None:  # type: ignore[no-untyped-def]
    await post(tg, text_update("hallo"))
    await botapi.wait_for(3, path_endswith="/sendMessage")
    await post(tg, callback_update("consent:yes", "Ja"))
    await botapi.wait_for(4, path_endswith="/sendMessage")
    await post(tg, callback_update("lang:nl", "Nederlands"))
    await botapi.wait_for(6, path_endswith="/sendMessage")
    voice = text_update("x")
    del voice["message"]["text"]
    voice["message"]["voice"] = {
        "file_id": "AwAC",
        "file_unique_id": "AgAD",
        "duration": 3,
        "mime_type": "audio/ogg",
    }
    assert (await post(tg, voice)).status == 200
    sent = await botapi.wait_for(7, path_endswith="/sendMessage")
    assert sent[6].body["text"] == t("nl", "fallback.unsupported_message")
    assert (await post(tg, text_update("hoi allemaal", chat_type="group"))).status == 200
    await asyncio.sleep(0.2)
    assert len(botapi.matching("/sendMessage")) == 7, "group chats are not answered"
    async with sessions() as session:
        row = await session.scalar(select(Message).where(Message.kind == "unsupported"))
    assert row is not None and row.text == "[voice]"


async def test_retry_after_is_respected_and_blocked_bots_fail(
    tg: TestClient, botapi: BotAPI, sessions
) -> None:  # type: ignore[no-untyped-def]
    botapi.script(
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    await post(tg, text_update("hallo"))
    sent = await botapi.wait_for(4, path_endswith="/sendMessage", wait_seconds=15)
    assert len(sent) == 4, "the rate-limited message was sent again"
    botapi.script(
        403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    )
    await post(tg, text_update("menu"))
    await asyncio.sleep(0.5)
    async with sessions() as session:
        failed = await session.scalar(select(Message).where(Message.status == "failed"))
    assert failed is not None and failed.error_code == "Forbidden"


async def test_polling_mode_feeds_the_same_pipeline(tg_settings: Settings, botapi: BotAPI, sessions) -> None:  # type: ignore[no-untyped-def]
    botapi.updates.append(text_update("hallo", update_id=1))
    app = create_app(tg_settings, telegram_polling=True)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        sent = await botapi.wait_for(3, path_endswith="/sendMessage")
        assert sent[0].body["text"] == t("ti", "welcome")
        assert (await client.post("/webhooks/telegram", json={})).status == 404, "no webhook while polling"
    assert botapi.matching("/getUpdates")


async def test_a_wrong_content_type_gets_415(tg: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    resp = await tg.post(
        "/webhooks/telegram",
        data=json.dumps(text_update("hallo", update_id=5151)).encode(),
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "text/plain"},
    )
    assert resp.status == 415
    oversized = await tg.post(
        "/webhooks/telegram",
        data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"},
    )
    assert oversized.status == 413
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
