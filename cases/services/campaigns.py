"""Group messages: one curated text to everyone in a session or a segment, with a delivery report.

Only curated texts (written for every language in ``locales/messages/``) go to groups: an
unreviewed machine translation sent to thousands of people is a risk we do not take. Outside the
WhatsApp 24-hour window the outbox sends the approved neutral template and holds the text until the
person writes back, as for every message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import Appointment, Campaign, ChannelIdentity, Message, Participant, StaffUser
from cases.services import audit, messages
from locales.catalog import format_local_datetime, sentence, t
from locales.languages import LANGUAGES

CAMPAIGN_MESSAGES = {
    "campaign.news": (),
    "campaign.office_closed": ("date",),
    "campaign.documents": (),
    "campaign.session": ("date", "time", "where"),  # filled per person from their appointment
}


class CampaignError(ValueError):
    """A campaign that cannot be sent (message for staff, in Dutch)."""


def render(key: str, language: str, params: dict[str, str]) -> str:
    """The campaign text in one language."""
    return t(language, key, **params) if CAMPAIGN_MESSAGES[key] else t(language, key)


def preview(key: str, params: dict[str, str]) -> dict[str, str]:
    """The text in every language, as each person will read it."""
    if key not in CAMPAIGN_MESSAGES:
        raise CampaignError("Kies een bericht uit de lijst.")
    sample = {"date": "…", "time": "…", "where": "…", **params}
    return {code: render(key, code, sample) for code in LANGUAGES}


async def send(
    session: AsyncSession,
    *,
    key: str,
    params: dict[str, str],
    people: list[Participant],
    audience: dict[str, Any],
    by: StaffUser,
    zone: str,
    session_appointments: dict[int, Appointment] | None = None,
) -> tuple[Campaign, list[tuple[str, int]]]:
    """Queue the campaign for everyone with a linked chat. Returns it and the (channel, identity)
    pairs to deliver to."""
    if key not in CAMPAIGN_MESSAGES:
        raise CampaignError("Kies een bericht uit de lijst.")
    if key == "campaign.session" and session_appointments is None:
        raise CampaignError("Dit bericht is alleen voor een groepsbijeenkomst.")
    missing = [p for p in CAMPAIGN_MESSAGES[key] if p not in params and key != "campaign.session"]
    if missing:
        raise CampaignError(f"Vul in: {', '.join(missing)}")
    campaign = Campaign(message_key=key, params=params, audience=audience, created_by_id=by.id)
    session.add(campaign)
    await session.flush()
    chats = await _chats(session, [p.id for p in people])
    queued: list[tuple[str, int]] = []
    for person in people:
        identity = chats.get(person.id)
        if identity is None:
            continue
        language = identity.language or person.preferred_language or "nl"
        appt = session_appointments[person.id] if session_appointments is not None else None

        def values(lang: str, appt: Appointment | None = appt) -> dict[str, str]:
            if appt is None:
                return params
            date, time = format_local_datetime(appt.starts_at, lang, zone)
            where = sentence(
                lang, t(lang, f"appointments.where.{appt.location_kind}", location=appt.location or "—")
            )
            return {"date": date, "time": time, "where": where}

        conversation = await messages.conversation_for(session, identity)
        message = messages.add_outbound(
            session,
            conversation,
            identity,
            text=render(key, language, values(language)),
            language=language,
            intent=f"campaign.{campaign.id}",
            author=by,
            dutch=None if language == "nl" else render(key, "nl", values("nl")),
        )
        message.campaign_id = campaign.id
        queued.append((identity.channel, identity.id))
    campaign.recipients = len(queued)
    await audit.record(
        session,
        "campaign.sent",
        staff=by,
        details={"campaign_id": campaign.id, "key": key, "recipients": len(queued), "audience": audience},
    )
    return campaign, queued


async def _chats(session: AsyncSession, participant_ids: list[int]) -> dict[int, ChannelIdentity]:
    """The chat each participant is reached on (most recently linked, with consent)."""
    rows = await session.scalars(
        select(ChannelIdentity)
        .where(
            ChannelIdentity.participant_id.in_(participant_ids),
            ChannelIdentity.consent_given_at.is_not(None),
        )
        .order_by(ChannelIdentity.linked_at, ChannelIdentity.id)
    )
    return {identity.participant_id: identity for identity in rows if identity.participant_id is not None}


@dataclass(frozen=True)
class Report:
    campaign: Campaign
    counts: dict[str, int]  # queued, sent, delivered, read, failed, answered
    without_chat: int


async def report(session: AsyncSession, campaign: Campaign) -> Report:
    """How the campaign's messages fared; "answered" counts people who wrote back after it."""
    rows = await session.execute(
        select(Message.status, func.count())
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.status)
    )
    by_status = dict(rows.all())
    counts = {
        "queued": by_status.get("queued", 0) + by_status.get("sending", 0) + by_status.get("held", 0),
        "sent": sum(by_status.get(s, 0) for s in ("sent", "delivered", "read")),
        "delivered": by_status.get("delivered", 0) + by_status.get("read", 0),
        "read": by_status.get("read", 0),
        "failed": by_status.get("failed", 0) + by_status.get("dead", 0),
    }
    recipients = select(Message.identity_id).where(Message.campaign_id == campaign.id)
    counts["answered"] = int(
        await session.scalar(
            select(func.count(func.distinct(Message.identity_id))).where(
                Message.direction == "in",
                Message.identity_id.in_(recipients),
                Message.created_at > campaign.created_at,
            )
        )
        or 0
    )
    audience_size = int(campaign.audience.get("size", campaign.recipients))
    return Report(campaign, counts, max(0, audience_size - campaign.recipients))


async def recent(session: AsyncSession, limit: int = 50) -> list[Campaign]:
    rows = await session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit))
    return list(rows)


def parse_date(text: str) -> dt.date:
    """A date typed in the console (YYYY-MM-DD)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CampaignError("Datum als JJJJ-MM-DD.") from None
