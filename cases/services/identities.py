"""Chat identities: one chat account on one channel, its consent and its language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.db import dialect_insert
from cases.models import CHANNELS, ChannelIdentity, Conversation, Message, Participant, StaffUser, utcnow
from cases.services import audit


async def get_or_create(session: AsyncSession, channel: str, external_id: str) -> ChannelIdentity:
    """The identity for (channel, external id), created on first contact; safe under concurrency."""
    known = (await ids_for(session, [(channel, external_id)]))[(channel, external_id)]
    identity = await session.get(ChannelIdentity, known.id)
    assert identity is not None
    return identity


@dataclass(frozen=True)
class Known:
    """What the inbox needs of an identity: its id, link and chat language."""

    id: int
    participant_id: int | None
    language: str | None


async def ids_for(session: AsyncSession, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Known]:
    """The identities for these (channel, external id) pairs, creating the missing ones; safe
    under concurrency (the unique pair decides) and a few statements for any number of pairs."""
    wanted = sorted(set(keys))
    for channel, _ in wanted:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
    table = ChannelIdentity.__table__
    stmt = select(
        table.c.channel, table.c.external_id, table.c.id, table.c.participant_id, table.c.language
    ).where(tuple_(table.c.channel, table.c.external_id).in_(wanted))
    found = {(c, e): Known(i, p, lang) for c, e, i, p, lang in (await session.execute(stmt)).all()}
    missing = [k for k in wanted if k not in found]
    if missing:
        now = utcnow()
        await session.execute(
            dialect_insert(session, table).on_conflict_do_nothing(index_elements=["channel", "external_id"]),
            [{"channel": c, "external_id": e, "link_failures": 0, "created_at": now} for c, e in missing],
        )
        found = {(c, e): Known(i, p, lang) for c, e, i, p, lang in (await session.execute(stmt)).all()}
    return found


async def lock(session: AsyncSession, identity_id: int) -> ChannelIdentity:
    """Load an identity with a row lock (PostgreSQL), so one participant is handled at a time."""
    return (
        await session.scalars(
            select(ChannelIdentity)
            .where(ChannelIdentity.id == identity_id)
            .with_for_update(of=ChannelIdentity)
            .execution_options(populate_existing=True)
        )
    ).one()


async def lock_many(session: AsyncSession, identity_ids: list[int]) -> list[ChannelIdentity]:
    """Load several identities with row locks, in id order (so concurrent batches never deadlock)."""
    rows = await session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.id.in_(identity_ids))
        .order_by(ChannelIdentity.id)
        .with_for_update(of=ChannelIdentity)
        .execution_options(populate_existing=True)
    )
    return list(rows.unique())


async def give_consent(session: AsyncSession, identity: ChannelIdentity) -> None:
    """Record that the person agreed to the privacy notice."""
    identity.consent_given_at = utcnow()
    identity.consent_declined_at = None
    await audit.record(
        session, "chat.consent_given", identity_id=identity.id, participant_id=identity.participant_id
    )


async def decline_consent(session: AsyncSession, identity: ChannelIdentity) -> None:
    """Record that the person did not agree."""
    identity.consent_declined_at = utcnow()
    identity.consent_given_at = None
    await audit.record(
        session, "chat.consent_declined", identity_id=identity.id, participant_id=identity.participant_id
    )


def set_language(identity: ChannelIdentity, language: str) -> None:
    """Remember the chat language of this identity."""
    identity.language = language


async def link(
    session: AsyncSession,
    identity: ChannelIdentity,
    participant_id: int,
    *,
    via: str,
    staff: StaffUser | None = None,
) -> Participant:
    """Link a chat identity to a participant; what this chat said before now lands in the case too."""
    participant = await session.get(Participant, participant_id)
    if participant is None:
        raise ValueError(f"no participant {participant_id}")
    identity.participant_id = participant_id
    identity.linked_at = utcnow()
    identity.link_failures = 0
    await session.execute(
        update(Conversation)
        .where(Conversation.identity_id == identity.id)
        .values(participant_id=participant_id)
    )
    await session.execute(
        update(Message)
        .where(Message.identity_id == identity.id, Message.participant_id.is_(None))
        .values(participant_id=participant_id)
    )
    await audit.record(
        session,
        "chat.linked",
        staff=staff,
        identity_id=identity.id,
        participant_id=participant_id,
        details={"channel": identity.channel, "via": via},
    )
    return participant


async def linked_to(session: AsyncSession, participant_id: int) -> list[ChannelIdentity]:
    """The chat identities linked to a participant."""
    rows = await session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.participant_id == participant_id)
        .order_by(ChannelIdentity.id)
    )
    return list(rows)
