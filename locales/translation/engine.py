"""The translation service: argos-translate in a bounded thread pool, with a shared cache.

A translation never runs on the event loop: CTranslate2 works in worker threads (it releases the
GIL), at most ``threads`` at a time, so one long text cannot stall other conversations. Results are
cached in the database, keyed by text, pair and model version, so the same text is never
translated twice (also not by another process), with a small in-process LRU in front of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.db import transaction
from cases.services import translation_cache
from locales.translation import packages

log = logging.getLogger(__name__)
ENGINE = "argos-translate"


@dataclass(frozen=True)
class Translation:
    text: str | None  # None: no model for this pair
    source: str
    target: str
    engine: str  # argos-translate | identity | unavailable
    model_version: str
    route: str  # identity | direct | pivot | unavailable
    cached: bool = False

    @property
    def available(self) -> bool:
        return self.text is not None


def _cache_key(text: str, source: str, target: str, model_version: str) -> str:
    return hashlib.sha256("\x00".join((source, target, model_version, text)).encode()).hexdigest()


def _translate_blocking(text: str, source: str, target: str) -> str:
    from argostranslate import translate

    source_language = translate.get_language_from_code(source)
    target_language = translate.get_language_from_code(target)
    if source_language is None or target_language is None:
        raise LookupError(f"no installed language for {source}→{target}")
    translation = source_language.get_translation(target_language)
    if translation is None:
        raise LookupError(f"no translation {source}→{target}")
    return translation.translate(text)


class TranslationService:
    """Translates free text between Dutch and the other languages, offline."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, threads: int = 2, recent_size: int = 4096
    ) -> None:
        self.sessions = sessions
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="translate")
        self._slots = asyncio.Semaphore(threads)
        self.cache_hits = 0
        self.cache_misses = 0
        self._recent: OrderedDict[str, str] = OrderedDict()
        self._recent_size = recent_size

    async def translate(self, text: str, source: str, target: str) -> Translation:
        """``text`` from ``source`` to ``target``; ``text=None`` in the result when no model exists."""
        route = packages.route(source, target)
        if route.kind == "identity":
            return Translation(text, source, target, "identity", "", "identity")
        if route.kind == "unavailable":
            return Translation(None, source, target, "unavailable", "", "unavailable")
        key = _cache_key(text, source, target, route.model_version)
        if (local := self._recent.get(key)) is not None:
            self._recent.move_to_end(key)
            self.cache_hits += 1
            return Translation(local, source, target, ENGINE, route.model_version, route.kind, cached=True)
        async with self.sessions() as session:
            cached = await translation_cache.lookup(session, key)
        if cached is not None:
            self.cache_hits += 1
            cached_text, last_used = cached
            if translation_cache.needs_touch(last_used):
                async with transaction(self.sessions) as session:
                    await translation_cache.touch(session, key)
            self._remember(key, cached_text)
            return Translation(
                cached_text, source, target, ENGINE, route.model_version, route.kind, cached=True
            )
        self.cache_misses += 1
        async with self._slots:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._pool, _translate_blocking, text, source, target)
        async with transaction(self.sessions) as session:
            await translation_cache.store(
                session, key, source=source, target=target, model_version=route.model_version, text=result
            )
        self._remember(key, result)
        return Translation(result, source, target, ENGINE, route.model_version, route.kind)

    def _remember(self, key: str, text: str) -> None:
        self._recent[key] = text
        if len(self._recent) > self._recent_size:
            self._recent.popitem(last=False)

    def close(self) -> None:
        """Finish running translations and stop the threads."""
        self._pool.shutdown(wait=True)
