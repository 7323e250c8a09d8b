"""The outbox as a work queue: claim due messages, record what the platform said, track delivery.

A sender claims rows (``queued`` → ``sending`` with a lease) in a short transaction, talks to the
platform outside any transaction, then records the outcome. A sender that dies mid-way leaves
``sending`` rows whose lease runs out, and another sender takes them again. The platform may then
see a message twice; nothing is ever lost. Rows of one chat identity go out strictly in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cases.models import ChannelIdentity, Message, utcnow

# Delivery receipts only move a message forward (they may arrive in any order).
_RANK = {"queued": 0, "sending": 0, "held": 0, "sent": 1, "delivered": 2, "read": 3}


async def claim_due(
    session: AsyncSession,
    channels: Sequence[str],
    *,
    limit: int = 50,
    lease_seconds: int = 60,
    follow: int = 10,
) -> list[Message]:
    """Take due outbound rows, in id order: the oldest waiting row of up to ``limit`` identities,
    and after each up to ``follow`` of that identity's next due rows (a sender sends those one
    after the other, so a person's three replies need one pass, not three)."""
    now = utcnow()
    earlier = aliased(Message)
    due = or_(
        and_(
            Message.status == "queued", or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now)
        ),
        and_(Message.status == "sending", Message.next_attempt_at <= now),  # lease ran out
    )
    blocked_by_earlier = exists().where(
        earlier.identity_id == Message.identity_id,
        earlier.direction == "out",
        earlier.id < Message.id,
        earlier.status.in_(("queued", "sending")),
    )
    stmt = (
        select(Message)
        .where(Message.direction == "out", Message.channel.in_(channels), due, ~blocked_by_earlier)
        .order_by(Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(await session.scalars(stmt))
    if rows and follow:
        # Nobody else can be claiming these: the first row of each identity, held here, blocks them.
        later = await session.scalars(
            select(Message)
            .where(
                Message.identity_id.in_({m.identity_id for m in rows}),
                Message.direction == "out",
                Message.status == "queued",
                Message.id.not_in([m.id for m in rows]),
            )
            .order_by(Message.id)
            .with_for_update()
        )
        taken = {m.identity_id: 0 for m in rows}
        stopped: set[int] = set()
        for message in later:
            person = message.identity_id
            if person in stopped or taken[person] >= follow:
                continue
            if message.next_attempt_at is not None and message.next_attempt_at > now:
                stopped.add(person)  # waiting for a retry: what comes after it waits too
                continue
            taken[person] += 1
            rows.append(message)
        rows.sort(key=lambda m: m.id)
    for message in rows:
        message.status = "sending"
        message.attempts += 1
        message.next_attempt_at = now + dt.timedelta(seconds=lease_seconds)
    return rows


async def release(session: AsyncSession, message_ids: Sequence[int]) -> None:
    """Claimed rows that were not tried (an earlier one of the same person failed): back in the
    queue as they were, behind that one."""
    if message_ids:
        await session.execute(
            update(Message)
            .where(Message.id.in_(message_ids), Message.status == "sending")
            .values(status="queued", next_attempt_at=None, attempts=Message.attempts - 1)
        )


async def record_sent(
    session: AsyncSession, message_id: int, external_id: str | None, *, template: str | None = None
) -> None:
    """The platform accepted the message."""
    values: dict[str, object] = {"status": "sent", "sent_at": utcnow(), "next_attempt_at": None}
    if external_id:
        values["external_id"] = external_id
    if template:
        values["template_name"] = template
    await session.execute(
        update(Message).where(Message.id == message_id, Message.status == "sending").values(values)
    )


async def record_sent_many(session: AsyncSession, sent: Sequence[tuple[int, str | None]]) -> None:
    """``record_sent`` for many messages at once: (message id, platform id) pairs, one statement."""
    if not sent:
        return
    table = Message.__table__
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("message_id"), table.c.status == "sending")
        .values(
            status="sent",
            sent_at=bindparam("at"),
            next_attempt_at=None,
            external_id=func.coalesce(bindparam("platform_id"), table.c.external_id),
        ),
        [{"message_id": mid, "platform_id": ext, "at": utcnow()} for mid, ext in sent],
    )


