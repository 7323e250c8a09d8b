"""Housekeeping jobs: work a dead worker left behind, and codes nobody can use any more."""

from __future__ import annotations

import datetime as dt
import logging

from bot.pipeline import Pipeline
from cases.db import transaction
from cases.models import utcnow
from cases.services import koppelcode, messages, privacy

log = logging.getLogger(__name__)


async def requeue_stale_inbox(pipeline: Pipeline, *, older_than_seconds: int = 30) -> int:
    """Schedule identities whose inbox rows wait too long (another process died mid-way)."""
    async with pipeline.sessions() as session:
        stale = await messages.identities_with_stale_pending(
            session, utcnow() - dt.timedelta(seconds=older_than_seconds)
        )
    for identity_id in stale:
        pipeline.schedule(identity_id)
    if stale:
        log.warning("requeued %d identities with stale inbox rows", len(stale))
    return len(stale)


async def purge_expired_koppelcodes(pipeline: Pipeline, *, expired_for_days: int = 30) -> int:
    """Remove koppelcodes that expired unused a while ago."""
    async with transaction(pipeline.sessions) as session:
        count = await koppelcode.purge_expired(session, expired_for_days=expired_for_days)
    if count:
        log.info("purged %d expired koppelcodes", count)
    return count


async def apply_retention(pipeline: Pipeline) -> dict[str, int]:
    """Daily: remove message texts kept longer than the retention period, and say what went."""
    async with transaction(pipeline.sessions) as session:
        report = await privacy.apply_retention(session, months=pipeline.settings.retention_months)
    log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in report.items()))
    return report
