"""End-to-end throughput: simulated people writing over the signed WhatsApp webhook and the web chat.

    python -m benchmarks.throughput [--database sqlite|postgresql] [--messages 400] [--levels 1,10,50]

The real app serves on a local port, with the WhatsApp sender pointed at a local Graph API stand-in.
At each concurrency level, that many people each send messages one after the other (signed
webhook POSTs; plus web-chat users over the websocket at the highest level). Per message, the
end-to-end time runs from the inbound commit to the reply in the outbox (the message's
``processed_at``, written in the same transaction as the reply). In the same run a bare aiohttp
handler answers the same POST without any work: the ceiling. Targets (issue 9): ≥1,000 msg/s on
SQLite with p99 < 100 ms, and ≥20% of the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import socket
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import select

from benchmarks.common import DEFAULT_PG, append_result, fresh_database, machine, percentile
from bot.app import create_app
from bot.settings import load_settings
from cases.db import create_engine, session_factory
from cases.models import Message

APP_SECRET = "bench-app-secret"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def _graph_standin() -> web.Application:
    """Accepts every send like the Graph API does (an id per message)."""
    counter = iter(range(10**9))

    async def send(_: web.Request) -> web.Response:
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


def _notification(wa_id: str, message_id: str, text: str) -> bytes:
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
                                        "type": "text",
                                        "text": {"body": text},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


async def _person(http: aiohttp.ClientSession, base: str, wa_id: str, count: int, acks: list[float]) -> None:
    for n in range(count):
        body = _notification(wa_id, f"wamid.{wa_id}.{n}", ("hallo", "menu", "wat is een PIP")[n % 3])
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        start = time.perf_counter()
        async with http.post(
            f"{base}/webhooks/whatsapp",
            data=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        ) as resp:
            assert resp.status == 200, resp.status
        acks.append((time.perf_counter() - start) * 1000)


async def _level(base: str, users: int, per_user: int, prefix: str) -> tuple[list[float], float]:
    acks: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        start = time.perf_counter()
        await asyncio.gather(*(_person(http, base, f"{prefix}{u:05d}", per_user, acks) for u in range(users)))
        return acks, time.perf_counter() - start


async def _end_to_end(url: str, prefix: str, expected: int, wait_seconds: float = 120) -> list[float]:
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
                            Message.direction == "in", Message.external_id.like(f"wamid.{prefix}%")
                        )
                    )
                ).all()
            done = [(c, p) for c, p in rows if p is not None]
            if len(done) >= expected or time.monotonic() > deadline:
                return [(p - c).total_seconds() * 1000 for c, p in done]
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def run(url: str, total: int, levels: list[int]) -> list[dict[str, object]]:
    graph_port, app_port, bare_port = _port(), _port(), _port()
    graph = await _serve(_graph_standin(), graph_port)
    settings = load_settings(
        database_url=url,
        secret_key="x" * 40,
        port=app_port,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token="v",
        whatsapp_access_token="t",
        whatsapp_phone_number_id="123",
        whatsapp_api_base=f"http://127.0.0.1:{graph_port}",
    )
    app = await _serve(create_app(settings), app_port)
    bare = await _serve(_bare(), bare_port)
    results = []
    try:
        for users in levels:
            per_user = max(1, total // users)
            prefix = f"31{users:03d}"
            acks, elapsed = await _level(f"http://127.0.0.1:{app_port}", users, per_user, prefix)
            e2e = await _end_to_end(url, prefix, users * per_user)
            finished = elapsed + (percentile(e2e, 1.0) / 1000 if e2e else 0)
            ceiling_acks, ceiling_elapsed = await _level(
                f"http://127.0.0.1:{bare_port}", users, per_user, "bare"
            )
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
    finally:
        await app.cleanup()
        await bare.cleanup()
        await graph.cleanup()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--messages", type=int, default=400, help="per concurrency level")
    parser.add_argument("--levels", default="1,10,50")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/throughput.json"))
    args = parser.parse_args()
    url = fresh_database(args.database, args.pg)
    results = asyncio.run(run(url, args.messages, [int(n) for n in args.levels.split(",")]))
    print(f"{'users':>6}{'msg/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'ceiling/s':>11}{'share':>8}")
    for r in results:
        print(
            f"{r['users']:>6}{r['msg_per_s']:>9}{r['e2e_p50_ms']:>9}{r['e2e_p95_ms']:>9}{r['e2e_p99_ms']:>9}"
            f"{r['ceiling_per_s']:>11}{r['share_of_ceiling']:>8}"
        )
    record = {
        "database": url.split(":")[0],
        "levels": results,
        "machine": machine(),
    }
    append_result(args.json, record)


if __name__ == "__main__":
    main()
