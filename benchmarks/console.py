"""Console pages at scale: 100,000 participants and 1,000,000 messages.

    python -m benchmarks.console [--participants 100000] [--messages-each 10] [--database sqlite|postgresql]

A klantmanager of one of ten teams (10,000 participants each) opens the inbox, the participant
list, the conversations list, a participant's case page and an escalation, 100 times each (after
one warm-up request), over HTTP against the real app. The baseline, in the same run, is `/healthz`
(a request that only touches the database). Server time is measured at the client on loopback.
Target (issue 9): p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from benchmarks.common import (
    DEFAULT_PG,
    LANGS,
    append_result,
    fresh_database,
    insert_linked_people,
    machine,
    move_sequences_on,
    percentile,
)
from bot.app import create_app
from bot.settings import load_settings
from cases.db import create_engine, session_factory, transaction
from cases.models import Escalation, Message, utcnow
from cases.services import staff

TEAMS = 10
PASSWORD = "benchmark-password-123"


async def seed(url: str, participants: int, messages_each: int, chunk: int = 5000) -> dict[str, int]:
    """Staff in ten teams, participants spread over them, each with a linked chat and a conversation."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        kms = [
            await staff.create_staff(
                session,
                name=f"Klantmanager {n}",
                email=f"km{n}@bench.nl",
                password=PASSWORD,
                roles=["klantmanager"],
                team=f"Team {n}",
                languages=["nl", LANGS[n % len(LANGS)]],
            )
            for n in range(TEAMS)
        ]
    now = utcnow()
    message_id = 0
    for first in range(0, participants, chunk):
        ids = range(first + 1, min(first + chunk, participants) + 1)
        async with transaction(sessions) as session:
            await insert_linked_people(
                session,
                ids,
                channel=lambda _: "whatsapp",
                extra=lambda i: {"klantmanager_id": kms[i % TEAMS].id, "team_id": kms[i % TEAMS].team_id},
                last_message_at=lambda i: now - dt.timedelta(minutes=i % 5000),
            )
            rows = []
            for i in ids:
                for n in range(messages_each):
                    message_id += 1
                    inbound = n % 2 == 0
                    rows.append(
                        {
                            "id": message_id,
                            "conversation_id": i,
                            "identity_id": i,
                            "participant_id": i,
                            "direction": "in" if inbound else "out",
                            "channel": "whatsapp",
                            "external_id": f"wamid.{message_id}" if inbound else None,
                            "kind": "text",
                            "text": "Wanneer is mijn volgende afspraak?"
                            if inbound
                            else "Uw volgende afspraak is dinsdag.",
                            "language": "nl",
                            "status": "processed" if inbound else "delivered",
                            "attempts": 0,
                            "created_at": now - dt.timedelta(minutes=(messages_each - n) + i % 5000),
                        }
                    )
            await session.execute(Message.__table__.insert(), rows)
            await session.execute(
                Escalation.__table__.insert(),
                [
                    {
                        "conversation_id": i,
                        "identity_id": i,
                        "participant_id": i,
                        "reason": "person_requested",
                        "confidential": False,
                        "status": "open",
                        "priority": "normal",
                        "team_id": kms[i % TEAMS].team_id,
                        "language": LANGS[i % len(LANGS)],
                        "last_inbound_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                    if i % 50 == 0
                ],
            )
    if url.startswith("postgresql"):
        async with transaction(sessions) as session:
            await move_sequences_on(
                session, ("participants", "channel_identities", "conversations", "messages")
            )
            await session.execute(text("ANALYZE"))
    await engine.dispose()
    return {"participants": participants, "messages": message_id}


async def measure(url: str, rounds: int) -> dict[str, dict[str, float]]:
    settings = load_settings(database_url=url, secret_key="x" * 40, cookie_secure=False)
    app = create_app(settings)
    results: dict[str, dict[str, float]] = {}
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        page = await client.get("/console/login")
        token = (await page.text()).split('name="csrf_token" value="')[1].split('"')[0]
        await client.post(
            "/console/login", data={"email": "km0@bench.nl", "password": PASSWORD, "csrf_token": token}
        )
        pages = {
            "baseline /healthz": "/healthz",
            "inbox": "/console/inbox",
            "participants": "/console/participants",
            "conversations": "/console/conversations",
            "case page": "/console/participants/{pid}",
            "escalation": "/console/escalations/{eid}",
        }
        for name, path in pages.items():
            await (await client.get(path.format(pid=20, eid=1))).read()  # one warm-up request, not counted
            timings = []
            for n in range(rounds):
                pid = 10 * (n + 1) + 10  # team 0 participants: ids divisible by 10
                concrete = path.format(pid=pid, eid=n + 1)
                start = time.perf_counter()
                resp = await client.get(concrete)
                await resp.read()
                timings.append((time.perf_counter() - start) * 1000)
                assert resp.status in (200, 404), (concrete, resp.status)
            results[name] = {
                "p50_ms": round(percentile(timings, 0.5), 1),
                "p95_ms": round(percentile(timings, 0.95), 1),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--messages-each", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/console.json"))
    args = parser.parse_args()
    url = fresh_database(args.database, args.pg)
    t0 = time.perf_counter()
    sizes = asyncio.run(seed(url, args.participants, args.messages_each))
    seeded = time.perf_counter() - t0
    results = asyncio.run(measure(url, args.rounds))
    baseline = results["baseline /healthz"]["p95_ms"] or 0.1
    size = f"{sizes['participants']:,} participants, {sizes['messages']:,} messages"
    print(f"{url.split(':')[0]}: {size} (seeded in {seeded:.0f} s)")
    print(f"{'page':<20}{'p50 ms':>9}{'p95 ms':>9}{'p95/baseline':>14}")
    for name, r in results.items():
        print(f"{name:<20}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p95_ms'] / baseline:>13.1f}×")
    record = {
        "database": url.split(":")[0],
        **sizes,
        "pages": results,
        "machine": machine(),
    }
    append_result(args.json, record)


if __name__ == "__main__":
    main()
