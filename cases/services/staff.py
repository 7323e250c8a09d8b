"""Staff accounts: creation, password checks with lock-out, teams."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import STAFF_ROLES, StaffUser, Team, utcnow
from cases.services import audit

_hasher = PasswordHasher()
# Verifying against a fixed hash when the e-mail is unknown keeps the timing the same for both cases.
_DUMMY_HASH = _hasher.hash("wegwijs-dummy-password")

MIN_PASSWORD_LENGTH = 12


class StaffError(ValueError):
    """Invalid staff data (the message is safe to show)."""


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


async def get_or_create_team(session: AsyncSession, name: str) -> Team:
    """The team with this name, created when missing."""
    team = await session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        session.add(team)
        await session.flush()
    return team


async def create_staff(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    password: str,
    roles: list[str],
    team: str | None = None,
    languages: list[str] | None = None,
    created_by: StaffUser | None = None,
) -> StaffUser:
    """Create a staff account; e-mail addresses are unique (case-insensitive)."""
    email = email.strip().lower()
    if "@" not in email:
        raise StaffError("an e-mail address needs an @")
    bad = [r for r in roles if r not in STAFF_ROLES]
    if bad or not roles:
        raise StaffError(f"roles must be some of {', '.join(STAFF_ROLES)}")
    if await session.scalar(select(func.count()).where(StaffUser.email == email)):
        raise StaffError(f"a staff account with e-mail {email} exists already")
    user = StaffUser(
        name=name.strip(),
        email=email,
        password_hash=hash_password(password),
        roles=sorted(set(roles)),
        team_id=(await get_or_create_team(session, team)).id if team else None,
        languages=sorted(set(languages or [])),
    )
    session.add(user)
    await session.flush()
    await audit.record(session, "staff.created", staff=created_by, details={"staff_id": user.id})
    return user


@dataclass(frozen=True)
class LoginResult:
    outcome: Literal["ok", "invalid", "locked"]
    user: StaffUser | None = None
    locked_until: dt.datetime | None = None


async def authenticate(
    session: AsyncSession, email: str, password: str, *, max_failures: int, lock_minutes: int
) -> LoginResult:
    """Check a login. After ``max_failures`` wrong passwords the account is locked for a while."""
    now = utcnow()
    user = await session.scalar(
        select(StaffUser).where(StaffUser.email == email.strip().lower()).with_for_update(of=StaffUser)
    )
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return LoginResult("invalid")
    if user.locked_until and user.locked_until > now:
        return LoginResult("locked", locked_until=user.locked_until)
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + dt.timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            await audit.record(session, "staff.locked_out", details={"staff_id": user.id})
            return LoginResult("locked", locked_until=user.locked_until)
        return LoginResult("invalid")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    await audit.record(session, "staff.login", staff=user)
    return LoginResult("ok", user=user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def get_staff(session: AsyncSession, staff_id: int) -> StaffUser | None:
    """An active staff user by id."""
    user = await session.get(StaffUser, staff_id)
    return user if user is not None and user.active else None


async def speakers_by_language(session: AsyncSession) -> dict[str, list[str]]:
    """Active staff names per language they speak (to suggest a colleague when there is no model)."""
    result: dict[str, list[str]] = {}
    for user in await session.scalars(
        select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.name)
    ):
        for language in user.languages or []:
            result.setdefault(language, []).append(user.name)
    return result


async def update_staff(
    session: AsyncSession,
    user: StaffUser,
    *,
    roles: list[str],
    team: str | None,
    languages: list[str],
    active: bool,
    by: StaffUser,
) -> None:
    """Change a staff account's roles, team, languages or whether it may log in (audited)."""
    bad = [r for r in roles if r not in STAFF_ROLES]
    if bad or not roles:
        raise StaffError(f"roles must be some of {', '.join(STAFF_ROLES)}")
    if user.id == by.id and (not active or "beheerder" not in roles):
        raise StaffError("you cannot take away your own beheer rights or lock yourself out")
    user.roles = sorted(set(roles))
    user.team_id = (await get_or_create_team(session, team)).id if team else None
    user.languages = sorted(set(languages))
    user.active = active
    await audit.record(
        session,
        "staff.updated",
        staff=by,
        details={"staff_id": user.id, "roles": user.roles, "active": active},
    )
