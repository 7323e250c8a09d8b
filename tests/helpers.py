"""Small helpers shared by tests (test data through the real service functions)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.db import transaction
from cases.models import ChannelIdentity, Participant, StaffUser
from cases.services import identities, participants, staff

PASSWORD = "correct horse battery staple"


async def make_staff(
    sessions: async_sessionmaker[AsyncSession], email: str, roles: list[str], team: str | None = "Team Noord"
) -> StaffUser:
    async with transaction(sessions) as session:
        return await staff.create_staff(
            session, name=email.split("@")[0].title(), email=email, password=PASSWORD, roles=roles, team=team
        )


async def make_participant(
    sessions: async_sessionmaker[AsyncSession],
    reference: str = "WW-0001",
    klantmanager: StaffUser | None = None,
    first_name: str = "Amina",
    **extra: Any,
) -> Participant:
    async with transaction(sessions) as session:
        return await participants.create_participant(
            session,
            reference=reference,
            first_name=first_name,
            last_name="Haddad",
            target_group=extra.pop("target_group", "statushouder"),
            wet_regime=extra.pop("wet_regime", "Wi2021"),
            klantmanager=klantmanager,
            brp_date=dt.date(2026, 1, 5),
            **extra,
        )


async def consented_identity(
    sessions: async_sessionmaker[AsyncSession],
    external_id: str,
    language: str = "nl",
    channel: str = "webchat",
) -> ChannelIdentity:
    """A chat identity that chose ``language`` and gave consent (the state after the first screens)."""
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, channel, external_id)
        identities.set_language(identity, language)
        await identities.give_consent(session, identity)
    return identity


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Log in through the real form (CSRF token and all)."""
    page = await client.get("/console/login")
    token = csrf_from(await page.text())
    resp = await client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
    assert resp.status == 302, await resp.text()


async def linked_identity(
    sessions: async_sessionmaker[AsyncSession],
    participant: Participant,
    external_id: str = "linked-user",
    language: str = "nl",
    channel: str = "webchat",
) -> ChannelIdentity:
    """A consented chat identity linked to ``participant`` (the state after a koppelcode)."""
    await consented_identity(sessions, external_id, language, channel)
    async with transaction(sessions) as session:
        identity = await identities.get_or_create(session, channel, external_id)
        await identities.link(session, identity, participant.id, via="test")
    return identity
