"""The shared translation cache (keyed by a hash of text, pair and model version)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import TranslationCacheEntry, utcnow


async def lookup(session: AsyncSession, key: str) -> str | None:
    """The cached translation for ``key``, if any."""
    return await session.scalar(
        select(TranslationCacheEntry.translated_text).where(TranslationCacheEntry.key == key)
    )


async def touch(session: AsyncSession, key: str) -> None:
    """Count a cache hit (retention can drop entries nobody uses)."""
    await session.execute(
        update(TranslationCacheEntry)
        .where(TranslationCacheEntry.key == key)
        .values(hits=TranslationCacheEntry.hits + 1, last_used_at=utcnow())
    )


async def store(
    session: AsyncSession, key: str, *, source: str, target: str, model_version: str, text: str
) -> None:
    """Keep a translation; two processes translating the same text at once store it once."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    await session.execute(
        insert(TranslationCacheEntry)
        .values(
            key=key,
            source=source,
            target=target,
            model_version=model_version[:200],
            translated_text=text,
            hits=0,
            created_at=now,
            last_used_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
