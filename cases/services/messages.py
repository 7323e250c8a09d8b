"""Conversations and messages: the durable inbox (inbound rows) and outbox (outbound rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, or_, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, lazyload

from cases.db import dialect_insert
from cases.models import ChannelIdentity, Conversation, Message, Participant, StaffUser, utcnow
from cases.services import identities
from cases.services.participants import visible_to


async def conversation_for(session: AsyncSession, identity: ChannelIdentity) -> Conversation:
    """The conversation of an identity, created on first use."""
    stmt = select(Conversation).where(Conversation.identity_id == identity.id)
    conversation = await session.scalar(stmt)
    if conversation is not None:
        return conversation
    try:
        async with session.begin_nested():
            conversation = Conversation(
                identity_id=identity.id, participant_id=identity.participant_id, state={}
            )
            session.add(conversation)
    except IntegrityError:
        conversation = (await session.scalars(stmt)).one()
    return conversation


@dataclass(frozen=True)
class Stored:
    message_id: int
    created: bool
    identity_id: int = 0


@dataclass(frozen=True)
class NewInbound:
    """An inbound message as a channel hands it over: who (channel, platform id) and what."""

    channel: str
    user: str
    external_id: str
    kind: str = "text"
    text: str = ""
    payload: str | None = None
    language_hint: str | None = None  # a supported language the app or browser reported


async def store_inbound(
    session: AsyncSession,
    identity: ChannelIdentity,
    *,
    external_id: str,
    text: str = "",
    kind: str = "text",
    payload: str | None = None,
) -> Stored:
    """Put an inbound message in the inbox. The same external id is stored once (platform retries)."""
    arrival = NewInbound(identity.channel, identity.external_id, external_id, kind, text, payload)
    return (await store_inbound_many(session, [arrival]))[0]


async def store_inbound_many(session: AsyncSession, arrivals: Sequence[NewInbound]) -> list[Stored]:
    """Put many inbound messages in the inbox with a handful of statements, whatever their number.

    Chat identities and conversations are created on first contact. The unique (channel, external
    id) decides what is new, so a platform retry (even within the same batch) is stored once; its
    ``Stored`` then names the first copy. The order of ``arrivals`` is the order of the ids.
    """
    if not arrivals:
        return []
    people = await identities.ids_for(session, [(a.channel, a.user) for a in arrivals])
    hinted = {
        people[(a.channel, a.user)].id: a.language_hint
        for a in arrivals
        if a.language_hint and people[(a.channel, a.user)].language is None
    }
    if hinted:
        await session.execute(
            update(ChannelIdentity.__table__)
            .where(ChannelIdentity.__table__.c.id == bindparam("identity_id"))
            .values(language=bindparam("hint")),
            [{"identity_id": i, "hint": hinted[i]} for i in sorted(hinted)],  # id order: no lock cycles
        )
    conversations = await _conversation_ids(session, sorted({p.id for p in people.values()}))
    now = utcnow()
    ids = await allocate_ids(session, len(arrivals))
    rows = []
    for message_id, a in zip(ids, arrivals, strict=True):
        person = people[(a.channel, a.user)]
        rows.append(
            {
                "id": message_id,
                "conversation_id": conversations[person.id],
                "identity_id": person.id,
                "participant_id": person.participant_id,
                "direction": "in",
                "channel": a.channel,
                "external_id": a.external_id,
                "kind": a.kind,
                "text": a.text,
                "payload": a.payload,
                "language": person.language or hinted.get(person.id),
                "status": "received",
                "attempts": 0,
                "created_at": now,
            }
        )
    # One statement, safe under concurrent retries: the unique (channel, external id) decides.
    insert = dialect_insert(session, Message.__table__)
    insert = insert.on_conflict_do_nothing(index_elements=["channel", "external_id"])
    await session.execute(insert, rows)
    created = set(await session.scalars(select(Message.id).where(Message.id.in_(ids))))
    first_copy: dict[tuple[str, str], int] = {}
    repeated = [(r["channel"], r["external_id"]) for r in rows if r["id"] not in created]
    if repeated:
        found = await session.execute(
            select(Message.channel, Message.external_id, Message.id).where(
                tuple_(Message.channel, Message.external_id).in_(repeated)
            )
        )
        first_copy = {(c, e): i for c, e, i in found.all()}
    written = [r for r in rows if r["id"] in created]
    if written:
        table = Conversation.__table__
        await session.execute(
            update(table).where(table.c.id == bindparam("conversation")).values(last_message_at=now),
            [{"conversation": c} for c in sorted({r["conversation_id"] for r in written})],
        )
    return [
        Stored(r["id"], True, r["identity_id"])
        if r["id"] in created
        else Stored(first_copy[(r["channel"], r["external_id"])], False, r["identity_id"])
        for r in rows
    ]


async def _conversation_ids(session: AsyncSession, identity_ids: list[int]) -> dict[int, int]:
    """The conversation id of each identity, creating the missing conversations."""
    table = Conversation.__table__
    stmt = select(table.c.identity_id, table.c.id).where(table.c.identity_id.in_(identity_ids))
    found = dict((await session.execute(stmt)).all())
    missing = [i for i in identity_ids if i not in found]
    if missing:
        people = await session.execute(
            select(ChannelIdentity.id, ChannelIdentity.participant_id).where(ChannelIdentity.id.in_(missing))
        )
        now = utcnow()
        await session.execute(
            dialect_insert(session, table).on_conflict_do_nothing(index_elements=["identity_id"]),
            [
                {
                    "identity_id": i,
                    "participant_id": p,
                    "state": {},
                    "started_at": now,
                    "last_message_at": now,
                }
                for i, p in people.all()
            ],
        )
        found.update((await session.execute(stmt)).all())
    return found


async def next_pending(session: AsyncSession, identity_ids: list[int]) -> dict[int, tuple[Message, bool]]:
    """For each identity, its oldest unprocessed inbound message and whether more are waiting."""
    ranked = (
        select(
            Message.id.label("id"),
            func.row_number().over(partition_by=Message.identity_id, order_by=Message.id).label("n"),
        )
        .where(Message.identity_id.in_(identity_ids), Message.direction == "in", Message.status == "received")
        .subquery()
    )
    rows = await session.scalars(
        select(Message).join(ranked, ranked.c.id == Message.id).where(ranked.c.n <= 2).order_by(Message.id)
    )
    found: dict[int, tuple[Message, bool]] = {}
    for message in rows:
        first = found.get(message.identity_id)
        found[message.identity_id] = (first[0], True) if first else (message, False)
    return found


async def conversations_of(session: AsyncSession, identity_ids: list[int]) -> dict[int, Conversation]:
    """The existing conversations of several identities, by identity id."""
    rows = await session.scalars(select(Conversation).where(Conversation.identity_id.in_(identity_ids)))
    return {c.identity_id: c for c in rows.unique()}


async def recent_inbound(
    session: AsyncSession, pending: Sequence[Message], window: dt.timedelta, limit: int
) -> dict[int, int]:
    """For each message, how many messages its sender sent in the ``window`` up to and including
    it (what ``inbound_since`` counts), as far as the flood guard needs: exact above ``limit``,
    otherwise a count that may be higher than exact but is still not above ``limit``.

    One grouped count serves the batch (from the earliest window start); only a sender over the
    limit then gets an exact count. The database counts, so a flooder costs no more than anyone.
    """
    if not pending:
        return {}
    rows = await session.execute(
        select(Message.identity_id, func.count())
        .where(
            Message.identity_id.in_([m.identity_id for m in pending]),
            Message.direction == "in",
            Message.created_at >= min(m.created_at for m in pending) - window,
            Message.id <= max(m.id for m in pending),
        )
        .group_by(Message.identity_id)
    )
    coarse = {identity_id: int(count) for identity_id, count in rows.all()}
    found = {}
    for m in pending:
        count = coarse.get(m.identity_id, 0)
        found[m.id] = count if count <= limit else await inbound_since(session, m, m.created_at - window)
    return found


async def identities_with_pending(session: AsyncSession) -> list[int]:
    """Identities that have inbox rows waiting (used at start-up to finish interrupted work)."""
    rows = await session.scalars(
        select(Message.identity_id)
        .where(Message.direction == "in", Message.status == "received")
        .group_by(Message.identity_id)
        .order_by(func.min(Message.id))
    )
    return list(rows)


def complete_inbound(
    message: Message,
    conversation: Conversation,
    *,
    intent: str,
    language: str,
    state: dict[str, Any],
    participant_id: int | None,
) -> None:
    """Mark an inbox row handled and keep the dialog state it led to."""
    message.status = "processed"
    message.processed_at = utcnow()
    message.intent = intent
    message.language = message.language or language
    message.participant_id = participant_id
    conversation.state = state
    if message.kind == "button" and message.payload and language != "nl":
        from dialogs.engine import label_for

        if dutch := label_for(message.payload, "nl"):
            record_translation(
                message, language=message.language or language, text=dutch, engine="catalog", model=""
            )


def record_translation(message: Message, *, language: str, text: str | None, engine: str, model: str) -> None:
    """Keep the Dutch version of an inbound text next to the original (or why there is none)."""
    message.language = language
    message.translated_text = text
    message.translation_language = "nl"
    message.translation_engine = engine
    message.translation_model = model or None


async def needing_translation(session: AsyncSession, limit: int = 20) -> list[Message]:
    """Handled inbound texts that have no Dutch version yet, oldest first."""
    rows = await session.scalars(
        select(Message)
        .where(
            Message.direction == "in",
            Message.kind == "text",
            Message.status == "processed",
            Message.translation_engine.is_(None),
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return list(rows)


def fail_inbound(message: Message, reason: str) -> None:
    """Mark an inbox row that could not be handled (the reason is an exception name, never text)."""
    message.status = "failed"
    message.error_detail = reason[:500]
    message.processed_at = utcnow()


def start_at_menu(conversation: Conversation) -> None:
    """Let a new conversation begin at the main menu (for a user who consented elsewhere)."""
    if not conversation.state:
        conversation.state = {"step": "menu"}


def add_outbound(
    session: AsyncSession,
    conversation: Conversation,
    identity: ChannelIdentity,
    *,
    text: str,
    buttons: Sequence[dict[str, str]] | None = None,
    language: str | None = None,
    intent: str | None = None,
    author: StaffUser | None = None,
    dutch: str | None = None,
) -> Message:
    """Queue an outbound message in the outbox; ``dutch`` is the curated Dutch text of a bot message."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        identity_id=identity.id,
        participant_id=identity.participant_id,
        direction="out",
        channel=identity.channel,
        kind="text",
        text=text,
        buttons=list(buttons) if buttons else None,
        language=language,
        intent=intent,
        author_staff_id=author.id if author else None,
        translated_text=dutch,
        translation_language="nl" if dutch else None,
        translation_engine="catalog" if dutch else None,
        status="queued",
        created_at=now,
    )
    session.add(message)
    conversation.last_message_at = now
    return message


