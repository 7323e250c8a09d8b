"""The outbox sender: delivers queued outbound rows to WhatsApp and Telegram, with retries.

Each pass claims due rows (per person the oldest waiting rows, in order), sends each person's rows
one after the other and different people's concurrently, and records the outcomes. Passing
failures wait with exponential back-off up to a maximum number of attempts; then the row is
``dead`` and staff see it. Stopping finishes the sends in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from cases.db import transaction
from cases.models import Message
from cases.services import outbox

log = logging.getLogger(__name__)

WHATSAPP_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Outgoing:
    """One outbound message as a channel client needs it."""

    message_id: int
    recipient: str  # the platform's id of the person (WhatsApp wa_id, Telegram chat id)
    text: str
    buttons: list[dict[str, str]]
    language: str
    last_inbound_at: dt.datetime | None
    template_kind: str | None = None  # outside the window, send this template instead of holding
    template_params: list[str] | None = None

    @property
    def window_open(self) -> bool:
        """WhatsApp's customer-service window: 24 hours after the person last wrote."""
        return (
            self.last_inbound_at is not None
            and dt.datetime.now(dt.UTC) - self.last_inbound_at < WHATSAPP_WINDOW
        )


@dataclass(frozen=True)
class SendResult:
    outcome: Literal["sent", "retry", "failed", "window_closed"]
    external_id: str | None = None
    retry_after: float | None = None
    code: str = ""
    detail: str = ""


class ChannelClient(Protocol):
    channel: str

    async def send(self, out: Outgoing) -> SendResult: ...

    async def send_template(self, out: Outgoing, kind: str) -> tuple[SendResult, str]:
        """Send the approved template for ``kind``; returns the result and the template name."""
        ...


