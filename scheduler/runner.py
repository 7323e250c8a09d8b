"""The APScheduler instance of a serving process and the jobs it runs."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.pipeline import Pipeline
from scheduler.housekeeping import purge_expired_koppelcodes, requeue_stale_inbox


def create_scheduler(pipeline: Pipeline) -> AsyncIOScheduler:
    """A scheduler (not yet started) with the housekeeping jobs, in the gemeente's time zone."""
    scheduler = AsyncIOScheduler(timezone=pipeline.settings.timezone)
    scheduler.add_job(
        requeue_stale_inbox,
        IntervalTrigger(seconds=30),
        args=[pipeline],
        id="requeue-stale-inbox",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        purge_expired_koppelcodes,
        CronTrigger(hour=3, minute=15),
        args=[pipeline],
        id="purge-expired-koppelcodes",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
