"""What the knowledge base did: articles shown, "did this help?" answers, unanswered questions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import ArticleEvent, Message, UnansweredQuestion, utcnow

_PENDING_EVENTS = "wegwijs.article_events"


def record_article_event(session: AsyncSession, article_id: str, language: str, kind: str) -> None:
    """Count an article shown (``shown``) or judged (``helpful`` / ``not_helpful``); the row is
    written by the next ``write_article_events`` in the same transaction."""
    pending = session.info.setdefault(_PENDING_EVENTS, [])
    pending.append({"article_id": article_id, "language": language, "kind": kind, "created_at": utcnow()})


async def write_article_events(session: AsyncSession) -> None:
    """Write the recorded article events in one statement. As ORM objects, SQLite would insert them
    one by one to learn their ids, which nobody needs."""
    if pending := session.info.pop(_PENDING_EVENTS, None):
        await session.execute(insert(ArticleEvent), pending)


def record_unanswered(
    session: AsyncSession,
    message: Message,
    language: str,
    outcome: str,
    candidates: Sequence[tuple[str, float]],
) -> None:
    """Keep a question the bot could not answer with confidence, for staff review."""
    session.add(
        UnansweredQuestion(
            message_id=message.id,
            language=language,
            outcome=outcome,
            candidates=[[topic, round(score, 3)] for topic, score in candidates],
        )
    )


async def article_counts(session: AsyncSession) -> dict[str, dict[str, int]]:
    """Per article: how often shown, helpful, not helpful."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"shown": 0, "helpful": 0, "not_helpful": 0})
    rows = await session.execute(
        select(ArticleEvent.article_id, ArticleEvent.kind, func.count()).group_by(
            ArticleEvent.article_id, ArticleEvent.kind
        )
    )
    for article_id, kind, count in rows.all():
        counts[article_id][kind] = int(count)
    return counts


@dataclass(frozen=True)
class UnansweredRow:
    question: UnansweredQuestion
    message: Message


async def unanswered(session: AsyncSession, limit: int = 200) -> list[UnansweredRow]:
    """Questions waiting for review, newest first."""
    rows = await session.execute(
        select(UnansweredQuestion, Message)
        .join(Message, Message.id == UnansweredQuestion.message_id)
        .where(UnansweredQuestion.reviewed_at.is_(None))
        .order_by(UnansweredQuestion.id.desc())
        .limit(limit)
    )
    return [UnansweredRow(q, m) for q, m in rows.all()]