async def record_retry(
    session: AsyncSession, message_id: int, *, delay_seconds: float, code: str, detail: str
) -> None:
    """A passing failure (rate limit, network): try again after ``delay_seconds``."""
    await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "sending")
        .values(
            status="queued",
            next_attempt_at=utcnow() + dt.timedelta(seconds=delay_seconds),
            error_code=code[:40],
            error_detail=detail[:500],
        )
    )


async def record_failed(
    session: AsyncSession, message_id: int, *, code: str, detail: str, dead: bool = False
) -> None:
    """A final failure: ``failed`` (the platform refused) or ``dead`` (retries used up). Staff see both."""
    await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "sending")
        .values(
            status="dead" if dead else "failed",
            next_attempt_at=None,
            error_code=code[:40],
            error_detail=detail[:500],
        )
    )


async def record_held(session: AsyncSession, message_id: int, *, template: str | None) -> None:
    """The conversation window is closed: a template went out; this text waits for the person to write."""
    await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "sending")
        .values(status="held", next_attempt_at=None, template_name=template)
    )


async def release_held(session: AsyncSession, identity_ids: Sequence[int]) -> int:
    """The people wrote again (window open): their held messages go back in the queue, in order."""
    result = await session.execute(
        update(Message)
        .where(Message.identity_id.in_(identity_ids), Message.direction == "out", Message.status == "held")
        .values(status="queued", next_attempt_at=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def apply_status(
    session: AsyncSession,
    channel: str,
    external_id: str,
    status: str,
    at: dt.datetime,
    *,
    error_code: str | None = None,
    error_detail: str | None = None,
) -> bool:
    """A delivery receipt (sent, delivered, read, failed). Returns False for an unknown message."""
    message = await session.scalar(
        select(Message)
        .where(Message.channel == channel, Message.external_id == external_id)
        .with_for_update()
    )
    if message is None or message.direction != "out":
        return False
    if status == "failed":
        message.status = "failed"
        message.error_code = (error_code or "unknown")[:40]
        message.error_detail = (error_detail or "")[:500]
        return True
    if status not in _RANK:
        return True
    if status in ("delivered", "read") and message.delivered_at is None:
        message.delivered_at = at  # read implies delivered
    if status == "read" and message.read_at is None:
        message.read_at = at
    if status == "sent" and message.sent_at is None:
        message.sent_at = at
    if message.status in _RANK and _RANK[status] > _RANK[message.status]:
        message.status = status
    return True


@dataclass(frozen=True)
class Recipient:
    external_id: str
    language: str | None


async def recipients(session: AsyncSession, identity_ids: Sequence[int]) -> dict[int, Recipient]:
    """The platform id and chat language of each identity (a batch of sends needs no more)."""
    rows = await session.execute(
        select(ChannelIdentity.id, ChannelIdentity.external_id, ChannelIdentity.language).where(
            ChannelIdentity.id.in_(set(identity_ids))
        )
    )
    return {i: Recipient(external, language) for i, external, language in rows.all()}


async def last_inbound_many(session: AsyncSession, identity_ids: Sequence[int]) -> dict[int, dt.datetime]:
    """``last_inbound_at`` for several identities in one query."""
    rows = await session.execute(
        select(Message.identity_id, func.max(Message.created_at))
        .where(Message.identity_id.in_(set(identity_ids)), Message.direction == "in")
        .group_by(Message.identity_id)
    )
    return {i: at for i, at in rows.all() if at is not None}


async def has_held(session: AsyncSession, identity_id: int) -> bool:
    """True when texts already wait for this person to open the window (one template is enough)."""
    found = await session.scalar(
        select(Message.id)
        .where(Message.identity_id == identity_id, Message.direction == "out", Message.status == "held")
        .limit(1)
    )
    return found is not None
