"""Koppelcodes: one-time, expiring, case-insensitive, hashed, and rate-limited per chat identity."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from cases.db import transaction
from cases.models import AuditEvent, ChannelIdentity, Koppelcode
from cases.services import identities, koppelcode
from tests.helpers import make_participant

LIMITS = {"max_failures": 3, "lock_minutes": 15}


async def _code(sessions, participant, days: int = 30) -> str:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        code, _ = await koppelcode.create_koppelcode(session, participant, valid_days=days, created_by=None)
    return code


async def _redeem(sessions, external_id: str, text: str) -> koppelcode.LinkOutcome:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, "webchat", external_id)
        return await koppelcode.redeem(session, identity, text, **LIMITS)


def test_codes_use_unambiguous_characters_only() -> None:
    for _ in range(300):
        code = koppelcode._generate()
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code), code
        assert not set(code) & set("01OIL")
        assert koppelcode.looks_like_code(code)


async def test_code_links_once_and_is_stored_hashed(sessions) -> None:  # type: ignore[no-untyped-def]
    participant = await make_participant(sessions)
    code = await _code(sessions, participant)
    async with sessions() as session:
        stored = (await session.scalars(select(Koppelcode))).one()
    assert code.replace("-", "") not in stored.code_hash and len(stored.code_hash) == 64

    outcome = await _redeem(sessions, "chat-1", f"  {code.lower().replace('-', ' ')} ")
    assert outcome.status == "linked" and outcome.participant is not None
    assert outcome.participant.id == participant.id
    async with sessions() as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.external_id == "chat-1")
        )
        assert identity is not None and identity.participant_id == participant.id
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.participant_id == participant.id)
            )
        )
    assert "chat.linked" in actions

    assert (await _redeem(sessions, "chat-2", code)).status == "invalid", "a code works only once"
    assert (await _redeem(sessions, "chat-1", code)).status == "already_linked"


async def test_expired_code_does_not_link(sessions) -> None:  # type: ignore[no-untyped-def]
    participant = await make_participant(sessions)
    code = await _code(sessions, participant)
    async with transaction(sessions) as session:
        await session.execute(
            update(Koppelcode).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    assert (await _redeem(sessions, "chat-1", code)).status == "invalid"


async def test_guessing_is_rate_limited_per_identity(sessions) -> None:  # type: ignore[no-untyped-def]
    participant = await make_participant(sessions)
    code = await _code(sessions, participant)
    results = [(await _redeem(sessions, "guesser", "ZZZZ-2222")).status for _ in range(3)]
    assert results == ["invalid", "invalid", "rate_limited"]
    blocked = await _redeem(sessions, "guesser", code)
    assert blocked.status == "rate_limited" and 1 <= blocked.retry_minutes <= 15, "even the right code waits"
    # Another chat identity is not affected by this one's guessing.
    assert (await _redeem(sessions, "someone-else", code)).status == "linked"


async def test_lock_ends_after_its_time(sessions) -> None:  # type: ignore[no-untyped-def]
    participant = await make_participant(sessions)
    code = await _code(sessions, participant)
    for _ in range(3):
        await _redeem(sessions, "guesser", "ZZZZ-2222")
    async with transaction(sessions) as session:
        await session.execute(
            update(ChannelIdentity).values(
                link_locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    assert (await _redeem(sessions, "guesser", code)).status == "linked"