class OutboxSender:
    """Delivers outbox rows of the registered channels."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, *, batch: int = 50
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.batch = batch
        self.clients: dict[str, ChannelClient] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def register(self, client: ChannelClient) -> None:
        self.clients[client.channel] = client

    def wake(self, _identity_id: int | None = None) -> None:
        """New rows are waiting: run a pass now instead of at the next poll."""
        self._wake.set()

    async def deliver(self, identity_id: int) -> None:
        """Pipeline hook: replies were queued for this identity."""
        self.wake(identity_id)

    async def start(self, poll_seconds: float = 1.0) -> None:
        if self.clients and self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(poll_seconds), name="outbox-sender")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the pass in progress and send what is due now (up to ``grace_seconds``), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self.clients:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_seconds):
                    while await self.run_once():
                        pass

    async def _run(self, poll_seconds: float) -> None:
        while not self._stopping:
            self._wake.clear()  # before the pass, so a wake-up during it is not lost
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
                sent = 0
            if sent == 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), poll_seconds)

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes; returns how many rows were tried.

        Claiming and recording are one transaction each for the whole batch: the platform calls,
        not the database, should set the pace. A person's rows go out in order; after one that is
        not sent, the rest of theirs go back in the queue untried.
        """
        if not self.clients:
            return 0
        async with transaction(self.sessions) as session:
            claimed = await outbox.claim_due(session, list(self.clients), limit=self.batch)
            if not claimed:
                return 0
            work = await self._outgoing(session, claimed)
        people: dict[int, list[tuple[Message, Outgoing | None]]] = {}
        for item in work:
            people.setdefault(item[0].identity_id, []).append(item)
        outcomes = await asyncio.gather(*(self._send_in_order(items) for items in people.values()))
        done = [pair for sent, _ in outcomes for pair in sent]
        untried = [m.id for _, rest in outcomes for m, _ in rest]
        try:
            async with transaction(self.sessions) as session:
                await self._record_all(session, done)
                await outbox.release(session, untried)
        except Exception:  # one odd outcome must not leave the others unrecorded: one at a time
            log.exception("recording a batch of %d sends failed; recording them one by one", len(done))
            for item in done:
                async with transaction(self.sessions) as session:
                    await self._record_all(session, [item])
            async with transaction(self.sessions) as session:
                await outbox.release(session, untried)
        return len(done)

    async def _send_in_order(
        self, items: list[tuple[Message, Outgoing | None]]
    ) -> tuple[
        list[tuple[tuple[Message, Outgoing | None], SendResult]], list[tuple[Message, Outgoing | None]]
    ]:
        """One person's rows, one after the other, until one is not sent; returns the outcomes and
        the rows not tried."""
        done = []
        for n, (message, out) in enumerate(items):
            result = await self._send(message, out)
            done.append(((message, out), result))
            if result.outcome != "sent":
                return done, items[n + 1 :]
        return done, []

    async def _outgoing(
        self, session: AsyncSession, claimed: list[Message]
    ) -> list[tuple[Message, Outgoing | None]]:
        people = await outbox.recipients(session, [m.identity_id for m in claimed])
        whatsapp = [m.identity_id for m in claimed if m.channel == "whatsapp"]
        last_in = await outbox.last_inbound_many(session, whatsapp) if whatsapp else {}
        work: list[tuple[Message, Outgoing | None]] = []
        for message in claimed:
            person = people.get(message.identity_id)
            work.append(
                (
                    message,
                    None
                    if person is None
                    else Outgoing(
                        message_id=message.id,
                        recipient=person.external_id,
                        text=message.text,
                        buttons=list(message.buttons or []),
                        language=message.language or person.language or "nl",
                        last_inbound_at=last_in.get(message.identity_id),
                        template_kind=message.template_kind,
                        template_params=message.template_params,
                    ),
                )
            )
        return work

    async def _send(self, message: Message, out: Outgoing | None) -> SendResult:
        if out is None:
            return SendResult("failed", code="no_recipient", detail="the chat identity no longer exists")
        try:
            return await self.clients[message.channel].send(out)
        except Exception as exc:  # a bug or an unexpected platform answer: retry, never lose it
            log.exception("send failed (message %s)", message.id)
            return SendResult("retry", code="exception", detail=type(exc).__name__)

    async def _record_all(
        self, session: AsyncSession, done: list[tuple[tuple[Message, Outgoing | None], SendResult]]
    ) -> None:
        sent = [(m.id, r.external_id) for (m, _), r in done if r.outcome == "sent"]
        await outbox.record_sent_many(session, sent)
        for (message, out), result in done:
            if result.outcome != "sent":
                await self._record(session, self.clients[message.channel], message, out, result)

    async def _record(
        self,
        session: AsyncSession,
        client: ChannelClient,
        message: Message,
        out: Outgoing | None,
        result: SendResult,
    ) -> None:
        if result.outcome == "sent":
            await outbox.record_sent(session, message.id, result.external_id)
        elif result.outcome == "window_closed" and out is not None:
            await self._hold(session, client, message, out)
        elif result.outcome == "retry":
            await self._retry_or_give_up(session, message, result)
        else:
            await outbox.record_failed(session, message.id, code=result.code, detail=result.detail)

    async def _retry_or_give_up(self, session: AsyncSession, message: Message, result: SendResult) -> None:
        """Back off and try again, or mark the message dead when the attempts are used up."""
        if message.attempts < self.settings.outbox_max_attempts:
            delay = self._delay(message.attempts, result.retry_after)
            await outbox.record_retry(
                session, message.id, delay_seconds=delay, code=result.code, detail=result.detail
            )
        else:
            await outbox.record_failed(session, message.id, code=result.code, detail=result.detail, dead=True)
            log.warning("message %s is dead after %d attempts", message.id, message.attempts)

    async def _hold(
        self, session: AsyncSession, client: ChannelClient, message: Message, out: Outgoing
    ) -> None:
        """Window closed: a reminder goes out as its own template (date, time, quick replies); any
        other text waits, announced by one neutral template (once per waiting batch)."""
        if out.template_kind:
            result, template = await client.send_template(out, out.template_kind)
            if result.outcome == "sent":
                await outbox.record_sent(session, message.id, result.external_id, template=template)
            elif result.outcome == "retry":
                await self._retry_or_give_up(session, message, result)
            else:
                await outbox.record_failed(
                    session, message.id, code=result.code or "template_failed", detail=result.detail
                )
            return
        if await outbox.has_held(session, message.identity_id):
            await outbox.record_held(session, message.id, template=None)
            return
        result, template = await client.send_template(out, "notification")
        if result.outcome == "sent":
            await outbox.record_held(session, message.id, template=template)
        elif result.outcome == "retry":
            await self._retry_or_give_up(session, message, result)
        else:
            code = result.code or "template_failed"
            await outbox.record_failed(session, message.id, code=code, detail=result.detail)

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        base = self.settings.outbox_retry_base_seconds * 2 ** max(0, attempts - 1)
        delay = min(self.settings.outbox_retry_max_seconds, base) * random.uniform(0.8, 1.2)  # noqa: S311
        return max(delay, retry_after or 0.0)
