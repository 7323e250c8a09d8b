"""Reminder dispatch at scale: 100,000 due reminders handed to the outbox, and how many doubled.

    python -m benchmarks.reminders [--reminders 100000] [--database sqlite|postgresql|URL] [--workers 1]

The seed is realistic in shape: linked, consented chat identities in several languages, each with a
planned appointment ahead and ten due reminders for it. The dispatcher runs as in production (batches
of ``WEGWIJS_REMINDER_BATCH``, one transaction each); ``--workers 2`` runs two dispatchers at once,
which on PostgreSQL share the work through SKIP LOCKED. The baseline, measured in the same run, is
a bare bulk INSERT of the same number of outbox rows: the floor for writing them at all.
Target (issue 6): all 100,000 in the outbox within 60 s, zero duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from pathlib import Path

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.common import (
    DEFAULT_PG,
    append_result,
    fresh_database,
    insert_linked_people,
    machine,
    move_sequences_on,
)
from bot.settings import load_settings
from cases.db import create_engine, session_factory, transaction
from cases.models import (
    Appointment,
    Message,
    Participant,
    Reminder,
    utcnow,
)
from scheduler.reminders import ReminderDispatcher

CHANNELS = ("whatsapp", "telegram", "webchat")


async def seed(
    sessions: async_sessionmaker[AsyncSession],
    *,
    participants: int,
    per_participant: int,
    due_at: dt.datetime,
    chunk: int = 2000,
) -> int:
    """Create ``participants`` linked people, each with an appointment ahead and ``per_participant``
    reminders due at ``due_at``. Returns the number of reminders."""
    now = utcnow()
    starts = now + dt.timedelta(days=30)
    async with sessions() as session:
        offset = int(await session.scalar(select(func.coalesce(func.max(Participant.id), 0))) or 0)
    for first in range(0, participants, chunk):
        ids = range(offset + first + 1, offset + min(first + chunk, participants) + 1)
        async with transaction(sessions) as session:
            await insert_linked_people(session, ids, channel=lambda i: CHANNELS[i % len(CHANNELS)])
            await session.execute(
                insert(Appointment),
                [
                    {
                        "id": i,
                        "participant_id": i,
                        "type_key": "voortgangsgesprek",
                        "starts_at": starts,
                        "duration_minutes": 45,
                        "location_kind": "office",
                        "location": "Stadskantoor, kamer 2.12",
                        "status": "planned",
                        "tolk_needed": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            await session.execute(
                insert(Reminder),
                [
                    {
                        "dedupe_key": f"bench:{i}:{n}",
                        "kind": "appointment",
                        "rule": f"{n + 1}d",
                        "participant_id": i,
                        "appointment_id": i,
                        "due_at": due_at,
                        "status": "pending",
                        "created_at": now,
                    }
                    for i in ids
                    for n in range(per_participant)
                ],
            )
    if sessions.kw["bind"].dialect.name == "postgresql":  # explicit ids: move the sequences on
        async with transaction(sessions) as session:
            await move_sequences_on(
                session, ("participants", "channel_identities", "conversations", "appointments")
            )
    return participants * per_participant


async def outcome(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Reminders handled, reminder messages in the outbox, and duplicates (messages beyond one per
    reminder, or reminders pointing at the same message)."""
    async with sessions() as session:
        pending = await session.scalar(select(func.count()).where(Reminder.status == "pending"))
        sent = await session.scalar(select(func.count()).where(Reminder.status == "sent"))
        linked = await session.scalar(select(func.count(func.distinct(Reminder.message_id))))
        messages = await session.scalar(
            select(func.count()).where(Message.direction == "out", Message.intent.like("reminder.%"))
        )
    return {
        "pending": int(pending or 0),
        "sent": int(sent or 0),
        "messages": int(messages or 0),
        "duplicates": int(messages or 0) - int(linked or 0) + (int(sent or 0) - int(linked or 0)),
    }


async def _bare_insert(sessions: async_sessionmaker[AsyncSession], count: int, people: int) -> float:
    """The baseline: the same number of outbox rows written in bulk, with no work around them."""
    now = utcnow()
    rows = [
        {
            "conversation_id": 1 + i % people,
            "identity_id": 1 + i % people,
            "direction": "out",
            "channel": "webchat",
            "kind": "text",
            "text": "Herinnering van de gemeente: u heeft een afspraak op dinsdag 1 december om 10:00.",
            "status": "queued",
            "attempts": 0,
            "intent": "baseline",
            "created_at": now,
        }
        for i in range(count)
    ]
    start = time.perf_counter()
    for first in range(0, count, 5000):
        async with transaction(sessions) as session:
            await session.execute(insert(Message), rows[first : first + 5000])
    elapsed = time.perf_counter() - start
    async with transaction(sessions) as session:
        await session.execute(delete(Message).where(Message.intent == "baseline"))
    return elapsed


async def run(url: str, total: int, workers: int) -> dict[str, object]:
    # Quiet hours off: the benchmark measures dispatch, whatever the time of day it runs at.
    settings = load_settings(
        database_url=url, secret_key="x" * 40, quiet_hours_start="00:00", quiet_hours_end="00:00"
    )
    engine = create_engine(url)
    sessions = session_factory(engine)
    per = 10
    t0 = time.perf_counter()
    count = await seed(
        sessions, participants=total // per, per_participant=per, due_at=utcnow() - dt.timedelta(minutes=1)
    )
    seeded = time.perf_counter() - t0
    baseline = await _bare_insert(sessions, count, people=total // per)
    dispatchers = [
        ReminderDispatcher(sessions if workers == 1 else session_factory(create_engine(url)), settings)
        for _ in range(workers)
    ]
    start = time.perf_counter()
    reports = await asyncio.gather(*(d.run() for d in dispatchers))
    elapsed = time.perf_counter() - start
    result = await outcome(sessions)
    await engine.dispose()
    return {
        "database": url.split(":")[0],
        "reminders": count,
        "workers": workers,
        "batch": settings.reminder_batch,
        "seconds": round(elapsed, 2),
        "per_second": round(count / elapsed),
        "baseline_bulk_insert_seconds": round(baseline, 2),
        "ratio_to_baseline": round(elapsed / baseline, 1),
        "seed_seconds": round(seeded, 1),
        "batches": sum(r.batches for r in reports),
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--database", default="sqlite", help="sqlite, postgresql or a database URL")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server for --database postgresql")
    parser.add_argument("--workers", type=int, default=1, help="dispatchers running at once")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/reminders.json"))
    args = parser.parse_args()
    url = fresh_database(args.database, args.pg)
    result = asyncio.run(run(url, args.reminders, args.workers))
    result["machine"] = machine()
    print(
        f"{'database':<11}{'reminders':>10}{'workers':>8}{'seconds':>9}{'per s':>8}{'baseline s':>11}"
        f"{'ratio':>7}{'duplicates':>11}{'pending':>8}"
    )
    print(
        f"{result['database']:<11}{result['reminders']:>10}{result['workers']:>8}{result['seconds']:>9}"
        f"{result['per_second']:>8}{result['baseline_bulk_insert_seconds']:>11}{result['ratio_to_baseline']:>7}"
        f"{result['duplicates']:>11}{result['pending']:>8}"
    )
    append_result(args.json, result)


if __name__ == "__main__":
    main()
