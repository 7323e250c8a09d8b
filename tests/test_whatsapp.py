"""WhatsApp Cloud API over real HTTP: signed webhooks in, Graph API stand-in out (SQLite + PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from bot.app import SENDER_KEY, create_app
from bot.channels.whatsapp import WhatsAppClient
from bot.outbox import OutboxSender
from bot.settings import Settings, load_settings
from cases.db import transaction
from cases.models import Message, Reminder
from cases.services import identities, messages
from locales.catalog import t
from tests.conftest import SECRET
from tests.standins import PHONE_ID, WA_ID, GraphAPI, button_msg, notification, text_msg

APP_SECRET = "whatsapp-app-secret"
TOKEN = "EAAG-test-token"


@pytest.fixture
async def graph() -> AsyncIterator[GraphAPI]:
    standin = GraphAPI(TOKEN)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
def wa_settings(db_url: str, graph: GraphAPI) -> Settings:
    return load_settings(
        database_url=db_url,
        secret_key=SECRET,
        cookie_secure=False,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token="verify-me",
        whatsapp_access_token=TOKEN,
        whatsapp_phone_number_id=PHONE_ID,
        whatsapp_api_base=graph.url,
        outbox_retry_base_seconds=0.01,
        outbox_retry_max_seconds=0.05,
        outbox_max_attempts=3,
    )


@pytest.fixture
async def wa(wa_settings: Settings) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(wa_settings), host="127.0.0.1")) as client:
        yield client


async def post(
    client: TestClient, payload: dict[str, Any], secret: str = APP_SECRET, raw: bytes | None = None
):  # type: ignore[no-untyped-def]
    body = raw if raw is not None else json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return await client.post(
        "/webhooks/whatsapp",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )


async def inbound_count(sessions) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).where(Message.direction == "in")) or 0)


async def consent(wa: TestClient, graph: GraphAPI) -> None:
    """First contact, consent and Dutch: leaves the person at the main menu."""
    assert (await post(wa, notification(messages_=[text_msg("hallo", "wamid.A1")]))).status == 200
    await graph.wait_for(3)
    assert (
        await post(wa, notification(messages_=[button_msg("consent:yes", "Ja, akkoord", "wamid.A2")]))
    ).status == 200
    await graph.wait_for(4)
    await post(wa, notification(messages_=[button_msg("lang:nl", "Nederlands", "wamid.A3", "list_reply")]))
    await graph.wait_for(6)


async def test_verification_handshake(wa: TestClient) -> None:
    ok = await wa.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
    )
    assert ok.status == 200 and await ok.text() == "1158201444"
    bad = await wa.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert bad.status == 403


async def test_signed_text_message_is_answered_through_the_graph_api(
    wa: TestClient, graph: GraphAPI, sessions
) -> None:  # type: ignore[no-untyped-def]
    resp = await post(wa, notification(messages_=[text_msg("مرحبا", "wamid.HBgLMzE2MTIzNDU2Nzg")]))
    assert resp.status == 200
    sent = await graph.wait_for(3)
    assert len(sent) == 3
    assert all(r.path == f"/v21.0/{PHONE_ID}/messages" for r in sent)
    assert sent[0].body["to"] == WA_ID and sent[0].body["type"] == "text"
    assert sent[0].body["text"]["body"] == t("ar", "welcome"), "script of the first message picks Arabic"
    question = sent[2].body
    assert question["type"] == "interactive" and question["interactive"]["type"] == "button"
    ids = [b["reply"]["id"] for b in question["interactive"]["action"]["buttons"]]
    assert ids == ["consent:yes", "consent:no", "other_language"]
    async with sessions() as session:
        stored = list(
            await session.scalars(select(Message).where(Message.direction == "out").order_by(Message.id))
        )
    assert [m.status for m in stored] == ["sent"] * 3
    assert stored[0].external_id == "wamid.OUT000001"


async def test_wrong_or_missing_signature_is_refused_and_nothing_stored(
    wa: TestClient, graph: GraphAPI, sessions
) -> None:  # type: ignore[no-untyped-def]
    payload = notification(messages_=[text_msg("hallo", "wamid.X")])
    assert (await post(wa, payload, secret="not-the-secret")).status == 401
    unsigned = await wa.post("/webhooks/whatsapp", json=payload)
    assert unsigned.status == 401
    assert await inbound_count(sessions) == 0
    await asyncio.sleep(0.2)
    assert graph.requests == []


async def test_malformed_and_oversized_bodies(wa: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    assert (await post(wa, {}, raw=b"{not json")).status == 400
    assert (await post(wa, {"object": "page", "entry": []})).status == 400
    assert (await post(wa, {}, raw=b"[1, 2, 3]")).status == 400
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    assert (await post(wa, {}, raw=huge)).status == 413
    assert await inbound_count(sessions) == 0


async def test_a_replayed_message_is_stored_and_answered_once(
    wa: TestClient, graph: GraphAPI, sessions
) -> None:  # type: ignore[no-untyped-def]
    payload = notification(messages_=[text_msg("hallo", "wamid.SAME")])
    assert (await post(wa, payload)).status == 200
    await graph.wait_for(3)
    assert (await post(wa, payload)).status == 200
    await asyncio.sleep(0.3)
    assert len(graph.requests) == 3
    assert await inbound_count(sessions) == 1


async def test_buttons_and_lists_reach_the_dialogs_within_platform_limits(
    wa: TestClient, graph: GraphAPI
) -> None:
    await consent(wa, graph)
    language_list = graph.requests[3].body["interactive"]
    assert language_list["type"] == "list", "8 languages do not fit in 3 reply buttons"
    rows = language_list["action"]["sections"][0]["rows"]
    assert len(rows) == 8 and all(len(r["title"]) <= 24 for r in rows)
    assert len(language_list["action"]["button"]) <= 20
    menu = graph.requests[5].body["interactive"]
    assert (
        menu["type"] == "list"
        and [r["id"] for r in menu["action"]["sections"][0]["rows"]][0] == "menu:appointments"
    )
    # A template quick reply ("button" type) works like a tap too.
    quick = {
        "from": WA_ID,
        "id": "wamid.Q",
        "timestamp": str(int(time.time())),
        "type": "button",
        "button": {"payload": "menu:documents", "text": "Documenten"},
    }
    await post(wa, notification(messages_=[quick]))
    sent = await graph.wait_for(7)
    assert sent[6].body["interactive"]["body"]["text"] == t("nl", "documents.general")


@pytest.mark.parametrize(
    "kind",
    ["image", "audio", "video", "document", "location", "sticker", "contacts", "reaction", "unsupported"],
)
async def test_unsupported_types_get_a_friendly_answer_and_are_recorded(
    kind: str, wa: TestClient, graph: GraphAPI, sessions
) -> None:  # type: ignore[no-untyped-def]
    await consent(wa, graph)
    msg = {
        "from": WA_ID,
        "id": f"wamid.{kind}",
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: {"id": "1234", "mime_type": "audio/ogg; codecs=opus"},
    }
    assert (await post(wa, notification(messages_=[msg]))).status == 200
    sent = await graph.wait_for(7)
    assert sent[6].body["interactive"]["body"]["text"] == t("nl", "fallback.unsupported_message")
    async with sessions() as session:
        row = await session.scalar(select(Message).where(Message.external_id == f"wamid.{kind}"))
    assert row is not None and row.kind == "unsupported" and row.status == "processed"


async def test_statuses_in_any_order_only_move_forward(wa: TestClient, graph: GraphAPI, sessions) -> None:  # type: ignore[no-untyped-def]
    await post(wa, notification(messages_=[text_msg("hallo", "wamid.S1")]))
    await graph.wait_for(3)
    ts = str(int(time.time()))
    read_first = [{"id": "wamid.OUT000001", "status": "read", "timestamp": ts, "recipient_id": WA_ID}]
    assert (await post(wa, notification(statuses=read_first))).status == 200
    late = [
        {"id": "wamid.OUT000001", "status": "delivered", "timestamp": ts, "recipient_id": WA_ID},
        {"id": "wamid.OUT000001", "status": "sent", "timestamp": ts, "recipient_id": WA_ID},
        {"id": "wamid.UNKNOWN", "status": "delivered", "timestamp": ts, "recipient_id": WA_ID},
    ]
    assert (await post(wa, notification(statuses=late))).status == 200
    failed = [
        {
            "id": "wamid.OUT000002",
            "status": "failed",
            "timestamp": ts,
            "recipient_id": WA_ID,
            "errors": [{"code": 131026, "title": "Message undeliverable"}],
        }
    ]
    assert (await post(wa, notification(statuses=failed))).status == 200
    async with sessions() as session:
        rows = {
            m.external_id: m for m in await session.scalars(select(Message).where(Message.direction == "out"))
        }
    first = rows["wamid.OUT000001"]
    assert first.status == "read" and first.delivered_at is not None and first.read_at is not None
    assert rows["wamid.OUT000002"].status == "failed" and rows["wamid.OUT000002"].error_code == "131026"


async def _queue_reply(
    sessions, *, last_inbound_hours_ago: float, text: str = "Uw afspraak is verzet."
) -> int:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, "whatsapp", WA_ID)
        identities.set_language(identity, "ar")
        await identities.give_consent(session, identity)
        await messages.store_inbound(session, identity, external_id="wamid.OLD", text="شكرا")
        await session.execute(
            update(Message).values(
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=last_inbound_hours_ago)
            )
        )
        conversation = await messages.conversation_for(session, identity)
        out = messages.add_outbound(session, conversation, identity, text=text, language="ar")
        await session.flush()
        return out.id


async def _sender(wa_settings: Settings, sessions) -> tuple[OutboxSender, WhatsAppClient]:  # type: ignore[no-untyped-def]
    sender = OutboxSender(sessions, wa_settings)
    client = WhatsAppClient(wa_settings)
    await client.start()
    sender.register(client)
    return sender, client


async def test_outside_the_window_only_a_template_goes_out_and_the_text_waits(
    wa_settings, sessions, graph
) -> None:  # type: ignore[no-untyped-def]
    message_id = await _queue_reply(sessions, last_inbound_hours_ago=25)
    sender, client = await _sender(wa_settings, sessions)
    assert await sender.run_once() == 1
    (template,) = graph.requests
    assert template.body["type"] == "template"
    assert template.body["template"] == {"name": "wegwijs_nieuw_bericht", "language": {"code": "ar"}}
    assert "verzet" not in json.dumps(template.body), "nothing personal in a template"
    async with sessions() as session:
        held = await session.get(Message, message_id)
        assert held is not None and held.status == "held" and held.template_name == "wegwijs_nieuw_bericht"
    # A second waiting text does not send a second template.
    await _queue_reply_more(sessions)
    await sender.run_once()
    assert len(graph.requests) == 1
    # The person writes back: the window opens and the held texts go out, in order.
    from bot.pipeline import Pipeline
    from cases.models import ChannelIdentity

    await Pipeline(sessions, wa_settings).accept(
        ChannelIdentity(channel="whatsapp", external_id=WA_ID),
        external_id="wamid.BACK",
        text="نعم",
        schedule=False,
    )
    while await sender.run_once():
        pass
    texts = [r.body["text"]["body"] for r in graph.requests[1:]]
    assert texts == ["Uw afspraak is verzet.", "Tweede bericht."]
    await client.close()


async def _queue_reply_more(sessions) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, "whatsapp", WA_ID)
        conversation = await messages.conversation_for(session, identity)
        messages.add_outbound(session, conversation, identity, text="Tweede bericht.", language="ar")


async def test_window_closed_error_falls_back_to_the_template(wa_settings, sessions, graph) -> None:  # type: ignore[no-untyped-def]
    message_id = await _queue_reply(sessions, last_inbound_hours_ago=1)
    graph.script(*GraphAPI.error(131047, "Re-engagement message"))
    sender, client = await _sender(wa_settings, sessions)
    await sender.run_once()
    assert [r.body["type"] for r in graph.requests] == ["text", "template"]
    async with sessions() as session:
        assert (await session.get(Message, message_id)).status == "held"  # type: ignore[union-attr]
    await client.close()


@pytest.mark.parametrize("code", [130429, 131056])
async def test_rate_limits_are_retried_with_back_off(code: int, wa_settings, sessions, graph) -> None:  # type: ignore[no-untyped-def]
    message_id = await _queue_reply(sessions, last_inbound_hours_ago=1)
    graph.script(*GraphAPI.error(code, "Rate limit hit"))
    # A back-off long enough that "still waiting" can be seen on a busy machine.
    settings = wa_settings.model_copy(
        update={"outbox_retry_base_seconds": 0.5, "outbox_retry_max_seconds": 0.5}
    )
    sender, client = await _sender(settings, sessions)
    await sender.run_once()
    async with sessions() as session:
        waiting = await session.get(Message, message_id)
        assert waiting is not None and waiting.status == "queued" and waiting.error_code == str(code)
        assert waiting.next_attempt_at is not None and waiting.next_attempt_at > dt.datetime.now(dt.UTC)
    assert await sender.run_once() == 0, "not before the back-off has passed"
    await asyncio.sleep(0.7)
    await sender.run_once()
    async with sessions() as session:
        done = await session.get(Message, message_id)
        assert done is not None and done.status == "sent" and done.attempts == 2
    assert len(graph.requests) == 2
    await client.close()


async def test_other_errors_are_recorded_for_staff_and_not_retried(wa_settings, sessions, graph) -> None:  # type: ignore[no-untyped-def]
    message_id = await _queue_reply(sessions, last_inbound_hours_ago=1)
    graph.script(*GraphAPI.error(131026, "Message undeliverable"))
    sender, client = await _sender(wa_settings, sessions)
    await sender.run_once()
    await sender.run_once()
    async with sessions() as session:
        row = await session.get(Message, message_id)
        assert row is not None and row.status == "failed" and row.error_code == "131026"
        assert row.error_detail == "Message undeliverable"
    assert len(graph.requests) == 1
    await client.close()


async def test_a_message_that_keeps_failing_ends_dead(wa_settings, sessions, graph) -> None:  # type: ignore[no-untyped-def]
    message_id = await _queue_reply(sessions, last_inbound_hours_ago=1)
    for _ in range(3):
        graph.script(500, {"error": {"message": "Service temporarily unavailable", "code": 2}})
    sender, client = await _sender(wa_settings, sessions)
    for _ in range(3):
        await sender.run_once()
        await asyncio.sleep(0.1)
    async with sessions() as session:
        row = await session.get(Message, message_id)
        assert row is not None and row.status == "dead" and row.attempts == 3
    await client.close()


async def test_a_sender_killed_mid_send_is_taken_over_after_its_lease(wa_settings, sessions, graph) -> None:  # type: ignore[no-untyped-def]
    from cases.services import outbox

    message_id = await _queue_reply(sessions, last_inbound_hours_ago=1)
    async with transaction(sessions) as session:  # a sender claims the row, then dies
        claimed = await outbox.claim_due(session, ["whatsapp"], lease_seconds=60)
        assert [m.id for m in claimed] == [message_id]
    sender, client = await _sender(wa_settings, sessions)
    assert await sender.run_once() == 0, "the lease still holds"
    async with transaction(sessions) as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert await sender.run_once() == 1
    assert len(graph.requests) == 1
    await client.close()


async def test_two_senders_send_each_message_once(wa_settings, sessions, graph) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        for n in range(20):
            identity = await identities.get_or_create(session, "whatsapp", f"3161000{n:04d}")
            await messages.store_inbound(session, identity, external_id=f"wamid.in{n}", text="hoi")
            conversation = await messages.conversation_for(session, identity)
            messages.add_outbound(session, conversation, identity, text=f"antwoord {n}", language="nl")
    one, client_one = await _sender(wa_settings, sessions)
    two, client_two = await _sender(wa_settings, sessions)
    await asyncio.gather(one.run_once(), two.run_once(), one.run_once(), two.run_once())
    bodies = sorted(r.body["text"]["body"] for r in graph.requests)
    assert bodies == sorted(f"antwoord {n}" for n in range(20))
    await client_one.close()
    await client_two.close()


async def test_replies_go_out_in_order_per_person(wa: TestClient, graph: GraphAPI, sessions) -> None:  # type: ignore[no-untyped-def]
    await post(wa, notification(messages_=[text_msg("hallo", "wamid.O1")]))
    await graph.wait_for(3)
    welcome, notice, question = (r.body for r in graph.requests[:3])
    assert (welcome["type"], notice["type"], question["type"]) == ("text", "text", "interactive")
    async with sessions() as session:
        ids = list(
            await session.scalars(
                select(Message.external_id).where(Message.direction == "out").order_by(Message.id)
            )
        )
    assert ids == ["wamid.OUT000001", "wamid.OUT000002", "wamid.OUT000003"]


async def test_graceful_shutdown_sends_what_was_accepted(
    wa_settings: Settings, graph: GraphAPI, sessions
) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(TestServer(create_app(wa_settings), host="127.0.0.1"))
    await client.start_server()
    assert client.app is not None and isinstance(client.app[SENDER_KEY], OutboxSender)
    await post(client, notification(messages_=[text_msg("hallo", "wamid.G1")]))
    await client.close()  # shutdown right after the 200
    assert len(graph.requests) == 3


async def test_a_reminder_outside_the_window_goes_as_its_template_and_a_tap_confirms(
    wa_settings, sessions, graph
) -> None:  # type: ignore[no-untyped-def]
    from bot.pipeline import Pipeline
    from cases.models import Appointment, ChannelIdentity, Participant
    from cases.services import appointments
    from locales.catalog import format_local_datetime
    from scheduler.reminders import ReminderDispatcher
    from tests.helpers import make_participant

    settings = wa_settings.model_copy(update={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"})
    await _queue_reply(sessions, last_inbound_hours_ago=72)  # they last wrote three days ago
    person = await make_participant(sessions)
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, "whatsapp", WA_ID)
        await identities.link(session, identity, person.id, via="test")
        await session.execute(update(Message).values(status="sent"))  # the old reply went out
        appt = await appointments.create_appointment(
            session,
            settings.planning(),
            participant=await session.get(Participant, person.id),
            type_key="pip_gesprek",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
            location="Stadskantoor",
            notify=False,
        )
        await session.execute(update(Reminder).values(due_at=dt.datetime.now(dt.UTC)))
    assert (await ReminderDispatcher(sessions, settings).run()).sent == 2  # 1d and 2h (7d was past)
    sender, client = await _sender(settings, sessions)
    while await sender.run_once():
        pass
    assert [r.body["type"] for r in graph.requests] == ["template"] * 2
    template = graph.requests[0].body["template"]
    date, time = format_local_datetime(appt.starts_at, "ar", settings.timezone)
    assert template["name"] == "wegwijs_afspraak" and template["language"] == {"code": "ar"}
    body, *buttons = template["components"]
    assert body == {
        "type": "body",
        "parameters": [{"type": "text", "text": date}, {"type": "text", "text": time}],
    }
    assert [b["parameters"][0]["payload"] for b in buttons] == [
        f"ap:ok:{appt.id}",
        f"ap:move:{appt.id}",
        f"ap:cancel:{appt.id}",
    ]
    assert "PIP" not in json.dumps(template) and "Stadskantoor" not in json.dumps(template)
    async with sessions() as session:
        statuses = set(
            await session.scalars(select(Message.status).where(Message.template_kind == "appointment"))
        )
    assert statuses == {"sent"}  # sent as templates, nothing held
    pipeline = Pipeline(sessions, settings)
    await pipeline.accept(
        ChannelIdentity(channel="whatsapp", external_id=WA_ID),
        external_id="wamid.TAP",
        kind="button",
        text="Ik kom",
        payload=f"ap:ok:{appt.id}",
        schedule=False,
    )
    await pipeline.process(identity.id)
    async with sessions() as session:
        assert (await session.get(Appointment, appt.id)).confirmed_at is not None  # type: ignore[union-attr]
    await client.close()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_wrong_content_type_gets_415_and_nothing_is_stored(
    wa: TestClient, sessions, content_type: str
) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(notification(messages_=[text_msg("hallo", "wamid.CT")])).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    resp = await wa.post(
        "/webhooks/whatsapp",
        data=body,
        headers={"Content-Type": content_type, "X-Hub-Signature-256": signature},
    )
    assert resp.status == 415
    assert await inbound_count(sessions) == 0


async def test_one_pass_sends_each_persons_replies_in_order_and_stops_at_a_failure(
    wa_settings, sessions, graph
) -> None:  # type: ignore[no-untyped-def]
    people = {"31610000001": [], "31610000002": []}
    async with transaction(sessions) as session:
        for wa_id, ids in people.items():
            identity = await identities.get_or_create(session, "whatsapp", wa_id)
            await messages.store_inbound(session, identity, external_id=f"wamid.in.{wa_id}", text="hoi")
            conversation = await messages.conversation_for(session, identity)
            for n in range(3):
                reply = messages.add_outbound(
                    session, conversation, identity, text=f"{wa_id} {n}", language="nl"
                )
                await session.flush()
                ids.append(reply.id)
    settings = wa_settings.model_copy(
        update={"outbox_retry_base_seconds": 0.3, "outbox_retry_max_seconds": 0.3}
    )
    sender, client = await _sender(settings, sessions)
    # The platform refuses the first request (a rate limit) and accepts everything after it.
    graph.script(*GraphAPI.error(130429, "Rate limit hit"))
    assert await sender.run_once() == 4, "one person's three, and the other's first (which failed)"
    first = graph.requests[0].body["to"]
    other = next(wa_id for wa_id in people if wa_id != first)
    sent_to_other = [r.body["text"]["body"] for r in graph.requests if r.body["to"] == other]
    assert sent_to_other == [f"{other} 0", f"{other} 1", f"{other} 2"]
    async with sessions() as session:
        rows = {m.id: m for m in await session.scalars(select(Message).where(Message.id.in_(people[first])))}
    assert rows[people[first][0]].status == "queued" and rows[people[first][0]].error_code == "130429"
    assert [(rows[i].status, rows[i].attempts) for i in people[first][1:]] == [("queued", 0)] * 2, "untried"
    await asyncio.sleep(0.4)
    while await sender.run_once():
        pass
    retried = [r.body["text"]["body"] for r in graph.requests[4:]]
    assert retried == [f"{first} 0", f"{first} 1", f"{first} 2"], "in order, after the back-off"
    await client.close()
