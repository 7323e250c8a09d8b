"""Chat identities: one chat account on one channel, its consent and its language."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import CHANNELS, ChannelIdentity, Conversation, Message, Participant, StaffUser, utcnow
from cases.services import audit


async def get_or_create(session: AsyncSession, channel: str, external_id: str) -> ChannelIdentity:
    """The identity for (channel, external id), created on first contact; safe under concurrency."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    stmt = select(ChannelIdentity).where(
        ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
    )
    identity = await session.scalar(stmt)
    if identity is not None:
        return identity
    try:
        async with session.begin_nested():
            identity = ChannelIdentity(channel=channel, external_id=external_id)
            session.add(identity)
    except IntegrityError:
        identity = (await session.scalars(stmt)).one()
    return identity


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
