"""How much the durable pipeline costs per message, against the bare dialog engine in the same run.

    python -m benchmarks.pipeline [--messages 500] [--database sqlite|postgresql|URL] [--out FILE]

Baseline: ``dialogs.engine.handle`` alone (no database). Measured: inbox commit → dialog → outbox
commit for a consented web-chat user, sequentially (latency) and with concurrent users (throughput).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from pathlib import Path

from benchmarks.common import DEFAULT_PG, fresh_database, percentile
from bot.pipeline import Pipeline
from bot.settings import load_settings
from cases.db import create_engine, session_factory, transaction
from cases.services import identities
from dialogs import engine as dialog_engine
from dialogs.model import Context, Inbound

TEXTS = ["hallo", "Mijn afspraken", "Documenten", "menu", "wat is dit?", "Vragen over inburgering"]


def engine_baseline(n: int) -> list[float]:
    ctx = Context(language="nl", consented=True, state={"step": "menu"})
    times = []
    for i in range(n):
        start = time.perf_counter()
        dialog_engine.handle(ctx, Inbound("text", TEXTS[i % len(TEXTS)]))
        times.append(time.perf_counter() - start)
    return times


async def pipeline_run(url: str, n: int, users: int) -> tuple[list[float], float]:
    settings = load_settings(database_url=url, secret_key="b" * 40)
    db = create_engine(url)
    sessions = session_factory(db)
    pipeline = Pipeline(sessions, settings)
    ids = []
    async with transaction(sessions) as session:
        for u in range(users):
            identity = await identities.get_or_create(session, "webchat", f"bench-{uuid.uuid4().hex}-{u}")
            identities.set_language(identity, "nl")
            await identities.give_consent(session, identity)
            ids.append(identity)
    latencies: list[float] = []

    async def user(identity, count: int) -> None:  # type: ignore[no-untyped-def]
        for i in range(count):
            start = time.perf_counter()
            await pipeline.accept(
                identity, external_id=uuid.uuid4().hex, text=TEXTS[i % len(TEXTS)], schedule=False
            )
            await pipeline.process(identity.id)
            latencies.append(time.perf_counter() - start)

    wall = time.perf_counter()
    await asyncio.gather(*(user(identity, n // users) for identity in ids))
    wall = time.perf_counter() - wall
    await db.dispose()
    return latencies, wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--database", default="sqlite", help="sqlite, postgresql, or a database URL")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pipeline.json"))
    args = parser.parse_args()

    url = fresh_database(args.database, args.pg)

    base = engine_baseline(args.messages)
    rows = []
    for users in (1, 10, 50):
        latencies, wall = asyncio.run(pipeline_run(url, args.messages, users))
        rows.append(
            {
                "users": users,
                "messages": len(latencies),
                "msg_per_s": len(latencies) / wall,
                "p50_ms": 1000 * percentile(latencies, 0.50),
                "p95_ms": 1000 * percentile(latencies, 0.95),
                "p99_ms": 1000 * percentile(latencies, 0.99),
            }
        )
    base_p50 = statistics.median(base)
    result = {
        "scenario": "pipeline",
        "database": args.database,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "baseline_engine_p50_ms": 1000 * base_p50,
        "runs": rows,
        "pipeline_to_engine_ratio_p50": rows[0]["p50_ms"] / (1000 * base_p50),
    }
    print(f"pipeline benchmark on {args.database}: {args.messages} messages per run")
    print(f"baseline (dialog engine alone): p50 {1000 * base_p50:.3f} ms")
    print(f"{'users':>6} {'msg/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for r in rows:
        cells = [f"{r[k]:>8.2f}" for k in ("p50_ms", "p95_ms", "p99_ms")]
        print(f"{r['users']:>6} {r['msg_per_s']:>9.1f} " + " ".join(cells))
    ratio = result["pipeline_to_engine_ratio_p50"]
    print(f"one message through the durable pipeline costs {ratio:.0f}× the engine alone")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
