"""The shared translation cache (keyed by a hash of text, pair and model version)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.db import dialect_insert
from cases.models import TranslationCacheEntry, utcnow

TOUCH_AFTER = dt.timedelta(hours=1)


async def lookup(session: AsyncSession, key: str) -> tuple[str, dt.datetime] | None:
    """The cached translation for ``key`` and when it was last used, if any."""
    row = (
        await session.execute(
            select(TranslationCacheEntry.translated_text, TranslationCacheEntry.last_used_at).where(
                TranslationCacheEntry.key == key
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


def needs_touch(last_used_at: dt.datetime) -> bool:
    """Record use at most hourly: enough for retention, without a write on every hit."""
    return utcnow() - last_used_at > TOUCH_AFTER


async def touch(session: AsyncSession, key: str) -> None:
    """Mark an entry as used now (retention drops entries nobody uses)."""
    await session.execute(
        update(TranslationCacheEntry).where(TranslationCacheEntry.key == key).values(last_used_at=utcnow())
    )


async def store(
    session: AsyncSession, key: str, *, source: str, target: str, model_version: str, text: str
) -> None:
    """Keep a translation; two processes translating the same text at once store it once."""
    now = utcnow()
    statement = dialect_insert(session, TranslationCacheEntry).values(
        key=key,
        source=source,
        target=target,
        model_version=model_version[:200],
        translated_text=text,
        created_at=now,
        last_used_at=now,
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
