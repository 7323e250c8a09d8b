"""Puts a Dutch version next to every free text an inburgeraar sends, after the dialog has answered.

Translation happens outside the conversation's transaction and lock, so it never delays an answer.
The chosen language counts unless the person clearly wrote another one (``detect``). Without a
model for the pair, the message is marked ``unavailable`` and staff see the original with a hint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.db import transaction
from cases.models import Message
from cases.services import messages
from locales.translation.detect import detect
from locales.translation.engine import TranslationService

log = logging.getLogger(__name__)


class TranslationWorker:
    """Background task: translate handled inbound texts to Dutch for staff."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], service: TranslationService) -> None:
        self.sessions = sessions
        self.service = service
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def wake(self, _identity_id: int | None = None) -> None:
        self._wake.set()

    async def start(self, poll_seconds: float = 5.0) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(poll_seconds), name="translation-worker")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self, poll_seconds: float) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                done = await self.run_once()
            except Exception:
                log.exception("translation pass failed")
                done = 0
            if done == 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), poll_seconds)

    async def run_once(self, limit: int = 50) -> int:
        """Translate up to ``limit`` waiting messages and record them in one transaction; returns
        how many were handled."""
        async with self.sessions() as session:
            waiting = await messages.needing_translation(session, limit)
        if not waiting:
            return 0
        done = [(message.id, *await self._translate(message)) for message in waiting]
        async with transaction(self.sessions) as session:
            rows = {m.id: m for m in await messages.get_many(session, [d[0] for d in done])}
            for message_id, language, text, engine, model in done:
                row = rows.get(message_id)
                if row is not None and row.translation_engine is None:
                    messages.record_translation(row, language=language, text=text, engine=engine, model=model)
        return len(waiting)

    async def _translate(self, message: Message) -> tuple[str, str | None, str, str]:
        """(language, Dutch text or None, engine, model) for one message."""
        language = detect(message.text, message.language).language or message.language or "nl"
        if language == "nl":
            return language, None, "identity", ""
        try:
            result = await self.service.translate(message.text, language, "nl")
            return language, result.text, result.engine, result.model_version
        except Exception as exc:  # a broken model must not block the queue
            log.exception("translation failed (message %s)", message.id)
            return language, None, "error", type(exc).__name__