async def queued_outbound(session: AsyncSession, identity_id: int) -> list[Message]:
    """Outbound messages of one identity not yet handed to the channel, oldest first."""
    rows = await session.scalars(
        select(Message)
        .where(Message.identity_id == identity_id, Message.direction == "out", Message.status == "queued")
        .order_by(Message.id)
    )
    return list(rows)


async def identities_with_queued(
    session: AsyncSession, channel: str, identity_ids: Sequence[int]
) -> list[int]:
    """Which of these identities have outbound messages waiting on ``channel``."""
    rows = await session.scalars(
        select(Message.identity_id)
        .where(
            Message.status == "queued",
            Message.direction == "out",
            Message.channel == channel,
            Message.identity_id.in_(identity_ids),
        )
        .distinct()
    )
    return list(rows)


async def mark_sent(session: AsyncSession, message_ids: Sequence[int]) -> None:
    """Record that the channel accepted these outbound messages."""
    if message_ids:
        await session.execute(
            update(Message)
            .where(Message.id.in_(message_ids), Message.status == "queued")
            .values(status="sent", sent_at=utcnow(), attempts=Message.attempts + 1)
        )


async def transcript(session: AsyncSession, conversation_id: int, limit: int = 500) -> list[Message]:
    """The last ``limit`` messages of a conversation, oldest first."""
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


