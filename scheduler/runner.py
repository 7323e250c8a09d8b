"""The APScheduler instance of a serving process and the jobs it runs."""

from __future__ import annotations

import datetime as dt

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.pipeline import Pipeline
from cases.models import utcnow
from scheduler import deadlines
from scheduler.housekeeping import apply_retention, purge_expired_koppelcodes, requeue_stale_inbox
from scheduler.reminders import ReminderDispatcher

DISPATCH_EVERY_SECONDS = 15
STARTUP_SCAN_DELAY_SECONDS = 60


def create_scheduler(pipeline: Pipeline, dispatcher: ReminderDispatcher) -> AsyncIOScheduler:
    """A scheduler (not yet started) with the reminder, deadline and housekeeping jobs, in the
    gemeente's time zone."""
    scheduler = AsyncIOScheduler(timezone=pipeline.settings.timezone)
    once = {"max_instances": 1, "coalesce": True}
    scheduler.add_job(
        dispatcher.run,
        IntervalTrigger(seconds=DISPATCH_EVERY_SECONDS),
        id="dispatch-reminders",
        next_run_time=utcnow(),
        **once,
    )
    scheduler.add_job(
        deadlines.scan,
        CronTrigger(hour=7, minute=0),
        args=[pipeline.sessions, pipeline.settings],
        id="deadline-scan",
        # Also soon after start-up (a process that was down catches up), once it is serving.
        next_run_time=utcnow() + dt.timedelta(seconds=STARTUP_SCAN_DELAY_SECONDS),
        **once,
    )
    scheduler.add_job(
        requeue_stale_inbox, IntervalTrigger(seconds=30), args=[pipeline], id="requeue-stale-inbox", **once
    )
    scheduler.add_job(
        purge_expired_koppelcodes,
        CronTrigger(hour=3, minute=15),
        args=[pipeline],
        id="purge-expired-koppelcodes",
        **once,
    )
    scheduler.add_job(
        apply_retention, CronTrigger(hour=2, minute=30), args=[pipeline], id="apply-retention", **once
    )
    return scheduler
