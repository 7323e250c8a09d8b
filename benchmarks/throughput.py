"""End-to-end throughput: simulated people writing over the signed WhatsApp webhook and the web chat.

    python -m benchmarks.throughput [--database sqlite|postgresql] [--messages 2000] [--levels 1,10,50,200]

The real app runs in its own process, as in production, with its WhatsApp sender pointed at a
Graph API stand-in in this process. This process is the load: at each concurrency level, that
many people each write messages one after the other, as people do: the next message once a reply
has come. Four in five write over the signed webhook (a reply is the app's send to their number at
the stand-in), one in five over the web-chat websocket (a reply is a message frame). Per message,
the end-to-end time runs from the inbound commit to the reply in the outbox (the message's
``processed_at``, written in the same transaction as the reply). In the same run, a bare aiohttp
handler in its own process answers the same POSTs without any work: the ceiling. Targets (issue
9): ≥1,000 msg/s on SQLite with p99 < 100 ms, and ≥20% of the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from benchmarks.common import DEFAULT_PG, append_result, fresh_database, machine, percentile
from cases.db import create_engine, session_factory
from cases.models import Message

APP_SECRET = "bench-app-secret"
OPENING = (("text", "hallo"), ("button", "consent:yes"))  # then the language, then questions
WEBCHAT_SHARE = 5  # one person in five writes in the web chat
PER_PERSON_MAX = 600  # stays under the app's flood limit, set to its maximum (1,000 a minute) here


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- The server processes -------------------------------------------------------------------------
def _graph_standin(replies: dict[str, asyncio.Queue[str]] | None = None) -> web.Application:
    """Accepts every send like the Graph API does (an id per message), and tells the simulated
    person it was for."""
    counter = iter(range(10**9))

    async def send(request: web.Request) -> web.Response:
        body = await request.json()
        if replies is not None and (inbox := replies.get(str(body.get("to")))) is not None:
            inbox.put_nowait(body.get("type", ""))
        return web.json_response({"messages": [{"id": f"wamid.out.{next(counter)}"}]})

    app = web.Application()
    app.router.add_post("/{version}/{phone}/messages", send)
    return app


def _bare() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/whatsapp", ok)
    return app


def serve(kind: str, port: int, url: str, graph_port: int, processes: int) -> None:
    """Run one server until killed (the child-process side of this benchmark)."""
    if kind == "bare":
        web.run_app(_bare(), host="127.0.0.1", port=port, access_log=None, print=None, shutdown_timeout=5)
        return
    import logging

    from bot import cli
    from bot.settings import load_settings

    settings = load_settings(
        database_url=url,
        secret_key="x" * 40,
        host="127.0.0.1",
        port=port,
        processes=processes,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token="v",
        whatsapp_access_token="t",
        whatsapp_phone_number_id="123",
        whatsapp_api_base=f"http://127.0.0.1:{graph_port}",
        flood_max_per_minute=1000,  # the simulated people write faster than anyone would
    )
    cli.serve(settings, log_level=logging.WARNING)


@contextlib.contextmanager
def _process(kind: str, port: int, url: str = "", graph_port: int = 0, processes: int = 1):  # type: ignore[no-untyped-def]
    argv = [sys.executable, "-m", "benchmarks.throughput", "--serve", kind, "--port", str(port)]
    argv += ["--url", url, "--graph-port", str(graph_port), "--processes", str(processes)]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start")
            time.sleep(0.1)
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# --- The load ----------------------------------------------------------------------------------------
def script(person: int, count: int) -> list[tuple[str, str]]:
    """What one simulated person sends: hello, consent, a language (the eight in turn), then
    questions from the knowledge base in that language and now and then the menu."""
    from locales.knowledge.base import default
    from locales.languages import LANGUAGES

    language = list(LANGUAGES)[person % len(LANGUAGES)]
    questions = [q for a in default().articles.values() for q in a.texts[language].questions[:2]]
    steps: list[tuple[str, str]] = [*OPENING, ("button", f"lang:{language}")]
    n = person
    while len(steps) < count:
        n += 7
        steps.append(("text", "menu") if n % 5 == 0 else ("text", questions[n % len(questions)]))
    return steps[:count]


def _notification(wa_id: str, message_id: str, kind: str, content: str) -> bytes:
    if kind == "text":
        message = {"type": "text", "text": {"body": content}}
    else:
        reply = {"type": "button_reply", "button_reply": {"id": content, "title": content[:20]}}
        message = {"type": "interactive", "interactive": reply}
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"display_phone_number": "15550000000", "phone_number_id": "123"},
                                "contacts": [{"wa_id": wa_id, "profile": {"name": "Test"}}],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": message_id,
                                        "timestamp": str(int(time.time())),
                                    }
                                    | message
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def _drain(inbox: asyncio.Queue[str]) -> None:
    while not inbox.empty():
        inbox.get_nowait()


async def _whatsapp_person(
    http: aiohttp.ClientSession,
    base: str,
    wa_id: str,
    steps: list[tuple[str, str]],
    acks: list[float],
    inbox: asyncio.Queue[str] | None,
) -> None:
    for n, (kind, content) in enumerate(steps):
        if inbox is not None:
            _drain(inbox)  # late replies to the previous message do not count for this one
        body = _notification(wa_id, f"wamid.{wa_id}.{n}", kind, content)
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        start = time.perf_counter()
        async with http.post(
            f"{base}/webhooks/whatsapp",
            data=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        ) as resp:
            assert resp.status == 200, resp.status
        acks.append((time.perf_counter() - start) * 1000)
        if inbox is not None:
            await asyncio.wait_for(inbox.get(), 120)


async def _webchat_open(http: aiohttp.ClientSession, base: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"{base}/ws")
    await ws.send_json({"type": "hello", "session": None, "language": "nl"})
    while (await ws.receive_json())["type"] != "transcript":
        pass
    return ws


async def _webchat_person(
    ws: aiohttp.ClientWebSocketResponse, steps: list[tuple[str, str]], acks: list[float]
) -> None:
    for kind, content in steps[1:]:  # the web chat greets by itself
        client_id = uuid.uuid4().hex
        start = time.perf_counter()
        if kind == "text":
            await ws.send_json({"type": "message", "id": client_id, "text": content})
        else:
            await ws.send_json({"type": "button", "id": client_id, "payload": content, "label": content})
        acked = replied = False
        while not (acked and replied):  # the ack and the first reply, in either order
            frame = await ws.receive_json(timeout=120)
            if frame["type"] == "ack" and frame["id"] == client_id:
                acked = True
                acks.append((time.perf_counter() - start) * 1000)
            elif frame["type"] == "message" and frame.get("direction", "out") == "out" and acked:
                replied = True


async def _level(
    base: str,
    users: int,
    per_user: int,
    prefix: str,
    replies: dict[str, asyncio.Queue[str]] | None,
) -> tuple[list[float], float]:
    """Let ``users`` people write ``per_user`` messages each; the acknowledgement times and the wall
    time. Without ``replies`` (the bare handler), nobody waits for a reply."""
    acks: list[float] = []
    chatters = users // WEBCHAT_SHARE if replies is not None else 0
    wa_ids = [f"{prefix}{u:05d}" for u in range(users - chatters)]
    if replies is not None:
        replies.update({wa_id: asyncio.Queue() for wa_id in wa_ids})
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = [await _webchat_open(http, base) for _ in range(chatters)]
        await asyncio.sleep(0.5)  # let the greetings of the new web-chat people go through first
        start = time.perf_counter()
        await asyncio.gather(
            *(
                _whatsapp_person(
                    http, base, wa_id, script(n, per_user), acks, replies[wa_id] if replies else None
                )
                for n, wa_id in enumerate(wa_ids)
            ),
            *(_webchat_person(ws, script(n, per_user + 1), acks) for n, ws in enumerate(sockets)),
        )
        elapsed = time.perf_counter() - start
        for ws in sockets:
            await ws.close()
        return acks, elapsed


async def _newest_message_id(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.coalesce(func.max(Message.id), 0))) or 0)
    finally:
        await engine.dispose()


async def _end_to_end(url: str, after_id: int, expected: int, wait_seconds: float = 300) -> list[float]:
    """Inbound commit → reply in the outbox, per message (waits until all are processed)."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            async with sessions() as session:
                rows = (
                    await session.execute(
                        select(Message.created_at, Message.processed_at).where(
                            Message.id > after_id, Message.direction == "in", Message.kind != "start"
                        )
                    )
                ).all()
            done = [(c, p) for c, p in rows if p is not None]
            if len(done) >= expected or time.monotonic() > deadline:
                return [(p - c).total_seconds() * 1000 for c, p in done]
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def measure(
    app_base: str,
    bare_base: str,
    url: str,
    total: int,
    levels: list[int],
    replies: dict[str, asyncio.Queue[str]],
) -> list[dict[str, object]]:
    """Every concurrency level against the app, then against the bare handler."""
    results = []
    for users in levels:
        per_user = min(max(1, total // users), PER_PERSON_MAX)
        after_id = await _newest_message_id(url)
        acks, elapsed = await _level(app_base, users, per_user, f"31{users:04d}", replies)
        e2e = await _end_to_end(url, after_id, users * per_user)
        # The last reply may be written after the last acknowledgement: count until then.
        finished = elapsed + max(0.0, (percentile(e2e, 1.0) - percentile(acks, 1.0)) / 1000 if e2e else 0.0)
        ceiling_acks, ceiling_elapsed = await _level(bare_base, users, per_user, "bare", None)
        rate = len(e2e) / finished if finished else 0.0
        ceiling = len(ceiling_acks) / ceiling_elapsed
        results.append(
            {
                "users": users,
                "messages": len(e2e),
                "msg_per_s": round(rate, 1),
                "e2e_p50_ms": round(percentile(e2e, 0.5), 1),
                "e2e_p95_ms": round(percentile(e2e, 0.95), 1),
                "e2e_p99_ms": round(percentile(e2e, 0.99), 1),
                "ack_p99_ms": round(percentile(acks, 0.99), 1),
                "ceiling_per_s": round(ceiling, 1),
                "share_of_ceiling": round(rate / ceiling, 3),
            }
        )
    return results


async def _with_standin(url: str, total: int, levels: list[int], graph_port: int, app: str, bare: str):  # type: ignore[no-untyped-def]
    replies: dict[str, asyncio.Queue[str]] = {}
    runner = web.AppRunner(_graph_standin(replies), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", graph_port).start()
    try:
        return await measure(app, bare, url, total, levels, replies)
    finally:
        await runner.cleanup()


def run(url: str, total: int, levels: list[int], processes: int = 1) -> list[dict[str, object]]:
    graph_port, app_port, bare_port = _port(), _port(), _port()
    with _process("app", app_port, url, graph_port, processes), _process("bare", bare_port):
        app, bare = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
        return asyncio.run(_with_standin(url, total, levels, graph_port, app, bare))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--messages", type=int, default=2000, help="per concurrency level")
    parser.add_argument("--levels", default="1,10,50,200")
    parser.add_argument("--processes", type=int, default=1, help="serving processes (PostgreSQL only)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/throughput.json"))
    parser.add_argument("--serve", choices=("app", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--graph-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.url, args.graph_port, args.processes)
        return
    url = fresh_database(args.database, args.pg)
    results = run(url, args.messages, [int(n) for n in args.levels.split(",")], args.processes)
    print(f"{'users':>6}{'msg/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'ceiling/s':>11}{'share':>8}")
    for r in results:
        print(
            f"{r['users']:>6}{r['msg_per_s']:>9}{r['e2e_p50_ms']:>9}{r['e2e_p95_ms']:>9}{r['e2e_p99_ms']:>9}"
            f"{r['ceiling_per_s']:>11}{r['share_of_ceiling']:>8}"
        )
    record = {"database": url.split(":")[0], "processes": args.processes, "levels": results}
    append_result(args.json, record | {"machine": machine()})


if __name__ == "__main__":
    main()
