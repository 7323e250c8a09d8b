"""Participants (inburgeraars): creation, lookup and what a staff member may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import TARGET_GROUPS, WET_REGIMES, Message, Participant, StaffUser, utcnow
from cases.services import audit

INBURGERINGSTERMIJN_YEARS = 3


class ParticipantError(ValueError):
    """Invalid participant data (the message is safe to show)."""


def termijn_end_for(pip_signed: dt.date) -> dt.date:
    """End of the 3-year inburgeringstermijn that starts when the PIP is signed (003 L10606)."""
    try:
        return pip_signed.replace(year=pip_signed.year + INBURGERINGSTERMIJN_YEARS)
    except ValueError:  # 29 February
        return pip_signed.replace(year=pip_signed.year + INBURGERINGSTERMIJN_YEARS, day=28)


async def create_participant(
    session: AsyncSession,
    *,
    reference: str,
    first_name: str,
    last_name: str,
    target_group: str,
    wet_regime: str,
    preferred_language: str = "nl",
    brp_date: dt.date | None = None,
    pip_signed_date: dt.date | None = None,
    klantmanager: StaffUser | None = None,
    team_id: int | None = None,
    created_by: StaffUser | None = None,
) -> Participant:
    """Create a participant; the termijn end follows from the PIP date when one is given."""
    if target_group not in TARGET_GROUPS:
        raise ParticipantError(f"target group must be one of {', '.join(TARGET_GROUPS)}")
    if wet_regime not in WET_REGIMES:
        raise ParticipantError(f"wet-regime must be one of {', '.join(WET_REGIMES)}")
    participant = Participant(
        reference=reference,
        first_name=first_name,
        last_name=last_name,
        target_group=target_group,
        wet_regime=wet_regime,
        preferred_language=preferred_language,
        brp_date=brp_date,
        pip_signed_date=pip_signed_date,
        termijn_end=termijn_end_for(pip_signed_date) if pip_signed_date else None,
        klantmanager_id=klantmanager.id if klantmanager else None,
        team_id=team_id if team_id is not None else (klantmanager.team_id if klantmanager else None),
    )
    session.add(participant)
    await session.flush()
    await audit.record(session, "participant.created", staff=created_by, participant_id=participant.id)
    return participant


def visible_to(staff: StaffUser) -> ColumnElement[bool]:
    """SQL condition: the participants this staff member may see (own team, or own caseload)."""
    if not staff.has_role("klantmanager", "teamleider", "planner"):
        return false()
    conditions: list[ColumnElement[bool]] = [Participant.klantmanager_id == staff.id]
    if staff.team_id is not None:
        conditions.append(Participant.team_id == staff.team_id)
    return or_(*conditions)


@dataclass(frozen=True)
class ParticipantRow:
    participant: Participant
    last_message: Message | None


async def list_visible(session: AsyncSession, staff: StaffUser, limit: int = 200) -> list[ParticipantRow]:
    """Participants visible to ``staff`` with their last chat message, most recent activity first.

    The page is found by walking conversations on their indexed ``last_message_at`` (no aggregate
    over all conversations or messages); participants without a chat fill the rest of the page.
    """
    from cases.models import Conversation
    from cases.services.messages import latest_messages

    recent = await session.scalars(
        select(Conversation.participant_id)
        .join(Participant, Participant.id == Conversation.participant_id)
        .where(visible_to(staff))
        .order_by(Conversation.last_message_at.desc())
        .limit(limit * 2)
    )
    ids = list(dict.fromkeys(recent))[:limit]
    if len(ids) < limit:
        rest = await session.scalars(
            select(Participant.id)
            .where(visible_to(staff), Participant.id.not_in(ids))
            .order_by(Participant.last_name, Participant.id)
            .limit(limit - len(ids))
        )
        ids += list(rest)
    by_id = {p.id: p for p in await session.scalars(select(Participant).where(Participant.id.in_(ids)))}
    last = await latest_messages(session, Message.participant_id, ids)
    return [ParticipantRow(by_id[i], last.get(i)) for i in ids if i in by_id]


async def get_visible(session: AsyncSession, staff: StaffUser, participant_id: int) -> Participant | None:
    """One participant if ``staff`` may see it, else None."""
    return await session.scalar(
        select(Participant).where(Participant.id == participant_id, visible_to(staff))
    )


async def find(session: AsyncSession, ref_or_id: str) -> Participant | None:
    """A participant by dossier reference (case-insensitive) or numeric id."""
    participant = await session.scalar(
        select(Participant).where(func.upper(Participant.reference) == ref_or_id.strip().upper())
    )
    if participant is None and ref_or_id.strip().isdigit():
        participant = await session.get(Participant, int(ref_or_id))
    return participant


async def set_reminders(session: AsyncSession, participant_id: int, *, on: bool, identity_id: int) -> None:
    """The person turned reminders off ("STOP") or on again; staff see it on the case."""
    participant = await session.get(Participant, participant_id)
    if participant is None:
        return
    if on == (participant.reminders_stopped_at is None):
        return
    participant.reminders_stopped_at = None if on else utcnow()
    await audit.record(
        session,
        "reminders.started" if on else "reminders.stopped",
        identity_id=identity_id,
        participant_id=participant_id,
    )


async def segment(
    session: AsyncSession,
    staff: StaffUser,
    *,
    leerroute: str = "",
    provider: str = "",
    language: str = "",
    phase: str = "",
    limit: int = 5000,
) -> list[Participant]:
    """Participants visible to ``staff`` in a segment (by route, provider, language and phase)."""
    stmt = select(Participant).where(visible_to(staff))
    if leerroute:
        stmt = stmt.where(Participant.leerroute == leerroute)
    if provider:
        stmt = stmt.where(Participant.provider == provider)
    if language:
        stmt = stmt.where(Participant.preferred_language == language)
    if phase == "before_pip":
        stmt = stmt.where(Participant.pip_signed_date.is_(None))
    elif phase == "in_route":
        stmt = stmt.where(Participant.pip_signed_date.is_not(None))
    return list(await session.scalars(stmt.order_by(Participant.id).limit(limit)))