async def participant_transcript(
    session: AsyncSession, participant_id: int, limit: int = 500
) -> list[Message]:
    """All chat messages of a participant over every channel, oldest first."""
    rows = await session.scalars(
        select(Message)
        .where(Message.participant_id == participant_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    participant: Participant | None
    last_message: Message | None


async def list_conversations(
    session: AsyncSession, staff: StaffUser, limit: int = 200
) -> list[ConversationRow]:
    """Conversations staff may see (linked ones of visible participants, and all unlinked ones), most
    recent first. The page is chosen on the indexed ``last_message_at`` first; only then are the
    last messages of those conversations fetched, so the cost does not grow with all messages."""
    stmt: Any = (
        select(Conversation, Participant)
        .outerjoin(Participant, Participant.id == Conversation.participant_id)
        .where(or_(Conversation.participant_id.is_(None), visible_to(staff)))
        .order_by(Conversation.last_message_at.desc())
        .limit(limit)
        # The list shows the chat's channel and language and the participant's name: load no
        # deeper (the default joins klantmanagers and teams twice over for every row).
        .options(
            joinedload(Conversation.identity).lazyload(ChannelIdentity.participant),
            lazyload(Participant.klantmanager),
            lazyload(Participant.team),
        )
    )
    rows = (await session.execute(stmt)).all()
    last = await latest_messages(session, Message.conversation_id, [c.id for c, _ in rows])
    return [ConversationRow(c, p, last[c.id]) for c, p in rows if c.id in last]


async def latest_messages(session: AsyncSession, column: Any, keys: Sequence[int]) -> dict[int, Message]:
    """The newest message per value of ``column`` (conversation or participant) for these keys."""
    if not keys:
        return {}
    newest = (
        select(column.label("key"), func.max(Message.id).label("last_id"))
        .where(column.in_(keys))
        .group_by(column)
        .subquery()
    )
    rows = await session.execute(select(newest.c.key, Message).join(Message, Message.id == newest.c.last_id))
    return {key: message for key, message in rows.all()}


async def get_conversation(
    session: AsyncSession, staff: StaffUser, conversation_id: int
) -> Conversation | None:
    """One conversation if ``staff`` may see it."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    if conversation.participant_id is None:
        return conversation
    visible = await session.scalar(
        select(Participant.id).where(Participant.id == conversation.participant_id, visible_to(staff))
    )
    return conversation if visible else None


async def identities_with_stale_pending(session: AsyncSession, received_before: dt.datetime) -> list[int]:
    """Identities whose inbox rows have waited since before ``received_before`` (a worker died on them)."""
    rows = await session.scalars(
        select(Message.identity_id)
        .where(Message.direction == "in", Message.status == "received", Message.created_at < received_before)
        .group_by(Message.identity_id)
    )
    return list(rows)


async def inbound_since(session: AsyncSession, message: Message, since: dt.datetime) -> int:
    """How many messages the sender of ``message`` sent from ``since`` up to and including it."""
    count = await session.scalar(
        select(func.count()).where(
            Message.identity_id == message.identity_id,
            Message.direction == "in",
            Message.created_at >= since,
            Message.id <= message.id,
        )
    )
    return int(count or 0)


async def previous_inbound_intent(session: AsyncSession, message: Message) -> str | None:
    """The intent of the inbound message before ``message`` from the same identity."""
    return await session.scalar(
        select(Message.intent)
        .where(Message.identity_id == message.identity_id, Message.direction == "in", Message.id < message.id)
        .order_by(Message.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class DeliveryProblem:
    message: Message
    conversation: Conversation
    participant: Participant | None


async def delivery_problems(
    session: AsyncSession, staff: StaffUser, limit: int = 200
) -> list[DeliveryProblem]:
    """Outbound messages that failed or were given up, newest first, within what ``staff`` may see."""
    stmt: Any = (
        select(Message, Conversation, Participant)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(Participant, Participant.id == Conversation.participant_id)
        .where(
            Message.direction == "out",
            Message.status.in_(("failed", "dead")),
            or_(Conversation.participant_id.is_(None), visible_to(staff)),
        )
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return [DeliveryProblem(m, c, p) for m, c, p in (await session.execute(stmt)).all()]


async def allocate_ids(session: AsyncSession, count: int) -> list[int]:
    """Reserve ``count`` message ids, so outbox rows can be written in bulk without RETURNING
    (which SQLite can only do row by row when the order of the ids matters)."""
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('messages', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        )
        return list(rows)
    # SQLite: this write transaction holds the database's only write lock, so nobody else inserts.
    top = int(await session.scalar(select(func.coalesce(func.max(Message.id), 0))) or 0)
    return list(range(top + 1, top + count + 1))


async def get_many(session: AsyncSession, message_ids: Sequence[int]) -> list[Message]:
    """These messages (those that still exist), in id order."""
    rows = await session.scalars(select(Message).where(Message.id.in_(message_ids)).order_by(Message.id))
    return list(rows)


async def last_message_id(session: AsyncSession, conversation_id: int) -> int:
    """The newest message of a conversation (0 when there is none), to notice new ones."""
    found = await session.scalar(
        select(func.max(Message.id)).where(Message.conversation_id == conversation_id)
    )
    return int(found or 0)


async def get_message(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)
