"""Housekeeping jobs and the scheduler that runs them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from bot.pipeline import Pipeline
from cases.db import transaction
from cases.models import Koppelcode, Message
from cases.services import identities, koppelcode
from scheduler.housekeeping import purge_expired_koppelcodes, requeue_stale_inbox
from scheduler.reminders import ReminderDispatcher
from scheduler.runner import create_scheduler
from tests.helpers import make_participant


async def test_stale_inbox_rows_are_picked_up_by_a_living_worker(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, "webchat", "x")
        await identities.give_consent(session, identity)
    await pipeline.accept(identity, external_id="fresh", text="hallo", schedule=False)
    assert await requeue_stale_inbox(pipeline, older_than_seconds=30) == 0, (
        "fresh rows belong to their worker"
    )
    async with transaction(sessions) as session:
        await session.execute(
            update(Message).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        )
    assert await requeue_stale_inbox(pipeline, older_than_seconds=30) == 1
    await pipeline.start()
    await pipeline.stop()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).where(Message.direction == "out")) == 1


async def test_only_long_expired_unused_codes_are_purged(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    participant = await make_participant(sessions)
    async with transaction(sessions) as session:
        for _ in range(3):
            await koppelcode.create_koppelcode(session, participant, valid_days=1, created_by=None)
    async with transaction(sessions) as session:
        ids = list(await session.scalars(select(Koppelcode.id).order_by(Koppelcode.id)))
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
        await session.execute(
            update(Koppelcode).where(Koppelcode.id.in_(ids[:2])).values(expires_at=long_ago)
        )
        await session.execute(update(Koppelcode).where(Koppelcode.id == ids[1]).values(used_at=long_ago))
    assert await purge_expired_koppelcodes(Pipeline(sessions, settings)) == 1
    async with sessions() as session:
        assert list(await session.scalars(select(Koppelcode.id).order_by(Koppelcode.id))) == ids[1:]


async def test_scheduler_has_the_housekeeping_jobs(sessions, settings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(sessions, settings)
    scheduler = create_scheduler(pipeline, ReminderDispatcher(sessions, settings, on_queued=pipeline.deliver))
    scheduler.start(paused=True)
    try:
        assert {job.id for job in scheduler.get_jobs()} == {
            "dispatch-reminders",
            "deadline-scan",
            "requeue-stale-inbox",
            "purge-expired-koppelcodes",
            "apply-retention",
        }
    finally:
        scheduler.shutdown(wait=False)
