"""``wegwijs serve`` as a real process: channel settings, a signed WhatsApp webhook, a reply out."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import SECRET
from tests.standins import GraphAPI, notification, text_msg

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_answers_a_signed_webhook_through_the_graph_api(db_url: str) -> None:
    graph = GraphAPI("token-1")
    await graph.start()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "WEGWIJS_SECRET_KEY": SECRET,
        "WEGWIJS_PORT": str(port),
        "WEGWIJS_WHATSAPP_APP_SECRET": "s3cret",
        "WEGWIJS_WHATSAPP_VERIFY_TOKEN": "v",
        "WEGWIJS_WHATSAPP_ACCESS_TOKEN": "token-1",
        "WEGWIJS_WHATSAPP_PHONE_NUMBER_ID": "555",
        "WEGWIJS_WHATSAPP_API_BASE": graph.url,
    }
    env.pop("WEGWIJS_TELEGRAM_TOKEN", None)
    upgrade = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "db", "upgrade", env=env, cwd=ROOT
    )
    assert await upgrade.wait() == 0
    proc = subprocess.Popen(  # noqa: ASYNC220 - a long-running server we stop ourselves
        [sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    async with http.get(base + "/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
            hello = text_msg("hallo", "wamid.EXT1", wa_id="31611111111")
            body = json.dumps(notification(messages_=[hello], wa_id="31611111111", phone_id="555")).encode()
            good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
            async with http.post(
                base + "/webhooks/whatsapp", data=body, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
            ) as resp:
                assert resp.status == 401
            async with http.post(
                base + "/webhooks/whatsapp",
                data=body,
                headers={"X-Hub-Signature-256": good, "Content-Type": "application/json"},
            ) as resp:
                assert resp.status == 200
            sent = await graph.wait_for(1, wait_seconds=15)
            assert sent and sent[0].path == "/v21.0/555/messages" and sent[0].body["to"] == "31611111111"
    finally:
        proc.terminate()
        # Wait off the event loop: the Graph stand-in runs on it and must keep answering the drain.
        output, _ = await asyncio.to_thread(proc.communicate, timeout=30)
        await graph.stop()
    assert "WhatsApp: on" in output
    assert "Telegram: off (not set: WEGWIJS_TELEGRAM_TOKEN, WEGWIJS_TELEGRAM_SECRET)" in output
    assert "31611111111" not in output, "no phone numbers in the logs"
    assert proc.returncode == 0, "a clean shutdown on SIGTERM"
    assert len(graph.requests) == 3, "replies accepted before the shutdown were all sent"


async def test_several_processes_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/one-writer.db",
        "WEGWIJS_SECRET_KEY": SECRET,
        "WEGWIJS_PROCESSES": "2",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert "WEGWIJS_PROCESSES above 1 needs PostgreSQL" in err.decode()


def _serving_children(pid: int) -> int:
    """How many spawned serving processes ``pid`` has (multiprocessing adds a resource tracker too)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum("spawn_main" in Path(f"/proc/{child}/cmdline").read_text() for child in children)


async def test_two_processes_share_the_port_and_deliver_each_others_replies(pg_database: str) -> None:
    """Two serving processes on PostgreSQL: the kernel spreads the connections; a reply queued
    anywhere but the process that holds the web-chat socket still reaches it (the sweep)."""
    from sqlalchemy import select

    from cases.db import create_engine, session_factory, transaction
    from cases.models import ChannelIdentity
    from cases.services import messages
    from tests.conftest import _truncate_all
    from tests.webchat_client import ChatClient

    await _truncate_all(pg_database)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": pg_database,
        "WEGWIJS_SECRET_KEY": SECRET,
        "WEGWIJS_PORT": str(port),
        "WEGWIJS_PROCESSES": "2",
    }
    env.pop("WEGWIJS_TELEGRAM_TOKEN", None)
    proc = subprocess.Popen(  # noqa: ASYNC220 - a long-running server we stop ourselves
        [sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    engine = create_engine(pg_database)
    sessions = session_factory(engine)
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(base_url=base) as http:
            deadline = time.monotonic() + 60
            healthy = 0
            while healthy < 10 and time.monotonic() < deadline:
                try:
                    async with aiohttp.ClientSession(base_url=base) as fresh, fresh.get("/healthz") as resp:
                        healthy += resp.status == 200
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
            assert await asyncio.to_thread(_serving_children, proc.pid) == 2, "two serving processes"
            chat = ChatClient(await http.ws_connect("/ws"))
            await chat.ws.send_json({"type": "hello", "session": None, "language": "nl"})
            await chat.receive("session")
            await chat.receive("transcript")
            await chat.receive("message")  # the greeting, from the process holding the socket
            async with transaction(sessions) as session:  # a reply queued elsewhere (here: this test)
                identity = (await session.scalars(select(ChannelIdentity))).one()
                conversation = await messages.conversation_for(session, identity)
                messages.add_outbound(
                    session, conversation, identity, text="Uw afspraak is verzet.", language="nl"
                )
            texts = []
            while "Uw afspraak is verzet." not in texts:  # the greeting first, then the reply
                texts.append((await chat.receive("message", wait_seconds=10))["text"])
            await chat.close()
    finally:
        await engine.dispose()
        proc.terminate()
        await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 0, "a clean shutdown of both processes on SIGTERM"


async def test_several_processes_stop_together_when_one_cannot_serve(pg_database: str) -> None:
    with socket.socket() as taken:  # the port is held by something else (without SO_REUSEPORT)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {
            **os.environ,
            "DATABASE_URL": pg_database,
            "WEGWIJS_SECRET_KEY": SECRET,
            "WEGWIJS_PORT": str(taken.getsockname()[1]),
            "WEGWIJS_PROCESSES": "2",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode != 0
    assert "stopped with an error" in err.decode()


def test_serving_runs_on_uvloop() -> None:
    import uvloop

    from bot.cli import new_event_loop

    loop = new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


async def test_every_language_index_is_built_before_the_first_question(settings) -> None:  # type: ignore[no-untyped-def]
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_app
    from dialogs import matcher
    from locales.languages import LANGUAGES

    matcher.default.cache_clear()  # as in a new process
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")):
        assert set(matcher.default()._indexes) == set(LANGUAGES), "the first question waits for no index"
