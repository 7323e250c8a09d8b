"""The message pipeline: durable inbox → dialog engine → outbox, one participant at a time.

An inbound message is committed before anything else happens (the channel may acknowledge then).
Workers take identities with waiting messages and handle those messages in order, each message in
one transaction together with every effect and reply it causes. Unprocessed rows are picked up
again at start-up, so a crash between commit and processing loses nothing and repeats nothing.

Under load, both steps group their work: messages that arrive while the inbox is committing are
committed together in the next transaction (group commit), and a worker handles the next message
of many waiting people in one transaction. Each commit costs the same whether it carries one
message or fifty, so throughput grows with load instead of the queue. A batch that fails is rolled
back as a whole and its people are handled one by one, so one bad message still blocks nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import calendar
from bot.settings import Settings
from cases.db import transaction
from cases.models import ChannelIdentity, Conversation, Message, utcnow
from cases.services import (
    appointments,
    checklists,
    console_settings,
    escalations,
    identities,
    knowledge,
    koppelcode,
    messages,
    outbox,
    participants,
    privacy,
)
from dialogs import appointments as appointment_flow
from dialogs import engine
from dialogs.model import (
    AppointmentView,
    AttemptLink,
    BookSlot,
    CancelAppointment,
    CaseView,
    ConfirmAppointment,
    Context,
    DeclineConsent,
    DialogResult,
    DocumentView,
    GiveConsent,
    Inbound,
    MarkDocument,
    OfferSlots,
    RaiseSafetyAlert,
    RecordFeedback,
    RecordUnanswered,
    RequestErasure,
    RequestHandoff,
    RequestTolk,
    SetLanguage,
    SetReminders,
    ShowArticle,
    SlotView,
)
from locales.catalog import t
from locales.languages import supported
from locales.translation import packages
from locales.translation.detect import other_language
from locales.translation.engine import TranslationService
from scheduler.rules import OfficeHours

log = logging.getLogger(__name__)
_FLOOD_WINDOW = dt.timedelta(minutes=1)
INTAKE_BATCH = 200  # arrivals per inbox transaction

Deliver = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Accepted:
    message_id: int
    identity_id: int
    created: bool


@dataclass
class _Arrival:
    """An inbound message waiting for the next inbox commit, and the future its sender awaits."""

    channel: str
    user: str
    external_id: str
    kind: str
    text: str
    payload: str | None
    language_hint: str | None
    schedule: bool
    future: asyncio.Future[Accepted]


@dataclass(frozen=True)
class Staffing:
    office: OfficeHours
    keywords: tuple[str, ...]
    response_hours: int


@dataclass
class Turn:
    """What processing one inbound message produced."""

    message_id: int
    channel: str
    intent: str
    language: str
    escalated: bool
    more_waiting: bool = False
    identity_id: int = 0
    replies: list[Message] = field(default_factory=list, repr=False)

    @property
    def outbound_ids(self) -> list[int]:
        """The ids of the replies (known once they are flushed)."""
        return [m.id for m in self.replies]


class Pipeline:
    """Owns the conversation workers of one process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        translator: TranslationService | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.translator = translator
        self.planning = settings.planning()
        self.link_key = settings.effective_secret_key() if settings.secret_key or settings.demo else ""
        self._deliverers: dict[str, Deliver] = {}
        self._after_turn: list[Deliver] = []
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._queued: set[int] = set()
        # Weak values: a lock lives while a task holds or waits for it, then disappears.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._workers: list[asyncio.Task[None]] = []
        self._arrivals: list[_Arrival] = []
        self._committer: asyncio.Task[None] | None = None
        self._staffing_cache: tuple[float, Staffing] | None = None

    def register_channel(self, channel: str, deliver: Deliver) -> None:
        """Tell the pipeline how to hand queued outbound messages of ``channel`` to the platform."""
        self._deliverers[channel] = deliver

    async def deliver(self, channel: str, identity_id: int) -> None:
        """Hand queued outbound messages of one identity to its channel (used after reminders)."""
        if deliver := self._deliverers.get(channel):
            await deliver(identity_id)

    def after_turn(self, hook: Deliver) -> None:
        """Call ``hook(identity_id)`` after messages of an identity were handled (e.g. translation)."""
        self._after_turn.append(hook)

    async def accept(
        self,
        identity: ChannelIdentity,
        *,
        external_id: str,
        kind: str = "text",
        text: str = "",
        payload: str | None = None,
        language_hint: str | None = None,
        schedule: bool = True,
    ) -> Accepted:
        """Commit an inbound message to the inbox (idempotent per external id) and schedule it.

        Returns once the row is committed. Messages that arrive while a commit is running share the
        next one. ``language_hint`` (the app's or browser's language) is remembered on first contact.
        """
        arrival = _Arrival(
            identity.channel,
            identity.external_id,
            external_id,
            kind,
            text,
            payload,
            language_hint,
            schedule,
            asyncio.get_running_loop().create_future(),
        )
        self._arrivals.append(arrival)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_arrivals(), name="inbox-commit")
        # Shielded: a sender that hangs up does not cancel the commit others are waiting for.
        return await asyncio.shield(arrival.future)

    async def _commit_arrivals(self) -> None:
        while self._arrivals:
            batch = self._arrivals[:INTAKE_BATCH]
            del self._arrivals[:INTAKE_BATCH]
            outcomes: list[Accepted | Exception]
            try:
                outcomes = list(await self._store_arrivals(batch))
            except Exception:
                outcomes = []
                for arrival in batch:  # one bad message must not fail the others: one at a time
                    try:
                        outcomes.extend(await self._store_arrivals([arrival]))
                    except Exception as exc:
                        outcomes.append(exc)
            for arrival, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Accepted) and outcome.created and arrival.schedule:
                    self.schedule(outcome.identity_id)
                if arrival.future.done():
                    continue
                if isinstance(outcome, Exception):
                    arrival.future.set_exception(outcome)
                else:
                    arrival.future.set_result(outcome)

    async def _store_arrivals(self, batch: list[_Arrival]) -> list[Accepted]:
        """One inbox transaction for ``batch``, in arrival order."""
        async with transaction(self.sessions) as session:
            stored = await messages.store_inbound_many(
                session,
                [
                    messages.NewInbound(
                        a.channel,
                        a.user,
                        a.external_id,
                        a.kind,
                        a.text,
                        a.payload,
                        supported(a.language_hint),
                    )
                    for a in batch
                ],
            )
            # The person wrote: WhatsApp's window is open again, held replies can go.
            whatsapp = {
                s.identity_id
                for a, s in zip(batch, stored, strict=True)
                if s.created and a.channel == "whatsapp"
            }
            if whatsapp:
                await outbox.release_held(session, sorted(whatsapp))
        return [Accepted(s.message_id, s.identity_id, s.created) for s in stored]

    def schedule(self, identity_id: int) -> None:
        """Queue an identity for processing (once, however many messages it has waiting)."""
        if identity_id not in self._queued:
            self._queued.add(identity_id)
            self._queue.put_nowait(identity_id)

    async def start(self) -> None:
        """Start the workers and pick up inbox rows an earlier process left unprocessed."""
        for n in range(self.settings.workers):
            self._workers.append(asyncio.create_task(self._work(), name=f"conversation-worker-{n}"))
        async with self.sessions() as session:
            for identity_id in await messages.identities_with_pending(session):
                self.schedule(identity_id)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish what is queued (up to ``grace_seconds``), then stop the workers."""
        try:
            await asyncio.wait_for(self._queue.join(), grace_seconds)
        except TimeoutError:
            log.warning("pipeline stopped with %d identities still queued", self._queue.qsize())
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.settings.worker_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            for identity_id in batch:
                self._queued.discard(identity_id)
            try:
                if len(batch) == 1:
                    await self.process(batch[0])
                else:
                    await self.process_many(batch)
            except Exception:
                log.exception("processing failed for %d identities", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _lock_for(self, identity_id: int) -> asyncio.Lock:
        lock = self._locks.get(identity_id)
        if lock is None:
            lock = self._locks[identity_id] = asyncio.Lock()
        return lock

    async def process(self, identity_id: int) -> list[Turn]:
        """Handle every waiting inbound message of one identity, in order, then deliver replies."""
        turns: list[Turn] = []
        async with self._lock_for(identity_id):
            while (turn := await self._process_next(identity_id)) is not None:
                turns.append(turn)
                if not turn.more_waiting:
                    break
        if turns:
            await self._after(identity_id, turns[-1].channel)
        return turns

    async def process_many(self, identity_ids: list[int]) -> list[Turn]:
        """Handle the next waiting message of each of these identities in one transaction.

        Identities with more waiting go back in the queue. If the batch fails, it is rolled back and
        each identity is handled on its own (where a bad message is marked failed and answered).
        """
        held: list[asyncio.Lock] = []
        free: list[int] = []
        busy: list[int] = []
        for identity_id in sorted(set(identity_ids)):  # one order everywhere: no lock cycles
            lock = self._lock_for(identity_id)
            if lock.locked():
                busy.append(identity_id)  # someone handles it now; wait for them below
                continue
            await lock.acquire()
            held.append(lock)
            free.append(identity_id)
        turns: list[Turn] | None
        try:
            turns = await self._batch_turns(free) if free else []
        except Exception:
            log.warning("a batch of %d failed; handling them one by one", len(free), exc_info=True)
            turns = None
        finally:
            for lock in held:
                lock.release()
        if turns is None:
            turns = [turn for identity_id in free for turn in await self.process(identity_id)]
        else:
            for turn in turns:
                await self._after(turn.identity_id, turn.channel)
                if turn.more_waiting:
                    self.schedule(turn.identity_id)
        for identity_id in busy:
            turns.extend(await self.process(identity_id))
        return turns

    async def _after(self, identity_id: int, channel: str) -> None:
        """Replies were queued: hand them to the channel, then run the after-turn hooks."""
        if deliver := self._deliverers.get(channel):
            await deliver(identity_id)
        for hook in self._after_turn:
            await hook(identity_id)

    async def _batch_turns(self, identity_ids: list[int]) -> list[Turn]:
        """The next message of each identity, all in one transaction; the reads are batched too."""
        dutch: dict[int, tuple[int, str]] = {}
        if self.translator is not None and packages.installed():
            for identity_id in identity_ids:
                if (found := await self._dutch_for_matching(identity_id)) is not None:
                    dutch[found[0]] = found
        turns: list[Turn] = []
        async with transaction(self.sessions) as session:
            people = await identities.lock_many(session, identity_ids)
            waiting = await messages.next_pending(session, identity_ids)
            conversations = await messages.conversations_of(session, identity_ids)
            recent = await messages.recent_inbound(
                session, [m for m, _ in waiting.values()], _FLOOD_WINDOW, self.settings.flood_max_per_minute
            )
            for identity in people:
                if (found := waiting.get(identity.id)) is None:
                    continue
                message, more = found
                translated = dutch.get(message.id)
                turn = await self._handle(
                    session,
                    identity,
                    message,
                    translated[1] if translated else None,
                    conversation=conversations.get(identity.id),
                    recent=recent.get(message.id),
                    flush=False,
                )
                turn.more_waiting = more
                turns.append(turn)
            # Ids chosen up front let the outbox rows go in as one multi-row INSERT (no autoflush
            # while choosing them, or the rows would go in one by one first).
            replies = [m for turn in turns for m in turn.replies if m.id is None]
            with session.no_autoflush:
                reply_ids = await messages.allocate_ids(session, len(replies)) if replies else []
            for reply, reply_id in zip(replies, reply_ids, strict=True):
                reply.id = reply_id
            await session.flush()
            await knowledge.write_article_events(session)
        return turns

    async def _dutch_for_matching(self, identity_id: int) -> tuple[int, str] | None:
        """Text in a language outside the eight: translate it to Dutch *before* the write transaction,
        so no lock is held while a model works. Returns (message id, Dutch text) or None."""
        if self.translator is None or not packages.installed():
            return None
        async with self.sessions() as session:
            found = (await messages.next_pending(session, [identity_id])).get(identity_id)
        if found is None or found[0].kind != "text":
            return None
        message = found[0]
        if (language := other_language(message.text)) is None:
            return None
        result = await self.translator.translate(message.text, language, "nl")
        return (message.id, result.text) if result.text else None

    async def _process_next(self, identity_id: int) -> Turn | None:
        try:
            dutch = await self._dutch_for_matching(identity_id)
            async with transaction(self.sessions) as session:
                identity = await identities.lock(session, identity_id)
                found = (await messages.next_pending(session, [identity_id])).get(identity_id)
                if found is None:
                    return None
                message, more = found
                turn = await self._handle(
                    session, identity, message, dutch[1] if dutch and dutch[0] == message.id else None
                )
                turn.more_waiting = more
                return turn
        except Exception as exc:
            log.exception("message handling failed (identity %s)", identity_id)
            return await self._fail_next(identity_id, exc)

    async def _handle(
        self,
        session: AsyncSession,
        identity: ChannelIdentity,
        message: Message,
        dutch: str | None = None,
        *,
        conversation: Conversation | None = None,
        recent: int | None = None,
        flush: bool = True,
    ) -> Turn:
        """One inbound message: guard, dialog, effects, replies. ``conversation`` and ``recent`` (the
        flood count) may come preloaded for a batch; without ``flush`` the caller flushes (and only
        then do the replies have ids) and writes the article events."""
        if conversation is None:
            conversation = await messages.conversation_for(session, identity)
        ctx = await self._context(session, identity, conversation)
        inbound = Inbound(kind=message.kind, text=message.text, payload=message.payload, dutch=dutch)  # type: ignore[arg-type]
        result = await self._guard(session, ctx, message, recent)
        if result is None:
            result = engine.handle(ctx, inbound)
            result = await self._apply(session, identity, conversation, message, result)
        outbound = [
            messages.add_outbound(
                session,
                conversation,
                identity,
                text=reply.text,
                buttons=[b.as_dict() for b in reply.buttons],
                language=result.language,
                intent=result.intent,
                dutch=reply.dutch,
            )
            for reply in result.replies
        ]
        language = message.language or result.language
        tapped = message.kind == "button" and message.payload and language != "nl"
        # A tap on a curated button: staff read its Dutch label, no machine translation needed.
        if tapped and (dutch := engine.label_for(message.payload or "", "nl")):
            messages.record_translation(message, language=language, text=dutch, engine="catalog", model="")
        if conversation.handoff_requested_at is not None and message.kind != "start":
            await escalations.note_inbound(session, conversation.id)  # staff see it as unread
        messages.complete_inbound(
            message,
            conversation,
            intent=result.intent,
            language=result.language,
            state=result.state,
            participant_id=identity.participant_id,
        )
        if flush:
            await session.flush()
            await knowledge.write_article_events(session)
        return Turn(
            message.id,
            identity.channel,
            result.intent,
            result.language,
            result.escalated,
            identity_id=identity.id,
            replies=outbound,
        )

    async def _guard(
        self, session: AsyncSession, ctx: Context, message: Message, recent: int | None = None
    ) -> DialogResult | None:
        """Polite limits before the dialog: too many messages in a minute, or a text that is too long."""
        if recent is None:
            recent = await messages.inbound_since(session, message, message.created_at - _FLOOD_WINDOW)
        if recent > self.settings.flood_max_per_minute:
            previous = await messages.previous_inbound_intent(session, message)
            if previous == "flood_limited":  # said it once already: stay quiet until they slow down
                return DialogResult([], ctx.state, ctx.language or "nl", "flood_limited")
            return engine.notice(ctx, "error.flood", "flood_limited")
        limit = self.settings.max_message_chars
        if len(message.text) > limit:
            return engine.notice(ctx, "error.too_long", "too_long", limit=limit)
        return None

    async def _context(
        self, session: AsyncSession, identity: ChannelIdentity, conversation: Conversation
    ) -> Context:
        case = None
        if identity.participant_id is not None and identity.participant is not None:
            case = await self._case_view(session, identity)
        staffing = await self._staffing(session)
        now = utcnow()
        return Context(
            language=identity.language,
            consented=identity.consent_given_at is not None,
            state=dict(conversation.state or {}),
            case=case,
            timezone=self.settings.timezone,
            office_open=staffing.office.is_open(now),
            office_opens=staffing.office.next_open(now),
            response_hours=staffing.response_hours,
            keywords=staffing.keywords,
        )

    async def _staffing(self, session: AsyncSession) -> Staffing:
        """Office hours, keywords and the promised response time (console settings, re-read each minute)."""
        now = time.monotonic()
        if self._staffing_cache is None or now - self._staffing_cache[0] > 60:
            values = await console_settings.get_all(session)
            staffing = Staffing(
                OfficeHours(values["office_hours"], self.settings.timezone),
                tuple(values["escalation_keywords"]),
                int(values["response_hours"]),
            )
            self._staffing_cache = (now, staffing)
        return self._staffing_cache[1]

    def settings_changed(self) -> None:
        """The console changed office hours or keywords: read them again at the next message."""
        self._staffing_cache = None

    async def _case_view(self, session: AsyncSession, identity: ChannelIdentity) -> CaseView:
        """What the engine may know of the linked participant's case."""
        person = identity.participant
        assert person is not None
        upcoming = await appointments.upcoming(session, person.id)
        documents = await checklists.open_items(session, person.id)
        base = self.settings.base_url()
        return CaseView(
            first_name=person.first_name,
            appointments=tuple(
                AppointmentView(
                    a.type_key,
                    a.starts_at,
                    a.location,
                    id=a.id,
                    duration_minutes=a.duration_minutes,
                    location_kind=a.location_kind,
                    confirmed=a.confirmed_at is not None,
                    tolk_needed=a.tolk_needed,
                    calendar_url=calendar.url(base, self.link_key, a.id, person.id) if self.link_key else "",
                )
                for a in upcoming
            ),
            target_group=person.target_group,
            brp_date=person.brp_date,
            pip_signed_date=person.pip_signed_date,
            termijn_end=person.termijn_end,
            klantmanager=person.klantmanager.name if person.klantmanager else None,
            team=person.team.name if person.team else None,
            documents=tuple(DocumentView(d.id, d.item_key, d.status, d.appointment_id) for d in documents),
            reminders_stopped=person.reminders_stopped_at is not None,
        )

    async def _apply(
        self,
        session: AsyncSession,
        identity: ChannelIdentity,
        conversation: Conversation,
        message: Message,
        result: DialogResult,
    ) -> DialogResult:
        for effect in result.effects:
            if isinstance(effect, GiveConsent):
                await identities.give_consent(session, identity)
            elif isinstance(effect, DeclineConsent):
                await identities.decline_consent(session, identity)
            elif isinstance(effect, SetLanguage):
                identities.set_language(identity, effect.language)
            elif isinstance(effect, RequestHandoff):
                await escalations.open_escalation(
                    session,
                    conversation,
                    identity,
                    reason=effect.reason,
                    topic=effect.topic,
                    confidential=effect.reason == "safety",
                    category=next(
                        (e.category for e in result.effects if isinstance(e, RaiseSafetyAlert)), None
                    ),
                )
            elif isinstance(effect, ShowArticle):
                knowledge.record_article_event(session, effect.article_id, result.language, "shown")
            elif isinstance(effect, RecordFeedback):
                kind = "helpful" if effect.helpful else "not_helpful"
                knowledge.record_article_event(session, effect.article_id, result.language, kind)
            elif isinstance(effect, RecordUnanswered):
                knowledge.record_unanswered(
                    session, message, result.language, effect.outcome, effect.candidates
                )
            elif isinstance(
                effect,
                ConfirmAppointment | CancelAppointment | RequestTolk | MarkDocument | SetReminders,
            ):
                await self._apply_case_change(session, identity, effect, result.language)
            elif isinstance(effect, RequestErasure):
                deadline = await privacy.request_erasure(session, identity)
                follow = engine.erasure_requested(
                    dataclasses.replace(
                        await self._context(session, identity, conversation),
                        state=result.state,
                        language=result.language,
                    ),
                    deadline,
                )
                result = dataclasses.replace(result, replies=result.replies + follow.replies)
            elif isinstance(effect, OfferSlots | BookSlot):
                follow = await self._new_time(session, identity, conversation, result, effect)
                result = dataclasses.replace(result, replies=result.replies + follow.replies)
            elif isinstance(effect, AttemptLink):
                outcome = await koppelcode.redeem(
                    session,
                    identity,
                    effect.code,
                    max_failures=self.settings.koppelcode_max_failures,
                    lock_minutes=self.settings.koppelcode_lock_minutes,
                )
                await session.refresh(identity, ["participant"])
                after = await self._context(session, identity, conversation)
                follow = engine.link_result(
                    dataclasses.replace(after, state=result.state, language=result.language),
                    outcome.status,
                    first_name=outcome.participant.first_name if outcome.participant else "",
                    retry_minutes=outcome.retry_minutes,
                )
                result = DialogResult(
                    result.replies + follow.replies,
                    follow.state,
                    result.language,
                    result.intent,
                    result.effects,
                    result.escalated,
                )
        return result

    async def _apply_case_change(
        self,
        session: AsyncSession,
        identity: ChannelIdentity,
        effect: ConfirmAppointment | CancelAppointment | RequestTolk | MarkDocument | SetReminders,
        language: str,
    ) -> None:
        """A tap on an appointment, document or reminder button: change the case (only the person's own)."""
        person_id = identity.participant_id
        if person_id is None:
            return
        if isinstance(effect, SetReminders):
            await participants.set_reminders(session, person_id, on=effect.on, identity_id=identity.id)
            return
        if isinstance(effect, MarkDocument):
            await checklists.set_by_person(
                session, effect.item_id, person_id, effect.status, identity_id=identity.id
            )
            if effect.status == "need_help" and identity.participant is not None:
                from cases.services import tasks

                await tasks.add(
                    session,
                    participant=identity.participant,
                    kind="document_help",
                    text="Deelnemer vraagt hulp bij een document voor de afspraak",
                    dedupe_key=f"dochelp:{effect.item_id}",
                )
            return
        appointment = await appointments.get_for_participant(
            session, effect.appointment_id, person_id, lock=True
        )
        if appointment is None or appointment.status != "planned":
            return
        if isinstance(effect, ConfirmAppointment):
            await appointments.confirm(session, appointment, identity_id=identity.id)
        elif isinstance(effect, CancelAppointment):
            await appointments.cancel(
                session, self.planning, appointment, reason=effect.reason, identity_id=identity.id
            )
        elif isinstance(effect, RequestTolk):
            await appointments.request_tolk(session, appointment, language=language, identity_id=identity.id)

    async def _new_time(
        self,
        session: AsyncSession,
        identity: ChannelIdentity,
        conversation: Conversation,
        result: DialogResult,
        effect: OfferSlots | BookSlot,
    ) -> DialogResult:
        """Offer free slots for an appointment, or book the chosen one (a missed one is booked anew)."""
        person = identity.participant
        ctx = dataclasses.replace(
            await self._context(session, identity, conversation), state=result.state, language=result.language
        )
        appointment = (
            await appointments.get_for_participant(session, effect.appointment_id, person.id, lock=True)
            if person is not None
            else None
        )
        if appointment is None or appointment.status not in ("planned", "no_show"):
            return appointment_flow.not_found(ctx)
        zone = self.settings.timezone
        if isinstance(effect, BookSlot):
            if appointment.status == "no_show":
                new = await appointments.rebook_into_slot(
                    session, self.planning, appointment, effect.slot_id, identity_id=identity.id
                )
                booked, appointment = new is not None, new or appointment
            else:
                booked = await appointments.book_slot(
                    session, self.planning, appointment, effect.slot_id, identity_id=identity.id
                )
            if booked:
                ctx = dataclasses.replace(ctx, case=await self._case_view(session, identity))
                view = ctx.case.appointment(appointment.id) if ctx.case else None
                if view is not None:
                    return appointment_flow.booking_result(ctx, view)
        free = await appointments.free_slots(session, appointment, zone)
        if not free and isinstance(effect, OfferSlots) and appointment.status == "planned":
            await appointments.request_reschedule(session, appointment, identity_id=identity.id)
        offered = tuple(SlotView(s.id, s.starts_at, s.location_kind) for s in free)
        return appointment_flow.slots_offer(ctx, appointment.id, offered, taken=isinstance(effect, BookSlot))

    async def _fail_next(self, identity_id: int, exc: Exception) -> Turn | None:
        """Mark the oldest waiting message failed and apologise, so one bad message blocks nothing."""
        async with transaction(self.sessions) as session:
            identity = await identities.lock(session, identity_id)
            if (found := (await messages.next_pending(session, [identity_id])).get(identity_id)) is None:
                return None
            message, more = found
            messages.fail_inbound(message, type(exc).__name__)
            conversation = await messages.conversation_for(session, identity)
            lang = identity.language or "nl"
            reply = messages.add_outbound(
                session,
                conversation,
                identity,
                text=t(lang, "fallback.unknown"),
                language=lang,
                intent="error",
            )
            await session.flush()
            return Turn(
                message.id,
                identity.channel,
                "error",
                lang,
                False,
                more,
                identity_id=identity_id,
                replies=[reply],
            )
